/**
 * Scopes as CRMs report them (token responses, token-info and userinfo answers): a space- or
 * comma-separated string, or an array. They are stored and shown, so only what can be a scope is
 * kept: RFC 6749 scope-tokens (printable ASCII without space, `"` and `\`), of bounded length and number.
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/;
const MAX_SCOPES = 500;

/** The scopes of an answer's value; null when the answer does not say (neither a string nor an array). */
export function parseScopes(value: unknown): string[] | null {
  let items: unknown[];
  if (Array.isArray(value)) items = value;
  else if (typeof value === 'string') items = value.split(/[\s,]+/);
  else return null;
  return items
    .filter((item): item is string | number => typeof item === 'string' || typeof item === 'number')
    .map(String)
    .filter((scope) => SCOPE_TOKEN.test(scope))
    .slice(0, MAX_SCOPES);
}
