/**
 * KeyRing: AES-256-GCM sealing with key ids, AAD binding, tamper detection and rotation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeyRing, loadOrCreateDevKeys, resolveKeySpecs } from '../../libs/crypto/key-ring';

const keyB64 = (bytes = 32) => randomBytes(bytes).toString('base64');

describe('KeyRing', () => {
  test('seal/open roundtrip, with and without AAD', () => {
    const ring = new KeyRing(KeyRing.generateSpec('k1'));
    const plain = Buffer.from('refresh-token-1234567890');
    const sealed = ring.seal(plain);
    assert.equal(sealed.keyId, 'k1');
    assert.deepEqual(ring.open(sealed), plain);

    const bound = ring.seal(plain, Buffer.from('integration:42'));
    assert.deepEqual(ring.open(bound, Buffer.from('integration:42')), plain);

    const json = { accessToken: 'at_secret', scopes: ['a', 'b'], n: 1 };
    assert.deepEqual(ring.openJson(ring.sealJson(json, 'ctx'), 'ctx'), json);
  });

  test('every seal uses a fresh IV: sealing the same plaintext twice gives different data', () => {
    const ring = new KeyRing(KeyRing.generateSpec('k1'));
    const a = ring.seal(Buffer.from('same'));
    const b = ring.seal(Buffer.from('same'));
    assert.notEqual(a.data, b.data);
  });

  test('AAD mismatch fails to open', () => {
    const ring = new KeyRing(KeyRing.generateSpec('k1'));
    const sealed = ring.sealJson('secret', 'link:1');
    assert.throws(() => ring.openJson(sealed, 'link:2'));
    assert.throws(() => ring.openJson(sealed)); // AAD required but missing
    const unbound = ring.sealJson('secret');
    assert.throws(() => ring.openJson(unbound, 'link:1')); // AAD given but none was bound
  });

  test('tampered ciphertext, tag or IV fails to open', () => {
    const ring = new KeyRing(KeyRing.generateSpec('k1'));
    const sealed = ring.seal(Buffer.from('a secret worth protecting'));
    const raw = Buffer.from(sealed.data, 'base64');
    for (const offset of [0, 11, 12, 27, 28, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[offset] ^= 0x01;
      assert.throws(() => ring.open({ keyId: sealed.keyId, data: bad.toString('base64') }), `byte ${offset} flipped`);
    }
    // Truncated ciphertext fails as well.
    assert.throws(() => ring.open({ keyId: sealed.keyId, data: raw.subarray(0, raw.length - 1).toString('base64') }));
  });

  test('a different key with the same id cannot open the data', () => {
    const a = new KeyRing(KeyRing.generateSpec('k1'));
    const b = new KeyRing(KeyRing.generateSpec('k1'));
    assert.throws(() => b.open(a.seal(Buffer.from('x'))));
  });

  test('unknown key id fails to open with a clear message', () => {
    const ring = new KeyRing(KeyRing.generateSpec('k1'));
    const sealed = ring.seal(Buffer.from('x'));
    assert.throws(() => ring.open({ ...sealed, keyId: 'nope' }), /unknown encryption key id "nope"/);
  });

  test('rotation: a ring "new,old" opens data sealed by "old" and seals with "new"', () => {
    const oldSpec = `old:${keyB64()}`;
    const newSpec = `new:${keyB64()}`;
    const oldRing = new KeyRing(oldSpec);
    const rotated = new KeyRing(`${newSpec},${oldSpec}`);
    assert.equal(rotated.primaryKeyId, 'new');
    assert.equal(rotated.hasKey('old'), true);
    assert.equal(rotated.hasKey('new'), true);
    assert.equal(oldRing.hasKey('new'), false);

    const sealedByOld = oldRing.sealJson({ token: 'legacy' }, 'aad');
    assert.equal(sealedByOld.keyId, 'old');
    assert.deepEqual(rotated.openJson(sealedByOld, 'aad'), { token: 'legacy' });

    const sealedByNew = rotated.sealJson({ token: 'fresh' }, 'aad');
    assert.equal(sealedByNew.keyId, 'new');
    assert.deepEqual(rotated.openJson(sealedByNew, 'aad'), { token: 'fresh' });
    // The old ring alone does not know the new key.
    assert.throws(() => oldRing.openJson(sealedByNew, 'aad'), /unknown encryption key id/);
  });

  test('spec parsing tolerates whitespace and empty entries', () => {
    const ring = new KeyRing(` a:${keyB64()} , ,b:${keyB64()},`);
    assert.equal(ring.primaryKeyId, 'a');
    assert.equal(ring.hasKey('b'), true);
  });

  test('bad specs throw', () => {
    assert.throws(() => new KeyRing(''), /empty/);
    assert.throws(() => new KeyRing(' , '), /empty/);
    assert.throws(() => new KeyRing(`k1:${keyB64(16)}`), /32 bytes/); // AES-128 sized key
    assert.throws(() => new KeyRing(`k1:${keyB64(33)}`), /32 bytes/);
    assert.throws(() => new KeyRing('k1:'), /32 bytes/);
    assert.throws(() => new KeyRing(keyB64()), /kid:base64key/); // no colon
    assert.throws(() => new KeyRing(`:${keyB64()}`), /kid:base64key/); // empty kid
    assert.throws(() => new KeyRing(`k1:${keyB64()},k1:${keyB64()}`), /duplicate key id "k1"/);
    assert.throws(() => new KeyRing(`k1:${keyB64()},k2:${keyB64(8)}`), /"k2" must be 32 bytes/);
  });

  test('generateSpec produces a usable spec with the given id', () => {
    const spec = KeyRing.generateSpec('abc');
    assert.match(spec, /^abc:[A-Za-z0-9+/]+=*$/);
    assert.equal(new KeyRing(spec).primaryKeyId, 'abc');
    assert.equal(new KeyRing(KeyRing.generateSpec()).primaryKeyId.length > 1, true);
  });

  describe('properties', () => {
    const p1 = `p1:${keyB64()}`;
    const older = new KeyRing(p1);
    const ring = new KeyRing(`p2:${keyB64()},${p1}`);

    test('open(seal(bytes)) == bytes, with optional AAD, also across rotation', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2048 }), fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }), (bytes, aad) => {
          const plain = Buffer.from(bytes);
          const aadBuf = aad ? Buffer.from(aad) : undefined;
          assert.deepEqual(ring.open(ring.seal(plain, aadBuf), aadBuf), plain);
          assert.deepEqual(ring.open(older.seal(plain, aadBuf), aadBuf), plain);
        }),
        { numRuns: 300 },
      );
    });

    test('openJson(sealJson(s)) == s for arbitrary strings', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 500 }), fc.string({ maxLength: 40 }), (s, aad) => {
          assert.equal(ring.openJson<string>(ring.sealJson(s, aad || undefined), aad || undefined), s);
        }),
        { numRuns: 300 },
      );
    });

    test('the sealed data never contains the plaintext (raw bytes or base64) for strings of length >= 8', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 8, maxLength: 300 }), (s) => {
          const plain = Buffer.from(s, 'utf8');
          const sealed = ring.seal(plain);
          const raw = Buffer.from(sealed.data, 'base64');
          assert.equal(raw.includes(plain), false);
          assert.equal(sealed.data.includes(s), false);
          assert.equal(raw.length, 12 + 16 + plain.length);
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('dev keys (no CREDENTIALS_KEYS / PAYLOAD_CODEC_KEYS)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-keys-'))));
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('are generated once, owner-readable only, and read back by the next process', () => {
    const first = loadOrCreateDevKeys(path.join(dir, 'data'));
    expect(fs.statSync(path.join(dir, 'data', 'dev-keys.json')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateDevKeys(path.join(dir, 'data'))).toEqual(first);
    const ring = new KeyRing(first.credentialsKeys);
    expect(ring.openJson(ring.sealJson('x', 'aad'), 'aad')).toBe('x');
  });

  test('configured keys win, and nothing is written', () => {
    const keys = { credentialsKeys: KeyRing.generateSpec('c'), payloadCodecKeys: KeyRing.generateSpec('p') };
    expect(resolveKeySpecs({ dataDir: path.join(dir, 'never'), ...keys })).toEqual(keys);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  });

  test('a filesystem it may not write is a clear error naming the missing settings, not a bare errno', () => {
    // sysfs refuses new files even to root: the nearest stand-in for a read-only root filesystem.
    expect(() => resolveKeySpecs({ dataDir: '/sys/reauth-engine-dev-keys' })).toThrow(
      /^CREDENTIALS_KEYS and PAYLOAD_CODEC_KEYS are not both set, .*dev-keys\.json \((EROFS|EPERM|EACCES)\): set both/,
    );
    expect(fs.existsSync('/sys/reauth-engine-dev-keys')).toBe(false);
  });

  test('a DATA_DIR that is not a directory is the same clear error', () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    expect(() => loadOrCreateDevKeys(path.join(file, 'data'))).toThrow(/could not be written to .*\((ENOTDIR|EEXIST)\)/);
  });
});
