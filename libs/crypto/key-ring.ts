import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * AES-256-GCM key ring. Keys are written `kid:base64key,kid2:base64key`; the first one encrypts,
 * all of them decrypt. Every ciphertext carries the id of the key that made it, so a new key can be
 * put first (new data is sealed with it at once) and the stored data re-encrypted in the background
 * by `npm run keys:rotate` (scripts/rotate-keys.ts), after which the old key can leave the ring.
 */
export interface Sealed {
  keyId: string;
  /** base64 of iv(12) | tag(16) | ciphertext */
  data: string;
}

export class KeyRing {
  private readonly keys = new Map<string, Buffer>();
  readonly primaryKeyId: string;

  constructor(spec: string) {
    const entries = spec.split(',').map((s) => s.trim()).filter(Boolean);
    if (entries.length === 0) throw new Error('key ring is empty');
    for (const entry of entries) {
      const idx = entry.indexOf(':');
      if (idx <= 0) throw new Error('key ring entries must look like "kid:base64key"');
      const kid = entry.slice(0, idx);
      const key = Buffer.from(entry.slice(idx + 1), 'base64');
      if (key.length !== 32) throw new Error(`key "${kid}" must be 32 bytes (base64), got ${key.length}`);
      if (this.keys.has(kid)) throw new Error(`duplicate key id "${kid}"`);
      this.keys.set(kid, key);
    }
    this.primaryKeyId = entries[0].slice(0, entries[0].indexOf(':'));
  }

  static generateSpec(kid = `k${Date.now().toString(36)}`): string {
    return `${kid}:${randomBytes(32).toString('base64')}`;
  }

  hasKey(kid: string): boolean {
    return this.keys.has(kid);
  }

  /**
   * A 32-byte key for `purpose` (HKDF-SHA256 of key `kid`, the primary by default), for MACs: the
   * encryption key itself is never used for anything else. Undefined for a key id not in the ring.
   */
  derivedKey(purpose: string, kid: string = this.primaryKeyId): Buffer | undefined {
    const key = this.keys.get(kid);
    return key ? Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `key-ring:${purpose}`, 32)) : undefined;
  }

  seal(plaintext: Buffer, aad?: Buffer): Sealed {
    const key = this.keys.get(this.primaryKeyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    if (aad) cipher.setAAD(aad);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyId: this.primaryKeyId, data: Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64') };
  }

  open(sealed: Sealed, aad?: Buffer): Buffer {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new Error(`unknown encryption key id "${sealed.keyId}"`);
    const raw = Buffer.from(sealed.data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  }

  sealJson(value: unknown, aad?: string): Sealed {
    return this.seal(Buffer.from(JSON.stringify(value)), aad ? Buffer.from(aad) : undefined);
  }

  openJson<T>(sealed: Sealed, aad?: string): T {
    return JSON.parse(this.open(sealed, aad ? Buffer.from(aad) : undefined).toString('utf8')) as T;
  }
}

export interface DevKeys {
  credentialsKeys: string;
  payloadCodecKeys: string;
}

function devKeysFile(dataDir: string): string {
  return path.join(dataDir, 'dev-keys.json');
}

/** The generated dev keys, if `npm start` has made them already (never creates them). */
export function readDevKeys(dataDir: string): DevKeys | undefined {
  try {
    return JSON.parse(fs.readFileSync(devKeysFile(dataDir), 'utf8')) as DevKeys;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Dev default: when no keys are configured, generate them once into the data dir. Several processes
 * (API, worker) may race on first start, so the file is created exclusively and re-read on conflict.
 */
export function loadOrCreateDevKeys(dataDir: string): DevKeys {
  const file = devKeysFile(dataDir);
  const existing = readDevKeys(dataDir);
  if (existing) return existing;
  const keys: DevKeys = { credentialsKeys: KeyRing.generateSpec('cred1'), payloadCodecKeys: KeyRing.generateSpec('codec1') };
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(keys, null, 2), { flag: 'wx', mode: 0o600 });
    return keys;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return JSON.parse(fs.readFileSync(file, 'utf8')) as DevKeys;
    // A deployment that forgot its keys, on a read-only root filesystem (or a DATA_DIR it may not
    // write): say what is missing, not only the errno.
    throw new Error(
      `CREDENTIALS_KEYS and PAYLOAD_CODEC_KEYS are not both set, and the dev keys that stand in for them could not be written to ${file} (${code ?? (err as Error).message}): ` +
        'set both (a deployment must; see Key rotation in the README), or point DATA_DIR at a writable directory for a dev run',
      { cause: err },
    );
  }
}

export function resolveKeySpecs(cfg: { dataDir: string; credentialsKeys?: string; payloadCodecKeys?: string }): DevKeys {
  if (cfg.credentialsKeys && cfg.payloadCodecKeys) {
    return { credentialsKeys: cfg.credentialsKeys, payloadCodecKeys: cfg.payloadCodecKeys };
  }
  const dev = loadOrCreateDevKeys(cfg.dataDir);
  return {
    credentialsKeys: cfg.credentialsKeys ?? dev.credentialsKeys,
    payloadCodecKeys: cfg.payloadCodecKeys ?? dev.payloadCodecKeys,
  };
}
