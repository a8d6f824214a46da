import type { CrmIdentity } from '../domain/reauthorization';
import type { EgressPolicy } from '../http/egress-policy';
import type { ApiTokenValidation } from './catalog';
import { accountIdFromAnswer, classifyHttpStatus, CrmError, type CrmUrlRole, idFromAnswer, parseRetryAfter, requestFailure } from './errors';
import { parseScopes } from './scopes';

export function readPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Largest CRM JSON answer read (a record page of 200 rich records fits many times over). */
const MAX_CRM_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * GET a CRM JSON resource through the egress policy and classify a failed answer once, for every
 * caller (who-am-I checks, record pages): invalid credentials, removed user, transient (with
 * Retry-After), bad response, or a URL the policy refuses. A failure's message names the status
 * and which URL (`role`), never the answer's body.
 */
export async function getCrmJson(
  egress: EgressPolicy,
  url: string | URL,
  headers: Record<string, string>,
  opts: { role: CrmUrlRole; timeoutMs?: number; notFoundMeansInvalid?: boolean; signal?: AbortSignal },
): Promise<{ body: unknown; status: number }> {
  let res: Response;
  let text: string;
  try {
    res = await egress.fetch(url, {
      headers: { accept: 'application/json', ...headers },
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxBytes: MAX_CRM_ANSWER_BYTES,
      signal: opts.signal,
    });
    text = await res.text();
  } catch (err) {
    throw requestFailure(err, opts.role);
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null; // not JSON: classified by status alone
  }
  const kind = res.status === 404 && opts.notFoundMeansInvalid ? 'invalid_credentials' : classifyHttpStatus(res.status, body);
  if (kind) throw new CrmError(kind, `the CRM answered ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
  return { body, status: res.status };
}

/**
 * Asks the CRM who a token belongs to. Throws `CrmError` classified as invalid credentials,
 * removed user, transient (network, 429, 5xx; carries Retry-After), a malformed answer, an
 * account id that is not one (`invalid_account_id`) or a URL the egress policy refuses.
 */
export async function whoAmIWithApiToken(egress: EgressPolicy, spec: ApiTokenValidation, token: string, timeoutMs = 10_000): Promise<CrmIdentity> {
  const { body, status } = await getCrmJson(egress, spec.validationUrl, { [spec.tokenHeader]: `${spec.tokenPrefix}${token}` }, { role: 'validation URL', timeoutMs });
  const accountId = accountIdFromAnswer(readPath(body, spec.accountIdField), spec.accountIdField, status);
  const userId = spec.userIdField ? idFromAnswer(readPath(body, spec.userIdField)) : null;
  const scopes = spec.scopesField ? readPath(body, spec.scopesField) : undefined;
  return {
    accountId,
    userId,
    scopes: Array.isArray(scopes) ? (parseScopes(scopes) ?? []) : [],
  };
}
