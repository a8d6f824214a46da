/**
 * Custom providers end to end, configured only through `PUT /v1/providers/:key` and talking to
 * servers that have nothing to do with the sandbox CRM: a real OpenID Connect server
 * (`oidc-provider`, in its own process) and a plain `node:http` API-token service with its own who-am-I.
 * Real Temporal, Postgres, worker and API processes; HTTP all the way.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { freePort } from '../libs/temporal/dev-server';
import { beginAttempt } from './support/oauth';
import { signInAndConsent, startOidcServer, type OidcServer } from './support/oidc-server';
import { api, startSystem, type TestSystem } from './support/system';
import { TEST_PEER_HOST, testPeerUrl } from './support/test-network';

const OIDC_KEY = 'acme-oidc';
const KEYS_KEY = 'acme-keys';

/** The "Acme Keys" CRM: `GET /v2/whoami` with `X-Api-Key: <token>`, no prefix. */
interface KeysServer {
  url: string;
  requests: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

const WORKSPACE_TOKENS: Record<string, { workspace: string; user: string }> = {
  'ak_live_ws42_first': { workspace: 'ws_42', user: 'u_ada' },
  'ak_live_ws42_second': { workspace: 'ws_42', user: 'u_grace' },
  'ak_live_ws77_other': { workspace: 'ws_77', user: 'u_linus' },
};

async function startKeysServer(): Promise<KeysServer> {
  const port = await freePort();
  const requests: KeysServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || path !== '/v2/whoami') return send(404, { message: 'not found' });
    const key = req.headers['x-api-key'];
    const known = typeof key === 'string' ? WORKSPACE_TOKENS[key] : undefined;
    if (!known) return send(401, { message: 'invalid api key' });
    send(200, { workspace: { id: known.workspace, name: `Workspace ${known.workspace}` }, user: { id: known.user, role: 'admin' } });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, TEST_PEER_HOST, () => resolve());
  });
  return {
    url: testPeerUrl(port),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a failed attempt must leave alone: the integration row and its non-pending credential versions. */
async function snapshot(sys: TestSystem, integrationId: string) {
  const i = await sys.pg.query('SELECT * FROM integrations WHERE id = $1', [integrationId]);
  const c = await sys.pg.query(
    `SELECT id, version, state, ciphertext, account_id, scopes FROM credential_versions
      WHERE integration_id = $1 AND state NOT IN ('pending', 'revoked') ORDER BY version`,
    [integrationId],
  );
  return { integration: i.rows[0], credentials: c.rows };
}

async function integration(sys: TestSystem, id: string) {
  const r = await api(sys, 'GET', `/v1/integrations/${id}`, { key: sys.keyA });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

describe('custom providers (PUT /v1/providers/:key), against servers that are not the sandbox CRM', () => {
  let sys: TestSystem;
  let oidc: OidcServer;
  let keys: KeysServer;
  let callbackUrl: string;

  beforeAll(async () => {
    sys = await startSystem();
    callbackUrl = `${sys.apiUrl}/oauth/callback`;
    [oidc, keys] = await Promise.all([
      startOidcServer({
        redirectUri: callbackUrl,
        users: {
          alice: { name: 'Alice', orgId: 'org_acme_1' },
          bob: { name: 'Bob', orgId: 'org_acme_1' },
          mallory: { name: 'Mallory', orgId: 'org_other_2' },
        },
      }),
      startKeysServer(),
    ]);
  });
  afterAll(async () => {
    await oidc?.close();
    await keys?.close();
    await sys?.stop();
  });

  /** One OAuth round trip through the OIDC server's login and consent, back to our callback. */
  async function oidcRoundTrip(integrationId: string, login: string) {
    const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.ok(started.status === 201 || started.status === 200, started.text);
    // The browser continues from the link (which binds the attempt to it), then signs in at the OIDC server.
    const attempt = await beginAttempt(started.body.linkUrl);
    const redirectTo = await signInAndConsent(attempt.authorizeUrl, login, callbackUrl);
    const page = await fetch(redirectTo, { redirect: 'manual', headers: { cookie: attempt.cookie } });
    const html = await page.text();
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA })).body;
    return { started: started.body, redirectTo, page: { status: page.status, html }, status };
  }

  test('custom OAuth2/OIDC provider: configured by PUT, connected, reauthorized, account mismatch refused', async () => {
    const put = await api(sys, 'PUT', `/v1/providers/${OIDC_KEY}`, {
      key: sys.keyA,
      body: {
        authType: 'oauth2',
        name: 'Acme OIDC',
        clientId: oidc.clientId,
        clientSecret: oidc.clientSecret,
        authorizationUrl: `${oidc.issuer}/auth`,
        tokenUrl: `${oidc.issuer}/token`,
        userInfoUrl: `${oidc.issuer}/me`,
        accountIdClaim: 'org_id',
        pkce: true,
        scopes: ['openid', 'profile', 'org'],
      },
    });
    assert.equal(put.status, 201, put.text);
    assert.equal(put.body.key, OIDC_KEY);
    assert.equal(put.body.custom, true);
    assert.equal(put.body.authType, 'oauth2');
    assert.equal(put.body.oauth2.hasClientSecret, true);
    assert.equal(put.text.includes(oidc.clientSecret), false, 'the client secret is never returned');

    const created = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: OIDC_KEY, config: { syncContacts: true } } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.authType, 'oauth2');
    assert.equal(created.body.displayName, 'Acme OIDC');
    assert.equal(created.body.credentials, null);
    const id = created.body.id as string;

    // First connection, as Alice of org_acme_1.
    const first = await oidcRoundTrip(id, 'alice');
    const authorize = new URL(first.started.authorizeUrl);
    assert.equal(authorize.origin + authorize.pathname, `${oidc.issuer}/auth`);
    assert.equal(authorize.searchParams.get('client_id'), oidc.clientId);
    assert.equal(authorize.searchParams.get('redirect_uri'), callbackUrl);
    assert.equal(authorize.searchParams.get('scope'), 'openid profile org');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    const back = new URL(first.redirectTo);
    assert.equal(back.searchParams.get('iss'), oidc.issuer, 'the server names itself in the callback (RFC 9207)');
    assert.equal(first.status.outcome, 'succeeded', `${JSON.stringify(first.status)} ${first.page.html.slice(0, 300)}`);
    assert.equal(first.page.status, 200);
    assert.match(first.page.html, /Connection successful/);
    let current = await integration(sys, id);
    assert.equal(current.status, 'active');
    assert.equal(current.credentials.version, 1);
    assert.equal(current.credentials.accountId, 'org_acme_1', 'accountIdClaim "org_id" names the account, not sub');
    assert.deepEqual([...current.credentials.scopes].sort(), ['openid', 'org', 'profile']);
    assert.ok(current.credentials.expiresAt, 'expires_in of the token response is recorded');
    // The engine talked to this server only: code at /token (client_secret_post, so no Basic
    // header), the access token at /me.
    const tokenCalls = oidc.requests.filter((r) => r.method === 'POST' && r.path === '/token');
    assert.equal(tokenCalls.length, 1);
    assert.equal(tokenCalls[0].authorization, undefined);
    const meCalls = oidc.requests.filter((r) => r.path === '/me');
    assert.equal(meCalls.length, 1);
    assert.match(meCalls[0].authorization ?? '', /^Bearer \S+$/);

    // The same org, another user: a new version.
    const second = await oidcRoundTrip(id, 'bob');
    assert.equal(second.status.outcome, 'succeeded', JSON.stringify(second.status));
    assert.notEqual(second.started.id, first.started.id);
    current = await integration(sys, id);
    assert.equal(current.credentials.version, 2);
    assert.equal(current.credentials.accountId, 'org_acme_1');
    const versions = await sys.pg.query('SELECT version, state FROM credential_versions WHERE integration_id = $1 AND version IS NOT NULL ORDER BY version', [id]);
    assert.deepEqual(versions.rows, [
      { version: 1, state: 'superseded' },
      { version: 2, state: 'active' },
    ]);

    // A user of another org: account_mismatch, nothing changed, the reauthorization stays open.
    const before = await snapshot(sys, id);
    const third = await oidcRoundTrip(id, 'mallory');
    assert.equal(third.page.status, 422);
    assert.equal(third.status.outcome, null);
    assert.equal(third.status.error?.code, 'account_mismatch');
    assert.deepEqual(await snapshot(sys, id), before);
    current = await integration(sys, id);
    assert.equal(current.credentials.version, 2);
    assert.equal(current.credentials.accountId, 'org_acme_1');
    assert.equal(current.status, 'active');
    const cancelled = await api(sys, 'POST', `/v1/reauthorizations/${third.started.id}/cancel`, { key: sys.keyA, body: {} });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.outcome, 'cancelled');
  });

  test('custom API-token provider: token sent in the configured header, account from accountIdField', async () => {
    const put = await api(sys, 'PUT', `/v1/providers/${KEYS_KEY}`, {
      key: sys.keyA,
      body: {
        authType: 'api_token',
        name: 'Acme Keys',
        validationUrl: `${keys.url}/v2/whoami`,
        tokenHeader: 'X-Api-Key',
        tokenPrefix: '',
        accountIdField: 'workspace.id',
      },
    });
    assert.equal(put.status, 201, put.text);
    assert.equal(put.body.authType, 'api_token');
    assert.equal(put.body.custom, true);
    assert.equal(put.body.apiToken.tokenHeader, 'X-Api-Key');

    const countOf = async () =>
      (await sys.pg.query('SELECT count(*)::int AS n FROM integrations WHERE provider = $1', [KEYS_KEY])).rows[0].n as number;

    // An unknown token: 422, and no integration is created.
    keys.requests.length = 0;
    const invalid = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: KEYS_KEY, credentials: { apiToken: 'ak_live_nobody' } } });
    assert.equal(invalid.status, 422, invalid.text);
    assert.equal(invalid.body.error.code, 'invalid_credentials');
    assert.equal(await countOf(), 0);
    assert.equal(keys.requests.length, 1, 'a 401 is final: asked once, not retried');
    assert.equal(keys.requests[0].headers['x-api-key'], 'ak_live_nobody');

    keys.requests.length = 0;
    const created = await api(sys, 'POST', '/v1/integrations', {
      key: sys.keyA,
      body: { provider: KEYS_KEY, displayName: 'Acme workspace', credentials: { apiToken: 'ak_live_ws42_first' } },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'active');
    assert.equal(created.body.authType, 'api_token');
    assert.equal(created.body.credentials.accountId, 'ws_42');
    assert.equal(created.body.credentials.version, 1);
    assert.equal(await countOf(), 1);
    // The token went in the configured header, verbatim (empty prefix), to the configured path.
    assert.ok(keys.requests.length >= 1);
    for (const r of keys.requests) {
      assert.equal(r.method, 'GET');
      assert.equal(r.path, '/v2/whoami');
      assert.equal(r.headers['x-api-key'], 'ak_live_ws42_first');
      assert.equal(r.headers.authorization, undefined, 'no default Authorization header');
    }
    const id = created.body.id as string;

    // Reauthorization with another token of the same workspace: version 2.
    const started = await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    assert.equal(started.body.authType, 'api_token');
    const ok = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: 'ak_live_ws42_second' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.outcome, 'succeeded');
    let current = await integration(sys, id);
    assert.equal(current.credentials.version, 2);
    assert.equal(current.credentials.accountId, 'ws_42');
    assert.equal(keys.requests.at(-1)!.headers['x-api-key'], 'ak_live_ws42_second');

    // A token of another workspace: 422 account_mismatch, nothing changed.
    const before = await snapshot(sys, id);
    const again = await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(again.status, 201, again.text);
    const mismatch = await api(sys, 'POST', `/v1/reauthorizations/${again.body.id}/api-token`, { key: sys.keyA, body: { apiToken: 'ak_live_ws77_other' } });
    assert.equal(mismatch.status, 422, mismatch.text);
    assert.equal(mismatch.body.error.code, 'account_mismatch');
    assert.equal(keys.requests.at(-1)!.headers['x-api-key'], 'ak_live_ws77_other');
    assert.deepEqual(await snapshot(sys, id), before);
    current = await integration(sys, id);
    assert.equal(current.credentials.version, 2);
    assert.equal(current.credentials.accountId, 'ws_42');
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${again.body.id}`, { key: sys.keyA })).body;
    assert.equal(status.outcome, null);
    assert.equal(status.error.code, 'account_mismatch');
    await api(sys, 'POST', `/v1/reauthorizations/${again.body.id}/cancel`, { key: sys.keyA, body: {} });
  });

  test('GET /v1/providers lists the custom providers for their tenant only, without the client secret', async () => {
    const listA = await api(sys, 'GET', '/v1/providers', { key: sys.keyA });
    assert.equal(listA.status, 200);
    const byKey = new Map<string, any>(listA.body.data.map((p: any) => [p.key, p]));
    const acmeOidc = byKey.get(OIDC_KEY);
    assert.ok(acmeOidc, 'acme-oidc is listed for tenant A');
    assert.equal(acmeOidc.name, 'Acme OIDC');
    assert.equal(acmeOidc.authType, 'oauth2');
    assert.equal(acmeOidc.custom, true);
    assert.equal(acmeOidc.configured, true);
    assert.equal(acmeOidc.oauth2.clientId, oidc.clientId);
    assert.equal(acmeOidc.oauth2.hasClientSecret, true);
    assert.equal(acmeOidc.oauth2.tokenUrl, `${oidc.issuer}/token`);
    assert.equal(acmeOidc.oauth2.userInfoUrl, `${oidc.issuer}/me`);
    const acmeKeys = byKey.get(KEYS_KEY);
    assert.ok(acmeKeys, 'acme-keys is listed for tenant A');
    assert.equal(acmeKeys.name, 'Acme Keys');
    assert.equal(acmeKeys.authType, 'api_token');
    assert.equal(acmeKeys.custom, true);
    assert.equal(acmeKeys.configured, true);
    assert.equal(acmeKeys.apiToken.validationUrl, `${keys.url}/v2/whoami`);
    assert.equal(acmeKeys.apiToken.accountIdField, 'workspace.id');
    assert.ok(byKey.has('hubspot'), 'the catalog is listed too');
    assert.equal(listA.text.includes(oidc.clientSecret), false, 'the client secret is never returned');

    const listB = await api(sys, 'GET', '/v1/providers', { key: sys.keyB });
    assert.equal(listB.status, 200);
    const keysB = listB.body.data.map((p: any) => p.key);
    assert.equal(keysB.includes(OIDC_KEY), false);
    assert.equal(keysB.includes(KEYS_KEY), false);
    assert.ok(keysB.includes('hubspot'));
    // Tenant B cannot use tenant A's custom provider either.
    const foreign = await api(sys, 'POST', '/v1/integrations', { key: sys.keyB, body: { provider: OIDC_KEY } });
    assert.equal(foreign.status, 422, foreign.text);
    assert.equal(foreign.body.error.code, 'unknown_provider');
  });

  test('PUT /v1/providers/:key validation', async () => {
    const put = (key: string, body: unknown) => api(sys, 'PUT', `/v1/providers/${key}`, { key: sys.keyA, body });
    const expect400 = async (what: string, key: string, body: unknown) => {
      const r = await put(key, body);
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
      assert.equal(typeof r.body?.error?.code, 'string', `${what}: error body`);
      const row = await sys.pg.query('SELECT 1 FROM provider_configs WHERE provider_key = $1', [key]);
      if (!['hubspot', 'sandbox', OIDC_KEY].includes(key)) assert.equal(row.rowCount, 0, `${what}: nothing stored`);
      return r;
    };
    const oauthBody = {
      authType: 'oauth2',
      clientId: 'c',
      clientSecret: 's',
      authorizationUrl: `${oidc.issuer}/auth`,
      tokenUrl: `${oidc.issuer}/token`,
      userInfoUrl: `${oidc.issuer}/me`,
    };

    await expect400('custom provider without authType', 'acme-untyped', { clientId: 'c', clientSecret: 's', authorizationUrl: `${oidc.issuer}/auth` });
    const { tokenUrl: _omit, ...noTokenUrl } = oauthBody;
    const r = await expect400('oauth2 without tokenUrl', 'acme-notoken', noTokenUrl);
    assert.match(r.body.error.message, /tokenUrl/);
    await expect400('bad authorizationUrl', 'acme-badurl', { ...oauthBody, authorizationUrl: 'not a url' });
    await expect400('non-http tokenUrl', 'acme-badurl', { ...oauthBody, tokenUrl: 'ftp://127.0.0.1/token' });
    await expect400('bad validationUrl', 'acme-badkeys', { authType: 'api_token', validationUrl: 'javascript:alert(1)', accountIdField: 'id' });
    await expect400('api_token without accountIdField', 'acme-badkeys', { authType: 'api_token', validationUrl: `${keys.url}/v2/whoami` });
    await expect400('unknown authType', 'acme-weird', { ...oauthBody, authType: 'saml' });
    await expect400('bad provider key', 'Acme_UPPER', oauthBody);

    // Catalog providers: authType and endpoints are fixed.
    await expect400('catalog authType', 'hubspot', { authType: 'api_token', clientId: 'c', clientSecret: 's' });
    await expect400('catalog tokenUrl', 'hubspot', { clientId: 'c', clientSecret: 's', tokenUrl: `${oidc.issuer}/token` });
    await expect400('catalog authorizationUrl', 'hubspot', { clientId: 'c', clientSecret: 's', authorizationUrl: `${oidc.issuer}/auth` });
    await expect400('catalog userInfoUrl', 'hubspot', { clientId: 'c', clientSecret: 's', userInfoUrl: `${oidc.issuer}/me` });
    await expect400('catalog validationUrl', 'sandbox', { validationUrl: `${keys.url}/v2/whoami` });
    // An existing custom provider cannot switch to a malformed endpoint either; it keeps working as it was.
    await expect400('custom provider bad update', OIDC_KEY, { tokenUrl: 'nope' });
    const still = (await api(sys, 'GET', '/v1/providers', { key: sys.keyA })).body.data.find((p: any) => p.key === OIDC_KEY);
    assert.equal(still.oauth2.tokenUrl, `${oidc.issuer}/token`);
    const hubspot = (await api(sys, 'GET', '/v1/providers', { key: sys.keyA })).body.data.find((p: any) => p.key === 'hubspot');
    assert.equal(hubspot.authType, 'oauth2');
    assert.equal(hubspot.configured, false, 'no refused PUT configured the catalog provider');
  });
});
