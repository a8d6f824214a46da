/** Helpers for OAuth end-to-end tests against the sandbox CRM's provider emulations. */
import { api, type TestSystem } from './system';

export type Shape = 'hubspot' | 'salesforce' | 'pipedrive' | 'zoho';

async function post(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Registers an OAuth client in the sandbox for `shape` and configures it as tenant A's OAuth app. */
export async function configureOAuthApp(sys: TestSystem, shape: Shape, opts: { key?: string; clientId?: string; extra?: Record<string, unknown> } = {}) {
  const client = await post(`${sys.sandboxUrl}/admin/oauth/clients`, {
    provider: shape,
    redirectUris: [`${sys.apiUrl}/oauth/callback`],
    ...(opts.clientId ? { clientId: opts.clientId } : {}),
    ...opts.extra,
  });
  const put = await api(sys, 'PUT', `/v1/providers/${shape}`, { key: opts.key ?? sys.keyA, body: { clientId: client.clientId, clientSecret: client.clientSecret } });
  if (put.status >= 300) throw new Error(`PUT provider: ${put.status} ${put.text}`);
  return client as { clientId: string; clientSecret: string };
}

/** A sandbox CRM account (optionally in a Zoho data center) with one user. */
export async function crmAccount(sys: TestSystem, name: string, region?: string): Promise<{ accountId: string; userId: string; token: string }> {
  const body = await post(`${sys.sandboxUrl}/admin/accounts`, { name, ...(region ? { region } : {}) });
  return { accountId: body.account.id, userId: body.user.id, token: body.token };
}

/** The person at the CRM consent screen: approve (or deny) the authorize URL as `userId`. */
export async function consent(sys: TestSystem, authorizeUrl: string, userId: string, opts: { grantScopes?: string[]; decision?: 'allow' | 'deny' } = {}): Promise<string> {
  const body = await post(`${sys.sandboxUrl}/admin/oauth/authorize`, { authorizeUrl, userId, ...opts });
  return body.redirectTo as string;
}

/**
 * What a browser keeps from clicking "Continue to <CRM>" on the link page: where our redirect sent
 * it (the consent URL) and the attempt cookie that redirect set (`cookie` as a request's Cookie
 * header sends it, `setCookie` as the response set it).
 */
export interface BrowserAttempt {
  authorizeUrl: string;
  cookie: string;
  setCookie: string;
}

/** The browser clicking "Continue to <CRM>": `GET <link>/authorize`. */
export async function beginAttempt(linkUrl: string): Promise<BrowserAttempt> {
  return continueToCrm(`${linkUrl}/authorize`);
}

/**
 * A browser opening one of our pages that send it on to the CRM's consent page and bind the attempt
 * to it (`<link>/authorize`, or "Try again" under the callback with the cookie of the last attempt),
 * waiting out "Please wait" while the attempt is prepared.
 */
export async function continueToCrm(url: string, cookie?: string): Promise<BrowserAttempt> {
  for (let n = 0; ; n++) {
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    if (res.status === 409 && n < 40) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('oauth_attempt_'));
    if (res.status !== 302 || !setCookie) throw new Error(`continue: ${res.status} ${setCookie ?? 'no attempt cookie'} ${(await res.text()).slice(0, 300)}`);
    return { authorizeUrl: res.headers.get('location')!, cookie: setCookie.split(';')[0], setCookie };
  }
}

/**
 * The browser following the CRM's redirect back to our callback (or opening a page under it), with
 * the attempt cookie it got from `beginAttempt` (a string: a Cookie header of your own; none: a
 * browser that never began the attempt).
 */
export async function followCallback(redirectTo: string, attempt?: Pick<BrowserAttempt, 'cookie'> | string): Promise<{ status: number; html: string; location: string | null }> {
  const cookie = typeof attempt === 'string' ? attempt : attempt?.cookie;
  const res = await fetch(redirectTo, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

export async function startReauth(sys: TestSystem, integrationId: string, body: Record<string, unknown> = {}) {
  const r = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body });
  if (r.status !== 201 && r.status !== 200) throw new Error(`start reauth: ${r.status} ${r.text}`);
  return r.body;
}

/** One full OAuth reauthorization as a browser does it: start, continue from the link, consent as `userId`, come back through the callback. */
export async function oauthRoundTrip(
  sys: TestSystem,
  integrationId: string,
  userId: string,
  opts: { reauth?: Record<string, unknown>; grantScopes?: string[]; decision?: 'allow' | 'deny' } = {},
) {
  const started = await startReauth(sys, integrationId, opts.reauth);
  const attempt = await beginAttempt(started.linkUrl);
  const redirectTo = await consent(sys, attempt.authorizeUrl, userId, { grantScopes: opts.grantScopes, decision: opts.decision });
  const page = await followCallback(redirectTo, attempt);
  const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
  return { started, attempt, redirectTo, page, status };
}

/** A pending OAuth integration of tenant A, connected once through the consent flow as `userId`. */
export async function connectedOAuthIntegration(sys: TestSystem, shape: Shape, userId: string, config: Record<string, unknown> = { syncContacts: true }) {
  const created = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: shape, displayName: `Acme ${shape}`, config } });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
  const first = await oauthRoundTrip(sys, created.body.id, userId);
  if (first.status.outcome !== 'succeeded') throw new Error(`first connect failed: ${JSON.stringify(first.status)} ${first.page.html.slice(0, 500)}`);
  return (await api(sys, 'GET', `/v1/integrations/${created.body.id}`, { key: sys.keyA })).body;
}

export async function sandboxStats(sys: TestSystem): Promise<Record<string, number>> {
  const res = await fetch(`${sys.sandboxUrl}/admin/stats`);
  return ((await res.json()) as { requests: Record<string, number> }).requests;
}

export async function snapshot(sys: TestSystem, integrationId: string) {
  const i = await sys.pg.query('SELECT * FROM integrations WHERE id = $1', [integrationId]);
  const c = await sys.pg.query(`SELECT id, version, state, ciphertext, account_id, scopes FROM credential_versions WHERE integration_id = $1 AND state <> 'pending' AND state <> 'revoked' ORDER BY version`, [integrationId]);
  return { integration: i.rows[0], credentials: c.rows };
}
