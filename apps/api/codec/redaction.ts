import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { ERROR_MESSAGES } from '../../../libs/domain/reauthorization';

/**
 * What the payload codec hands an operator: the decrypted history minus every credential. Payloads
 * of the engine are JSON (`json/plain`): arguments such as `{ apiToken }` (submitApiToken),
 * `{ secret: {…} }` (connectIntegration), `{ stateHash, code }` (the OAuth callback signal), and
 * failures whose message and stack travel as a JSON payload too. Their sensitive keys are replaced
 * with "[redacted]" at any depth, credentials written inside text (a message quoting `apiToken=…` or
 * a Bearer header) are masked, and a secret value found under a sensitive key is masked wherever
 * else it appears in the same batch. Everything else stays readable.
 */
export const REDACTED = '[redacted]';

/** Keys whose values are credentials (compared case-insensitively). */
export const SENSITIVE_KEYS: readonly string[] = [
  'apiToken',
  'api_token',
  'apiKey',
  'api_key',
  'api-key',
  'x-api-key',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'code',
  'codeVerifier',
  'code_verifier',
  'clientSecret',
  'client_secret',
  'secret',
  'password',
  'token',
  'linkToken',
  'signingSecret',
  'authorization',
];

const SENSITIVE = new Set(SENSITIVE_KEYS.map((k) => k.toLowerCase()));

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE.has(key.toLowerCase());
}

/**
 * `code` is an OAuth authorization code in a callback, but also the engine's own error code
 * (`error: {code: "invalid_credentials", …}` of a reauthorization status): those few known words
 * are no secret and say what went wrong, so they stay.
 */
const isEngineErrorCode = (key: string, value: unknown): boolean =>
  key.toLowerCase() === 'code' && typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_MESSAGES, value);

const hidesValue = (key: string, value: unknown): boolean => isSensitiveKey(key) && value !== null && !isEngineErrorCode(key, value);

const JSON_PLAIN = 'json/plain';
/** `undefined` and `null` results: nothing to hide. */
const BINARY_NULL = 'binary/null';

/** Secrets shorter than this are not searched for inside other text: they would mask ordinary words. */
const MIN_ECHOED_SECRET_LENGTH = 8;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The schemes of an `Authorization` header: `Bearer` and `Basic`, and Zoho's own `Zoho-oauthtoken`
 * (libs/providers/catalog.ts: how its access tokens are sent).
 */
const AUTH_SCHEMES = ['Bearer', 'Basic', 'Zoho-oauthtoken'];
const AUTH_SCHEME_ALTERNATIVES = AUTH_SCHEMES.map(escapeRegExp).join('|');

/** `Authorization: <scheme> <token>` quoted in a message. */
const AUTH_SCHEME_IN_TEXT = new RegExp(`(?<![A-Za-z0-9_-])(${AUTH_SCHEME_ALTERNATIVES})\\s+[A-Za-z0-9._~+/=-]+`, 'gi');
const IS_AUTH_SCHEME = new RegExp(`^(${AUTH_SCHEME_ALTERNATIVES})$`, 'i');

/**
 * `key: value`, `key=value`, `"key":"value"` (also JSON escaped inside a string) for a sensitive key
 * written in text: the key must not be the tail of a longer word (`apiToken` yes, `tokenType` no).
 */
const KEY_VALUE_IN_TEXT = new RegExp(
  `(?<![A-Za-z0-9_])(${SENSITIVE_KEYS.map(escapeRegExp).join('|')})(\\\\?["']?\\s*[:=]\\s*)(\\\\?"[^"]*"|'[^']*'|[^\\s"',;&)}\\]]+)`,
  'gi',
);

/** Masks credentials written inside free text (failure messages, stack traces, URLs). */
export function redactText(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join(REDACTED);
  out = out.replace(AUTH_SCHEME_IN_TEXT, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  return out.replace(KEY_VALUE_IN_TEXT, (match: string, key: string, separator: string, value: string) => {
    // `Authorization: Bearer …`: the scheme stays readable, its credential was masked just above.
    if (IS_AUTH_SCHEME.test(value)) return match;
    const quote = value.startsWith('\\"') ? '\\"' : value.startsWith('"') ? '"' : value.startsWith("'") ? "'" : '';
    return `${key}${separator}${quote}${REDACTED}${quote}`;
  });
}

/** String values under sensitive keys, at any depth (searched for in the rest of the batch). */
function collectSecrets(value: unknown, into: Set<string>): void {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      if (hidesValue(k, child) && typeof child === 'string') {
        if (child.length >= MIN_ECHOED_SECRET_LENGTH) into.add(child);
      } else {
        stack.push(child);
      }
    }
  }
}

/**
 * A copy of a JSON value with every sensitive key's value replaced (null stays null: nothing to hide,
 * and it tells the operator the field was empty; so do the engine's error codes) and every string
 * masked by redactText.
 */
export function redactValue(value: unknown, knownSecrets: readonly string[] = []): unknown {
  if (typeof value === 'string') return redactText(value, knownSecrets);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, knownSecrets));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a key named `__proto__` stays an ordinary key of the copy.
    Object.defineProperty(out, k, {
      value: hidesValue(k, v) ? REDACTED : redactValue(v, knownSecrets),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const encodingOf = (p: Payload): string | undefined => {
  const raw = p.metadata?.[METADATA_ENCODING_KEY];
  return raw ? Buffer.from(raw).toString() : undefined;
};

function jsonPayload(value: unknown, metadata: Payload['metadata']): Payload {
  return {
    metadata: { ...metadata, [METADATA_ENCODING_KEY]: Buffer.from(JSON_PLAIN) },
    data: Buffer.from(JSON.stringify(value)),
  };
}

type Parsed = { kind: 'json'; value: unknown } | { kind: 'empty' } | { kind: 'withheld'; reason: string };

function parse(p: Payload): Parsed {
  const encoding = encodingOf(p);
  if (encoding === BINARY_NULL) return { kind: 'empty' };
  if (encoding !== JSON_PLAIN) return { kind: 'withheld', reason: `${encoding ?? 'unknown'} payload withheld` };
  try {
    return { kind: 'json', value: JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) };
  } catch {
    return { kind: 'withheld', reason: 'json/plain payload that is not valid JSON withheld' };
  }
}

/**
 * Decoded payloads as an operator may see them. JSON payloads come back as JSON with credentials
 * replaced; `binary/null` as is; anything the redaction cannot read (raw bytes, protobuf, JSON that
 * does not parse) is replaced by a JSON string saying it was withheld, because what cannot be read
 * cannot be vouched for.
 */
export function redactPayloads(payloads: readonly Payload[]): Payload[] {
  const parsed = payloads.map(parse);
  const secrets = new Set<string>();
  for (const p of parsed) if (p.kind === 'json') collectSecrets(p.value, secrets);
  // Longest first, so that a secret containing a shorter one is masked whole.
  const knownSecrets = [...secrets].sort((a, b) => b.length - a.length);
  return payloads.map((payload, i) => {
    const p = parsed[i];
    if (p.kind === 'empty') return payload;
    if (p.kind === 'withheld') return jsonPayload(`[redacted: ${p.reason}]`, {});
    return jsonPayload(redactValue(p.value, knownSecrets), payload.metadata);
  });
}
