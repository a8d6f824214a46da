/** The kinds of values settings take: each says how it is written and checks it. */
import { KeyRing } from '../crypto/key-ring';
import { MIN_BOOTSTRAP_API_KEY_LENGTH, parseBootstrapApiKeys } from './bootstrap-api-keys';
import type { Kind } from './schema';

const DIGITS = /^\d+$/;

export function integer(range: { min: number; max?: number }): Kind<number> {
  const accepted = range.max === undefined ? `an integer >= ${range.min}` : `an integer from ${range.min} to ${range.max}`;
  return {
    accepted,
    parse(raw) {
      const trimmed = raw.trim();
      const n = Number(trimmed);
      if (!DIGITS.test(trimmed) || !Number.isSafeInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
        throw new Error('');
      }
      return n;
    },
  };
}

/**
 * A TCP port to listen on or connect to; `allowZero` for servers that may pick any free port, or
 * `zeroTurnsOff` for optional listeners that 0 switches off.
 */
export function port(options: { allowZero?: boolean; zeroTurnsOff?: boolean } = {}): Kind<number> {
  const zero = options.zeroTurnsOff ? '; 0 turns it off' : options.allowZero ? '; 0 picks a free one' : '';
  const range = integer({ min: zero ? 0 : 1, max: 65535 });
  return { accepted: `a TCP port (${range.accepted}${zero})`, parse: range.parse };
}

export function oneOf<const V extends string>(values: readonly V[]): Kind<V> {
  return {
    accepted: `one of ${values.join(', ')}`,
    parse(raw) {
      const value = raw.trim();
      if (!(values as readonly string[]).includes(value)) throw new Error('');
      return value as V;
    },
  };
}

/** Any non-empty text (paths, names that the consumer checks itself). */
export function text(accepted: string): Kind<string> {
  return { accepted, parse: (raw) => raw };
}

/** A secret token (a Temporal Cloud API key, say): non-empty, no whitespace; never shown in errors. */
export function secretToken(accepted: string): Kind<string> {
  return {
    accepted,
    secret: true,
    parse(raw) {
      if (!raw.trim() || /\s/.test(raw)) throw new Error('empty or contains whitespace');
      return raw;
    },
  };
}

/** A name without whitespace: host names, Temporal namespaces and task queues. */
export function name(accepted: string): Kind<string> {
  return {
    accepted,
    parse(raw) {
      if (/\s/.test(raw)) throw new Error('contains whitespace');
      return raw;
    },
  };
}

/** Parses `raw` as a URL with one of `schemes` (e.g. `['http:', 'https:']`), or says why not. */
function checkUrl(raw: string, schemes: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('not a URL');
  }
  if (!schemes.includes(url.protocol)) throw new Error(`scheme ${url.protocol} is not ${schemes.join(' or ')}`);
  return raw;
}

export function httpUrl(example: string): Kind<string> {
  return {
    accepted: `an http:// or https:// URL such as ${example}`,
    parse: (raw) => checkUrl(raw, ['http:', 'https:']),
  };
}

/** A Postgres connection URL; secret because it usually carries the password. */
export function postgresUrl(): Kind<string> {
  return {
    accepted: 'a postgres://user:password@host:5432/database URL',
    secret: true,
    parse: (raw) => checkUrl(raw, ['postgres:', 'postgresql:']),
  };
}

/** `host:port` of a gRPC server (Temporal); the SDK adds port 7233 when it is left out. */
export function hostAndPort(example: string): Kind<string> {
  return {
    accepted: `host:port such as ${example}`,
    parse(raw) {
      const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d+))?$/.exec(raw.trim());
      if (!m) throw new Error('');
      if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) throw new Error(`port ${m[2]} is out of range`);
      return raw.trim();
    },
  };
}

/** An AES-256 key ring spec, checked by the parser the key ring itself uses. */
export function keyRingSpec(): Kind<string> {
  return {
    accepted: 'kid:base64key[,kid2:base64key…] with 32-byte keys',
    secret: true,
    parse(raw) {
      new KeyRing(raw);
      return raw;
    },
  };
}

export function bootstrapApiKeys(): Kind<string> {
  return {
    accepted: `tenant:key[,tenant2:key2…] with keys of at least ${MIN_BOOTSTRAP_API_KEY_LENGTH} characters`,
    secret: true,
    parse(raw) {
      parseBootstrapApiKeys(raw);
      return raw;
    },
  };
}

/** Comma-separated secret keys (operators' codec keys), each long enough not to be guessed. */
export function secretKeyList(): Kind<string[]> {
  return {
    accepted: `key[,key2…] with keys of at least ${MIN_BOOTSTRAP_API_KEY_LENGTH} characters`,
    secret: true,
    parse(raw) {
      const keys = raw
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      if (keys.length === 0) throw new Error('no key');
      if (keys.some((k) => k.length < MIN_BOOTSTRAP_API_KEY_LENGTH)) throw new Error(`keys must be at least ${MIN_BOOTSTRAP_API_KEY_LENGTH} characters`);
      if (keys.some((k) => /\s/.test(k))) throw new Error('keys must not contain whitespace');
      return keys;
    },
  };
}

/** Comma-separated browser origins (`scheme://host[:port]`, nothing after it), as CORS compares them. */
export function originList(example: string): Kind<string[]> {
  return {
    accepted: `http(s) origins separated by commas, such as ${example}`,
    parse(raw) {
      const entries = raw
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean);
      if (entries.length === 0) throw new Error('no origin');
      for (const entry of entries) {
        let url: URL;
        try {
          url = new URL(entry);
        } catch {
          throw new Error(`${JSON.stringify(entry)} is not a URL`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${JSON.stringify(entry)} is not http: or https:`);
        if (url.origin !== entry.replace(/\/$/, '')) throw new Error(`${JSON.stringify(entry)} is not an origin (no path, query or user)`);
      }
      return entries.map((o) => new URL(o).origin);
    },
  };
}

/** `provider=rate,…`: a positive number per provider key (lowercase letters, digits, `-`, `_`). */
export function ratesPerKey(example: string): Kind<Record<string, number>> {
  return {
    accepted: `comma-separated key=rate pairs (e.g. \`${example}\`), rates > 0 per second`,
    parse(raw) {
      const rates: Record<string, number> = {};
      for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
        const m = /^([a-z0-9_-]{1,64})=(\d+(?:\.\d+)?)$/.exec(entry);
        if (!m || !(Number(m[2]) > 0) || Object.hasOwn(rates, m[1])) throw new Error('');
        rates[m[1]] = Number(m[2]);
      }
      return rates;
    },
  };
}
