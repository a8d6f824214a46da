/**
 * EncryptionCodec: every Temporal payload is sealed with the key ring, so no secret is readable in
 * workflow history; decoding restores the exact payload.
 */
import assert from 'node:assert/strict';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import fc from 'fast-check';
import { KeyRing } from '../../libs/crypto/key-ring';
import { createDataConverter, EncryptionCodec } from '../../libs/temporal/encryption-codec';

const toPayload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const fromPayload = <T>(p: Payload): T => defaultPayloadConverter.fromPayload<T>(p);
const metaString = (p: Payload, key: string) => (p.metadata?.[key] ? Buffer.from(p.metadata[key]).toString() : undefined);

describe('EncryptionCodec', () => {
  const codec = new EncryptionCodec(new KeyRing(KeyRing.generateSpec('codec1')));

  test('encode → decode restores workflow arguments of every kind', async () => {
    const values: unknown[] = [
      { apiToken: 'sbx_live_secret_token_value', integrationId: 'abc', nested: { scopes: ['contacts.read'] } },
      'plain string',
      42,
      null,
      [1, 'two', { three: 3 }],
      new Uint8Array([0, 1, 2, 254, 255]),
    ];
    const payloads = values.map(toPayload);
    const encoded = await codec.encode(payloads);
    assert.equal(encoded.length, payloads.length);
    const decoded = await codec.decode(encoded);
    assert.equal(decoded.length, payloads.length);
    for (let i = 0; i < values.length; i++) {
      assert.deepEqual(fromPayload(decoded[i]), values[i]);
      assert.deepEqual(Buffer.from(decoded[i].data!), Buffer.from(payloads[i].data!));
      assert.equal(metaString(decoded[i], METADATA_ENCODING_KEY), metaString(payloads[i], METADATA_ENCODING_KEY));
    }
  });

  test('encoded payloads are marked binary/encrypted with the key id, and hide the plaintext', async () => {
    const secret = 'sbx_live_very_secret_token_123456';
    const payload = toPayload({ apiToken: secret, code: 'oauth-code-xyz' });
    const [encoded] = await codec.encode([payload]);
    assert.equal(metaString(encoded, METADATA_ENCODING_KEY), 'binary/encrypted');
    assert.equal(metaString(encoded, 'encryption-key-id'), 'codec1');
    assert.deepEqual(Object.keys(encoded.metadata ?? {}).sort(), [METADATA_ENCODING_KEY, 'encryption-key-id'].sort());
    const data = Buffer.from(encoded.data!);
    assert.equal(data.includes(Buffer.from(secret)), false);
    assert.equal(data.includes(Buffer.from('oauth-code-xyz')), false);
    assert.equal(data.includes(Buffer.from('json/plain')), false); // the inner metadata is sealed too
    assert.equal(data.toString('base64').includes(Buffer.from(secret).toString('base64')), false);
  });

  test('property: any JSON value roundtrips and its serialized form never appears in the encoded data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const payload = toPayload(value);
        const [encoded] = await codec.encode([payload]);
        const plainBytes = Buffer.from(payload.data!);
        if (plainBytes.length >= 8) assert.equal(Buffer.from(encoded.data!).includes(plainBytes), false);
        const [decoded] = await codec.decode([encoded]);
        assert.deepEqual(Buffer.from(decoded.data!), plainBytes);
        assert.deepEqual(fromPayload(decoded), JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 200 },
    );
  });

  test('payloads that are not encrypted pass decode unchanged', async () => {
    const plain = [toPayload({ hello: 'world' }), toPayload('x'), toPayload(undefined), { metadata: {}, data: Buffer.from('raw') }, {}];
    const decoded = await codec.decode(plain);
    assert.equal(decoded.length, plain.length);
    for (let i = 0; i < plain.length; i++) assert.equal(decoded[i], plain[i]);
    // Mixed batches: only the encrypted ones are opened.
    const [enc] = await codec.encode([toPayload({ a: 1 })]);
    const mixed = await codec.decode([plain[0], enc]);
    assert.equal(mixed[0], plain[0]);
    assert.deepEqual(fromPayload(mixed[1]), { a: 1 });
  });

  test('a payload sealed with an unknown key id fails to decode', async () => {
    const other = new EncryptionCodec(new KeyRing(KeyRing.generateSpec('other-key')));
    const encoded = await other.encode([toPayload({ apiToken: 'secret' })]);
    await assert.rejects(codec.decode(encoded), /unknown encryption key id "other-key"/);
  });

  test('a payload sealed with a different key under the same id fails to decode', async () => {
    const impostor = new EncryptionCodec(new KeyRing(KeyRing.generateSpec('codec1')));
    const encoded = await impostor.encode([toPayload('secret')]);
    await assert.rejects(codec.decode(encoded));
  });

  test('an encrypted payload without key id or data is refused', async () => {
    const [enc] = await codec.encode([toPayload('x')]);
    await assert.rejects(codec.decode([{ metadata: { [METADATA_ENCODING_KEY]: enc.metadata![METADATA_ENCODING_KEY] }, data: enc.data }]), /without key id/);
    await assert.rejects(codec.decode([{ metadata: enc.metadata }]), /without key id or data/);
  });

  test('tampered encrypted data fails to decode', async () => {
    const [enc] = await codec.encode([toPayload({ apiToken: 'secret' })]);
    const data = Buffer.from(enc.data!);
    data[data.length - 1] ^= 0xff;
    await assert.rejects(codec.decode([{ metadata: enc.metadata, data }]));
  });

  test('rotation: a codec whose ring lists a new key first still decodes old payloads and encodes with the new key', async () => {
    const oldSpec = KeyRing.generateSpec('c-old');
    const oldCodec = new EncryptionCodec(new KeyRing(oldSpec));
    const rotated = new EncryptionCodec(new KeyRing(`${KeyRing.generateSpec('c-new')},${oldSpec}`));
    const fromOld = await oldCodec.encode([toPayload({ v: 'old' })]);
    assert.deepEqual(fromPayload((await rotated.decode(fromOld))[0]), { v: 'old' });
    const [fresh] = await rotated.encode([toPayload({ v: 'new' })]);
    assert.equal(metaString(fresh, 'encryption-key-id'), 'c-new');
  });

  test('createDataConverter wires one EncryptionCodec from a key spec', async () => {
    const dc = createDataConverter(KeyRing.generateSpec('dc'));
    assert.equal(dc.payloadCodecs.length, 1);
    assert.ok(dc.payloadCodecs[0] instanceof EncryptionCodec);
    const [enc] = await dc.payloadCodecs[0].encode([toPayload('hi')]);
    assert.equal(metaString(enc, 'encryption-key-id'), 'dc');
    assert.equal(fromPayload((await dc.payloadCodecs[0].decode([enc]))[0]), 'hi');
  });
});
