import type { CrmIdentity } from '../domain/reauthorization';
import type { ApiTokenValidation } from './catalog';
import { classifyHttpStatus, CrmError, parseRetryAfter } from './errors';

/**
 * `fetch` throws for two different reasons: the network (retry) and a request it refuses to send,
 * such as a token that cannot be an HTTP header value (the credentials are unusable: do not retry).
 */
export function fetchFailure(err: unknown): CrmError {
  const e = err as Error;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.message === 'fetch failed') {
    return new CrmError('transient', `CRM unreachable: ${e.name}`);
  }
  return new CrmError('invalid_credentials', 'the credentials cannot be sent in an HTTP request');
}

export function readPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * Asks the CRM who a token belongs to. Throws `CrmError` classified as invalid credentials,
 * removed user, transient (network, 429, 5xx; carries Retry-After) or a malformed answer.
 */
/**
 * GET a CRM JSON resource and classify a failed answer once, for every caller (who-am-I checks,
 * record pages): invalid credentials, removed user, transient (with Retry-After) or bad response.
 */
export async function getCrmJson(
  url: string | URL,
  headers: Record<string, string>,
  opts: { timeoutMs?: number; notFoundMeansInvalid?: boolean; signal?: AbortSignal } = {},
): Promise<{ body: unknown; status: number }> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout });
  } catch (err) {
    throw fetchFailure(err);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null; // not JSON: classified by status alone
  }
  const kind = res.status === 404 && opts.notFoundMeansInvalid ? 'invalid_credentials' : classifyHttpStatus(res.status, body);
  if (kind) throw new CrmError(kind, `CRM answered ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
  return { body, status: res.status };
}

export async function whoAmIWithApiToken(spec: ApiTokenValidation, token: string, timeoutMs = 10_000): Promise<CrmIdentity> {
  const { body, status } = await getCrmJson(spec.validationUrl, { [spec.tokenHeader]: `${spec.tokenPrefix}${token}` }, { timeoutMs });
  const accountId = readPath(body, spec.accountIdField);
  if (typeof accountId !== 'string' && typeof accountId !== 'number') {
    throw new CrmError('bad_response', `CRM answer has no account id at "${spec.accountIdField}"`, status);
  }
  const userId = spec.userIdField ? readPath(body, spec.userIdField) : undefined;
  const scopes = spec.scopesField ? readPath(body, spec.scopesField) : undefined;
  return {
    accountId: String(accountId),
    userId: typeof userId === 'string' || typeof userId === 'number' ? String(userId) : null,
    scopes: Array.isArray(scopes) ? scopes.map(String) : [],
  };
}
