import type { CrmIdentity } from '../domain/reauthorization';
import type { ApiTokenValidation } from './catalog';
import { classifyHttpStatus, CrmError, parseRetryAfter } from './errors';

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
export async function whoAmIWithApiToken(spec: ApiTokenValidation, token: string, timeoutMs = 10_000): Promise<CrmIdentity> {
  let res: Response;
  try {
    res = await fetch(spec.validationUrl, {
      headers: { [spec.tokenHeader]: `${spec.tokenPrefix}${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new CrmError('transient', `CRM unreachable: ${(err as Error).name}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null; // not JSON: classified by status alone
  }
  const kind = classifyHttpStatus(res.status, body);
  if (kind) {
    throw new CrmError(kind, `CRM answered ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
  }
  const accountId = readPath(body, spec.accountIdField);
  if (typeof accountId !== 'string' && typeof accountId !== 'number') {
    throw new CrmError('bad_response', `CRM answer has no account id at "${spec.accountIdField}"`, res.status);
  }
  const userId = spec.userIdField ? readPath(body, spec.userIdField) : undefined;
  const scopes = spec.scopesField ? readPath(body, spec.scopesField) : undefined;
  return {
    accountId: String(accountId),
    userId: typeof userId === 'string' || typeof userId === 'number' ? String(userId) : null,
    scopes: Array.isArray(scopes) ? scopes.map(String) : [],
  };
}
