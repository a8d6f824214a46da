import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSandboxCrm, SandboxCrm } from '../apps/sandbox-crm/sandbox-crm';

type Provider = 'hubspot' | 'salesforce' | 'pipedrive' | 'zoho';

interface ShapeUnderTest {
  authorizePath: string;
  tokenPath: string;
  scopes: string[];
  separator: ' ' | ',';
  clientAuth: 'post' | 'basic';
  extraParams?: Record<string, string>;
}

/** How an app talks to each shape (what the engine's adapters are configured with). */
const SHAPES: Record<Provider, ShapeUnderTest> = {
  hubspot: {
    authorizePath: '/hubspot/oauth/authorize',
    tokenPath: '/hubspot/oauth/v1/token',
    scopes: ['oauth', 'crm.objects.contacts.read', 'crm.objects.deals.read'],
    separator: ' ',
    clientAuth: 'post',
  },
  salesforce: {
    authorizePath: '/salesforce/services/oauth2/authorize',
    tokenPath: '/salesforce/services/oauth2/token',
    scopes: ['api', 'refresh_token', 'id'],
    separator: ' ',
    clientAuth: 'post',
  },
  pipedrive: {
    authorizePath: '/pipedrive/oauth/authorize',
    tokenPath: '/pipedrive/oauth/token',
    scopes: ['base', 'contacts:read', 'deals:read'],
    separator: ',',
    clientAuth: 'basic',
  },
  zoho: {
    authorizePath: '/zoho/us/accounts/oauth/v2/auth',
    tokenPath: '/zoho/us/accounts/oauth/v2/token',
    scopes: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ', 'ZohoCRM.org.READ'],
    separator: ',',
    clientAuth: 'post',
    extraParams: { access_type: 'offline', prompt: 'consent' },
  },
};
const PROVIDERS = Object.keys(SHAPES) as Provider[];
const REDIRECT_URI = 'https://app.example.test/oauth/callback';

interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

interface Client {
  clientId: string;
  clientSecret: string;
  provider: Provider;
  rotateRefreshTokens: boolean;
}

interface AccountView {
  id: string;
  name: string;
  region: string;
  providerIds: {
    hubspot: { hubId: number };
    salesforce: { organizationId: string };
    pipedrive: { companyId: number };
    zoho: { orgId: string };
  };
}

interface UserView {
  id: string;
  email: string;
  providerIds: {
    hubspot: { userId: number };
    salesforce: { userId: string };
    pipedrive: { userId: number };
    zoho: { userId: string };
  };
}

describe('sandbox-crm OAuth shapes', () => {
  let sandbox: SandboxCrm;

  beforeAll(async () => {
    sandbox = await createSandboxCrm({ port: 0 });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(async () => {
    await admin('POST', '/admin/reset');
  });

  // ------------------------------------------------------------------ helpers

  async function http(
    method: string,
    path: string,
    init: { json?: unknown; form?: Record<string, string | string[]>; headers?: Record<string, string> } = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(init.form)) {
        for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
      }
      body = params.toString();
    }
    const url = path.startsWith('http') ? path : sandbox.url + path;
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // HTML or empty
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  async function admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await http(method, path, body === undefined ? {} : { json: body });
    assert.ok(response.status < 300, `${method} ${path} -> ${response.status} ${response.text}`);
    return response.json as T;
  }

  async function createAccount(body: { name?: string; region?: string } = {}): Promise<{ account: AccountView; user: UserView }> {
    return admin('POST', '/admin/accounts', { records: { contacts: 1, companies: 1, deals: 1 }, ...body });
  }

  function createClient(provider: Provider, extra: Record<string, unknown> = {}): Promise<Client> {
    return admin<Client>('POST', '/admin/oauth/clients', { provider, redirectUris: [REDIRECT_URI], ...extra });
  }

  function pkce(): { verifier: string; challenge: string } {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  }

  function authorizeUrl(
    provider: Provider,
    client: Client,
    options: { challenge?: string; state?: string; scopes?: string[]; redirectUri?: string; extra?: Record<string, string> } = {},
  ): string {
    const shape = SHAPES[provider];
    const url = new URL(sandbox.url + shape.authorizePath);
    url.searchParams.set('client_id', client.clientId);
    url.searchParams.set('redirect_uri', options.redirectUri ?? REDIRECT_URI);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', (options.scopes ?? shape.scopes).join(shape.separator));
    url.searchParams.set('state', options.state ?? 'st-' + randomBytes(4).toString('hex'));
    if (options.challenge) {
      url.searchParams.set('code_challenge', options.challenge);
      url.searchParams.set('code_challenge_method', 'S256');
    }
    for (const [name, value] of Object.entries({ ...shape.extraParams, ...options.extra })) url.searchParams.set(name, value);
    return url.toString();
  }

  /** Programmatic consent; returns the parsed redirect. */
  async function approve(url: string, userId: string, extra: { grantScopes?: string[]; decision?: 'allow' | 'deny' } = {}): Promise<URL> {
    const { redirectTo } = await admin<{ redirectTo: string }>('POST', '/admin/oauth/authorize', { authorizeUrl: url, userId, ...extra });
    assert.ok(redirectTo.startsWith(REDIRECT_URI + '?'), redirectTo);
    return new URL(redirectTo);
  }

  function tokenRequest(
    provider: Provider,
    client: Client,
    params: Record<string, string>,
    options: { path?: string; auth?: 'post' | 'basic'; secret?: string } = {},
  ): Promise<HttpResult> {
    const auth = options.auth ?? SHAPES[provider].clientAuth;
    const secret = options.secret ?? client.clientSecret;
    const form: Record<string, string> = { ...params };
    const headers: Record<string, string> = {};
    if (auth === 'basic') {
      headers.authorization = 'Basic ' + Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(secret)}`).toString('base64');
    } else {
      form.client_id = client.clientId;
      form.client_secret = secret;
    }
    return http('POST', options.path ?? SHAPES[provider].tokenPath, { form, headers });
  }

  function exchangeCode(provider: Provider, client: Client, code: string, verifier?: string, options: { path?: string } = {}) {
    return tokenRequest(
      provider,
      client,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...(verifier ? { code_verifier: verifier } : {}) },
      options,
    );
  }

  function refresh(provider: Provider, client: Client, refreshToken: string, options: { path?: string } = {}) {
    return tokenRequest(provider, client, { grant_type: 'refresh_token', refresh_token: refreshToken }, options);
  }

  /** Calls the shape's who-am-I; answers `{status, body}` of the primary identity call. */
  function whoAmI(provider: Provider, accessToken: string, region = 'us'): Promise<HttpResult> {
    switch (provider) {
      case 'hubspot':
        return http('GET', `/hubspot/oauth/v1/access-tokens/${accessToken}`);
      case 'salesforce':
        return http('GET', '/salesforce/services/oauth2/userinfo', { headers: { authorization: `Bearer ${accessToken}` } });
      case 'pipedrive':
        return http('GET', '/pipedrive/api/v1/users/me', { headers: { authorization: `Bearer ${accessToken}` } });
      case 'zoho':
        return http('GET', `/zoho/${region}/api/crm/v2/org`, { headers: { authorization: `Zoho-oauthtoken ${accessToken}` } });
    }
  }

  function assertWhoAmIRejected(provider: Provider, result: HttpResult) {
    assert.equal(result.status, provider === 'hubspot' ? 404 : 401, result.text);
  }

  /** Asserts the who-am-I answer names this account and user, in the shape's own fields. */
  async function assertIdentity(provider: Provider, accessToken: string, account: AccountView, user: UserView, region = 'us') {
    const result = await whoAmI(provider, accessToken, region);
    assert.equal(result.status, 200, result.text);
    const body = result.json;
    switch (provider) {
      case 'hubspot':
        assert.equal(body.hub_id, account.providerIds.hubspot.hubId);
        assert.equal(typeof body.hub_id, 'number');
        assert.equal(body.user_id, user.providerIds.hubspot.userId);
        assert.equal(body.user, user.email);
        assert.equal(body.token, accessToken);
        assert.equal(body.token_type, 'access');
        assert.equal(typeof body.app_id, 'number');
        assert.equal(typeof body.hub_domain, 'string');
        assert.ok(body.expires_in > 0 && body.expires_in <= 3600);
        break;
      case 'salesforce':
        assert.equal(body.organization_id, account.providerIds.salesforce.organizationId);
        assert.match(body.organization_id, /^00D[0-9A-Za-z]{15}$/);
        assert.equal(body.user_id, user.providerIds.salesforce.userId);
        assert.match(body.user_id, /^005[0-9A-Za-z]{15}$/);
        assert.equal(body.sub, `${sandbox.url}/salesforce/id/${body.organization_id}/${body.user_id}`);
        assert.equal(body.email, user.email);
        assert.equal(body.preferred_username, user.email);
        break;
      case 'pipedrive':
        assert.equal(body.success, true);
        assert.equal(body.data.company_id, account.providerIds.pipedrive.companyId);
        assert.equal(typeof body.data.company_id, 'number');
        assert.equal(body.data.id, user.providerIds.pipedrive.userId);
        assert.equal(body.data.email, user.email);
        assert.equal(body.data.company_name, account.name);
        assert.equal(typeof body.data.company_domain, 'string');
        break;
      case 'zoho': {
        assert.equal(body.org.length, 1);
        assert.equal(body.org[0].id, account.providerIds.zoho.orgId);
        assert.match(body.org[0].id, /^\d+$/);
        assert.equal(body.org[0].company_name, account.name);
        const users = await http('GET', `/zoho/${region}/api/crm/v2/users?type=CurrentUser`, { headers: { authorization: `Bearer ${accessToken}` } });
        assert.equal(users.status, 200, users.text);
        assert.equal(users.json.users.length, 1);
        assert.equal(users.json.users[0].id, user.providerIds.zoho.userId);
        assert.equal(users.json.users[0].email, user.email);
        assert.equal(users.json.users[0].full_name, 'Sandbox Admin');
        break;
      }
    }
  }

  /** Checks a code-grant token response has exactly the shape's fields. */
  function assertCodeGrantShape(provider: Provider, result: HttpResult, expectedScopes: string[]) {
    assert.equal(result.status, 200, result.text);
    assert.equal(result.headers.get('cache-control'), 'no-store');
    const body = result.json;
    assert.match(body.access_token, /^sbx_at_/);
    assert.match(body.refresh_token, /^sbx_rt_/);
    switch (provider) {
      case 'hubspot':
        assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
        assert.equal(body.token_type, 'bearer');
        assert.equal(body.expires_in, 3600);
        break;
      case 'salesforce':
        assert.deepEqual(Object.keys(body).sort(), ['access_token', 'id', 'instance_url', 'issued_at', 'refresh_token', 'scope', 'signature', 'token_type']);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(body.instance_url, `${sandbox.url}/salesforce`);
        assert.match(body.id, new RegExp(`^${escapeRegExp(sandbox.url)}/salesforce/id/00D\\w{15}/005\\w{15}$`));
        assert.match(body.issued_at, /^\d{13}$/);
        assert.deepEqual(body.scope.split(' '), expectedScopes);
        break;
      case 'pipedrive':
        assert.deepEqual(Object.keys(body).sort(), ['access_token', 'api_domain', 'expires_in', 'refresh_token', 'scope', 'token_type']);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(body.api_domain, `${sandbox.url}/pipedrive`);
        assert.deepEqual(body.scope.split(','), expectedScopes);
        assert.equal(body.expires_in, 3600);
        break;
      case 'zoho':
        assert.deepEqual(Object.keys(body).sort(), ['access_token', 'api_domain', 'expires_in', 'refresh_token', 'scope', 'token_type']);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(body.api_domain, `${sandbox.url}/zoho/us/api`);
        assert.deepEqual(body.scope.split(' '), expectedScopes);
        assert.equal(body.expires_in, 3600);
        break;
    }
  }

  // -------------------------------------------------------------------- tests

  for (const provider of PROVIDERS) {
    test(`${provider}: code flow with PKCE via /admin/oauth/authorize, who-am-I, REST API, refresh`, async () => {
      const { account, user } = await createAccount({ name: `${provider} Co` });
      const client = await createClient(provider);
      const { verifier, challenge } = pkce();
      const state = 'state-' + provider;

      const redirect = await approve(authorizeUrl(provider, client, { challenge, state }), user.id);
      assert.equal(redirect.searchParams.get('state'), state);
      const code = redirect.searchParams.get('code');
      assert.ok(code);
      if (provider === 'zoho') {
        assert.equal(redirect.searchParams.get('location'), 'us');
        assert.equal(redirect.searchParams.get('accounts-server'), `${sandbox.url}/zoho/us/accounts`);
      }

      const tokens = await exchangeCode(provider, client, code, verifier);
      assertCodeGrantShape(provider, tokens, SHAPES[provider].scopes);
      await assertIdentity(provider, tokens.json.access_token, account, user);

      // The same access token works on the generic REST API and reports its granted scopes.
      const me = await http('GET', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.json.access_token}` } });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json.account.id, account.id);
      assert.equal(me.json.user.id, user.id);
      assert.deepEqual(me.json.scopes, SHAPES[provider].scopes);
      assert.equal(me.json.oauth.provider, provider);

      const refreshed = await refresh(provider, client, tokens.json.refresh_token, provider === 'zoho' ? { path: '/zoho/us/accounts/oauth/v2/token' } : {});
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.match(refreshed.json.access_token, /^sbx_at_/);
      assert.notEqual(refreshed.json.access_token, tokens.json.access_token);
      await assertIdentity(provider, refreshed.json.access_token, account, user);
      // A token of one shape means nothing to another shape's who-am-I.
      const other: Provider = provider === 'hubspot' ? 'pipedrive' : 'hubspot';
      assertWhoAmIRejected(other, await whoAmI(other, refreshed.json.access_token));
    });

    test(`${provider}: browser flow renders the consent page; unticked scopes are not granted`, async () => {
      const { account, user } = await createAccount({ name: `Browser ${provider} Ltd` });
      const colleague = await admin<UserView>('POST', `/admin/accounts/${account.id}/users`, { name: 'Casey Colleague', email: 'casey@example.com' });
      const client = await createClient(provider, { name: 'Acme Sync' });
      const { verifier, challenge } = pkce();
      const scopes = SHAPES[provider].scopes;

      const page = await http('GET', authorizeUrl(provider, client, { challenge, state: 'xyz' }));
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.text, /Acme Sync/);
      for (const scope of scopes) assert.ok(page.text.includes(`value="${scope}" checked`), `scope ${scope} listed and checked`);
      assert.match(page.text, /<label for="user_id">Sign in as<\/label>/);
      assert.match(page.text, /<select id="user_id" name="user_id"/);
      assert.ok(page.text.includes(`value="${user.id}"`));
      assert.ok(page.text.includes(`value="${colleague.id}"`));
      assert.ok(page.text.includes(`Browser ${provider} Ltd`), 'account name shown');
      assert.match(page.text, /<button type="submit" name="decision" value="allow"[^>]*>Allow<\/button>/);
      assert.match(page.text, /<button type="submit" name="decision" value="deny"[^>]*>Deny<\/button>/);
      const action = /<form method="post" action="([^"]+)"/.exec(page.text)?.[1];
      const requestId = /name="request_id" value="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(action && requestId);

      // The user signs in as the colleague and unticks the last scope.
      const granted = scopes.slice(0, -1);
      const consent = await http('POST', action, {
        form: { request_id: requestId, scopes_presented: '1', user_id: colleague.id, scope: granted, decision: 'allow' },
      });
      assert.equal(consent.status, 302, consent.text);
      const location = new URL(consent.headers.get('location')!);
      assert.equal(location.origin + location.pathname, REDIRECT_URI);
      assert.equal(location.searchParams.get('state'), 'xyz');

      const tokens = await exchangeCode(provider, client, location.searchParams.get('code')!, verifier);
      assert.equal(tokens.status, 200, tokens.text);
      const me = await http('GET', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.json.access_token}` } });
      assert.equal(me.json.user.id, colleague.id);
      assert.deepEqual(me.json.scopes, granted);
      if (provider === 'hubspot') {
        assert.deepEqual((await whoAmI(provider, tokens.json.access_token)).json.scopes, granted);
      } else {
        assert.deepEqual(tokens.json.scope.split(/[ ,]/), granted);
      }

      // The request was answered; replaying the form is refused with an error page.
      const replay = await http('POST', action, { form: { request_id: requestId, user_id: colleague.id, decision: 'allow' } });
      assert.equal(replay.status, 400);
      assert.equal(replay.headers.get('location'), null);
    });
  }

  test('Deny (form or admin) redirects with error=access_denied and the state', async () => {
    const { user } = await createAccount();
    const client = await createClient('hubspot');
    const denied = await approve(authorizeUrl('hubspot', client, { state: 's1' }), user.id, { decision: 'deny' });
    assert.equal(denied.searchParams.get('error'), 'access_denied');
    assert.equal(denied.searchParams.get('state'), 's1');
    assert.equal(denied.searchParams.get('code'), null);

    const page = await http('GET', authorizeUrl('pipedrive', await createClient('pipedrive'), { state: 's2' }));
    const requestId = /name="request_id" value="([^"]+)"/.exec(page.text)![1];
    const consent = await http('POST', '/pipedrive/oauth/consent', { form: { request_id: requestId, user_id: user.id, decision: 'deny' } });
    assert.equal(consent.status, 302);
    const location = new URL(consent.headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'access_denied');
    assert.ok(location.searchParams.get('error_description'));
    assert.equal(location.searchParams.get('state'), 's2');
  });

  test('consent accepts JSON with a shape-formatted scope string', async () => {
    const { user } = await createAccount();
    const client = await createClient('zoho');
    const page = await http('GET', authorizeUrl('zoho', client));
    const requestId = /name="request_id" value="([^"]+)"/.exec(page.text)![1];
    const consent = await http('POST', '/zoho/us/accounts/oauth/v2/consent', {
      json: { request_id: requestId, user_id: user.id, decision: 'allow', scope: 'ZohoCRM.users.READ,ZohoCRM.org.READ' },
    });
    assert.equal(consent.status, 302);
    const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
    const tokens = await exchangeCode('zoho', client, code);
    assert.equal(tokens.json.scope, 'ZohoCRM.users.READ ZohoCRM.org.READ');

    const notRequested = await http('POST', '/admin/oauth/authorize', {
      json: { authorizeUrl: authorizeUrl('zoho', client), userId: user.id, grantScopes: ['ZohoCRM.settings.ALL'] },
    });
    assert.equal(notRequested.status, 400);
    assert.equal(notRequested.json.error.code, 'invalid_scope');
  });

  test('an unregistered redirect_uri or unknown client gets an error page, never a redirect', async () => {
    const client = await createClient('hubspot');
    const mismatch = await http('GET', authorizeUrl('hubspot', client, { redirectUri: REDIRECT_URI + '/evil' }));
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.headers.get('location'), null);
    assert.match(mismatch.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(mismatch.text, /invalid_redirect_uri/);

    // Prefix or trailing-slash variants are not "the same" URI.
    const trailing = await http('GET', authorizeUrl('hubspot', client, { redirectUri: REDIRECT_URI + '/' }));
    assert.equal(trailing.status, 400);

    const unknown = await http('GET', authorizeUrl('hubspot', { ...client, clientId: 'nope' }));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.headers.get('location'), null);

    // A HubSpot client is unknown to the Salesforce endpoint.
    const wrongShape = await http('GET', authorizeUrl('salesforce', client));
    assert.equal(wrongShape.status, 400);

    const viaAdmin = await http('POST', '/admin/oauth/authorize', {
      json: { authorizeUrl: authorizeUrl('hubspot', client, { redirectUri: 'https://evil.test/cb' }), userId: 'usr_x' },
    });
    assert.equal(viaAdmin.status, 400);
    assert.equal(viaAdmin.json.error.code, 'invalid_redirect_uri');
  });

  test('protocol errors after redirect_uri is trusted are redirected: response_type, PKCE method, required PKCE', async () => {
    const { user } = await createAccount();
    const client = await createClient('hubspot', { requirePkce: true });
    const noPkce = await approve(authorizeUrl('hubspot', client, { state: 'p' }), user.id);
    assert.equal(noPkce.searchParams.get('error'), 'invalid_request');
    assert.equal(noPkce.searchParams.get('state'), 'p');

    const plain = await approve(authorizeUrl('hubspot', client, { challenge: 'x'.repeat(43), extra: { code_challenge_method: 'plain' } }), user.id);
    assert.equal(plain.searchParams.get('error'), 'invalid_request');

    const token = await approve(authorizeUrl('hubspot', client, { challenge: pkce().challenge, extra: { response_type: 'token' } }), user.id);
    assert.equal(token.searchParams.get('error'), 'unsupported_response_type');

    const viaBrowser = await http('GET', authorizeUrl('hubspot', client));
    assert.equal(viaBrowser.status, 302);
    assert.equal(new URL(viaBrowser.headers.get('location')!).searchParams.get('error'), 'invalid_request');
  });

  test('PKCE: a wrong or missing code_verifier is invalid_grant', async () => {
    const { user } = await createAccount();
    const client = await createClient('salesforce');
    const { verifier, challenge } = pkce();
    const code = (await approve(authorizeUrl('salesforce', client, { challenge }), user.id)).searchParams.get('code')!;

    const wrong = await exchangeCode('salesforce', client, code, pkce().verifier);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error, 'invalid_grant');
    assert.equal(wrong.json.error_description, 'invalid code verifier');
    const missing = await exchangeCode('salesforce', client, code);
    assert.equal(missing.json.error, 'invalid_grant');

    // A failed attempt does not burn the code for its rightful owner.
    assert.equal((await exchangeCode('salesforce', client, code, verifier)).status, 200);
  });

  test('code reuse is invalid_grant and revokes every token issued from the code', async () => {
    const { user } = await createAccount();
    const client = await createClient('hubspot');
    const code = (await approve(authorizeUrl('hubspot', client), user.id)).searchParams.get('code')!;
    const first = await exchangeCode('hubspot', client, code);
    assert.equal(first.status, 200);
    assert.equal((await whoAmI('hubspot', first.json.access_token)).status, 200);

    const replay = await exchangeCode('hubspot', client, code);
    assert.equal(replay.status, 400);
    assert.equal(replay.json.error, 'invalid_grant');
    assert.equal(replay.json.status, 'BAD_AUTH_CODE');

    assertWhoAmIRejected('hubspot', await whoAmI('hubspot', first.json.access_token));
    const rest = await http('GET', '/api/v1/me', { headers: { authorization: `Bearer ${first.json.access_token}` } });
    assert.equal(rest.status, 401);
    assert.equal(rest.json.error.code, 'invalid_token');
    assert.equal((await refresh('hubspot', client, first.json.refresh_token)).json.error, 'invalid_grant');
    assert.equal((await admin<{ reuseDetections: number }>('GET', '/admin/oauth/stats')).reuseDetections, 1);
  });

  test('refresh rotation: the old refresh token is spent; reusing it revokes the whole family', async () => {
    const { user } = await createAccount();
    const client = await createClient('pipedrive');
    assert.equal(client.rotateRefreshTokens, true);
    const code = (await approve(authorizeUrl('pipedrive', client), user.id)).searchParams.get('code')!;
    const initial = (await exchangeCode('pipedrive', client, code)).json;

    const second = await refresh('pipedrive', client, initial.refresh_token);
    assert.equal(second.status, 200);
    assert.notEqual(second.json.refresh_token, initial.refresh_token);
    assert.equal(second.json.scope, SHAPES.pipedrive.scopes.join(','));
    const third = await refresh('pipedrive', client, second.json.refresh_token);
    assert.equal(third.status, 200);

    // An attacker (or a racing worker) replays the first refresh token.
    const reuse = await refresh('pipedrive', client, initial.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    assert.equal(reuse.json.message, 'Invalid grant: refresh_token is invalid');

    // Everything in the family is dead now, including the newest tokens.
    assert.equal((await refresh('pipedrive', client, third.json.refresh_token)).json.error, 'invalid_grant');
    for (const token of [initial.access_token, second.json.access_token, third.json.access_token]) {
      assertWhoAmIRejected('pipedrive', await whoAmI('pipedrive', token));
    }
    const stats = await admin<Record<string, number>>('GET', '/admin/oauth/stats');
    assert.equal(stats.authorizationCodesIssued, 1);
    assert.equal(stats.codeExchanges, 1);
    assert.equal(stats.refreshGrants, 2);
    assert.equal(stats.reuseDetections, 1);
  });

  test('reuse grace period: a rotated-away refresh token presented again in time gets the same successor; later, or once the successor is used, it revokes the family', async () => {
    const { user } = await createAccount();
    const client = await createClient('pipedrive');
    const inspect = (refreshToken: string) => admin<{ state: string; liveRefreshToken: string | null }>('POST', '/admin/oauth/refresh-tokens/inspect', { refreshToken });
    await admin('POST', '/admin/oauth/settings', { refreshTokenReuseGraceSeconds: 60 });
    const initial = (await exchangeCode('pipedrive', client, (await approve(authorizeUrl('pipedrive', client), user.id)).searchParams.get('code')!)).json;
    const fresh = await inspect(initial.refresh_token);
    assert.equal(fresh.state, 'live');
    assert.equal(fresh.liveRefreshToken, initial.refresh_token);

    const first = (await refresh('pipedrive', client, initial.refresh_token)).json;
    assert.equal((await inspect(initial.refresh_token)).state, 'rotated');
    // The answer was lost; the client presents the old token again within the grace period.
    const again = await refresh('pipedrive', client, initial.refresh_token);
    assert.equal(again.status, 200);
    assert.equal(again.json.refresh_token, first.refresh_token, 'the same successor');
    assert.notEqual(again.json.access_token, first.access_token, 'a new access token');
    assert.equal((await whoAmI('pipedrive', again.json.access_token)).status, 200);
    assert.equal((await inspect(first.refresh_token)).liveRefreshToken, first.refresh_token);

    // Once the successor is used, the old token is plain reuse again: the family is revoked.
    const second = (await refresh('pipedrive', client, first.refresh_token)).json;
    assert.equal((await refresh('pipedrive', client, initial.refresh_token)).json.error, 'invalid_grant');
    assert.equal((await inspect(second.refresh_token)).state, 'revoked');
    const stats = await admin<Record<string, number>>('GET', '/admin/oauth/stats');
    assert.equal(stats.graceReuses, 1);
    assert.equal(stats.reuseDetections, 1);

    // Without a grace period (the default) the first reuse revokes.
    await admin('POST', '/admin/oauth/settings', { refreshTokenReuseGraceSeconds: 0 });
    const other = (await exchangeCode('pipedrive', client, (await approve(authorizeUrl('pipedrive', client), user.id)).searchParams.get('code')!)).json;
    const rotated = (await refresh('pipedrive', client, other.refresh_token)).json;
    assert.equal((await refresh('pipedrive', client, other.refresh_token)).json.error, 'invalid_grant');
    assert.equal((await inspect(rotated.refresh_token)).state, 'revoked');
    assert.equal((await inspect('sbx_rt_unknown')).state, 'unknown');
  });

  test('random faults: seeded 503s, 429s with Retry-After and delays on the chosen paths only, counted per kind', async () => {
    const { user } = await createAccount();
    const client = await createClient('hubspot');
    const token = (await exchangeCode('hubspot', client, (await approve(authorizeUrl('hubspot', client), user.id)).searchParams.get('code')!)).json.access_token;
    const me = () => http('GET', '/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
    await admin('PUT', '/admin/faults/random', { seed: 7, pathPrefixes: ['/api/v1/'], serverErrorRate: 1 });
    assert.equal((await me()).status, 503);
    await admin('PUT', '/admin/faults/random', { seed: 7, pathPrefixes: ['/api/v1/'], tooManyRequestsRate: 1, retryAfterSeconds: 3 });
    const limited = await me();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '3');
    assert.equal((await whoAmI('hubspot', token)).status, 200, 'other paths are left alone');
    await admin('PUT', '/admin/faults/random', { seed: 7, pathPrefixes: ['/api/v1/'], latencyRate: 1, maxLatencyMs: 300 });
    assert.equal((await me()).status, 200);
    // A mix, drawn from the seed: the same seed draws the same faults.
    const draw = async () => {
      await admin('PUT', '/admin/faults/random', { seed: 42, pathPrefixes: ['/api/v1/'], serverErrorRate: 0.3, tooManyRequestsRate: 0.3 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await me()).status);
      return statuses;
    };
    const once = await draw();
    assert.deepEqual(await draw(), once);
    const counted = await admin<{ injected: { serverErrors: number; tooManyRequests: number; latency: number } }>('GET', '/admin/faults/random');
    assert.equal(counted.injected.serverErrors, once.filter((s) => s === 503).length);
    assert.equal(counted.injected.tooManyRequests, once.filter((s) => s === 429).length);
    assert.ok(once.includes(200) && once.includes(503) && once.includes(429), once.join(','));
    assert.equal((await http('PUT', '/admin/faults/random', { json: { seed: 1, pathPrefixes: ['/api/'], serverErrorRate: 0.7, tooManyRequestsRate: 0.7 } })).status, 400);
    assert.equal((await http('PUT', '/admin/faults/random', { json: { seed: 1, pathPrefixes: ['/admin/'] } })).status, 400);
    await admin('DELETE', '/admin/faults/random');
    assert.equal((await me()).status, 200);
  });

  test('Salesforce: no rotation, no expires_in, refresh_token only on the code grant, valid signature, identity URL', async () => {
    const { account, user } = await createAccount({ name: 'Force Inc' });
    const client = await createClient('salesforce');
    assert.equal(client.rotateRefreshTokens, false);
    const code = (await approve(authorizeUrl('salesforce', client), user.id)).searchParams.get('code')!;
    const tokens = (await exchangeCode('salesforce', client, code)).json;
    assert.equal('expires_in' in tokens, false);
    const expectedSignature = createHmac('sha256', client.clientSecret).update(tokens.id + tokens.issued_at).digest('base64');
    assert.equal(tokens.signature, expectedSignature);

    for (let i = 0; i < 2; i += 1) {
      const refreshed = await refresh('salesforce', client, tokens.refresh_token);
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal('refresh_token' in refreshed.json, false);
      assert.equal('expires_in' in refreshed.json, false);
      assert.equal(refreshed.json.scope, 'api refresh_token id');
      assert.equal(refreshed.json.id, tokens.id);
    }

    const identity = await http('GET', new URL(tokens.id).pathname, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(identity.status, 200, identity.text);
    assert.equal(identity.json.id, tokens.id);
    assert.equal(identity.json.organization_id, account.providerIds.salesforce.organizationId);
    assert.equal(identity.json.user_id, user.providerIds.salesforce.userId);
    assert.equal(identity.json.username, user.email);

    // Without refresh_token in the grant, Salesforce hands out no refresh token.
    const noOffline = (await approve(authorizeUrl('salesforce', client, { scopes: ['api'] }), user.id)).searchParams.get('code')!;
    const accessOnly = (await exchangeCode('salesforce', client, noOffline)).json;
    assert.equal('refresh_token' in accessOnly, false);
  });

  test('Zoho: an EU user is sent to the EU accounts server; codes and tokens only work in the EU', async () => {
    const { account, user } = await createAccount({ name: 'Euro GmbH', region: 'eu' });
    assert.equal(account.region, 'eu');
    const client = await createClient('zoho');
    const redirect = await approve(authorizeUrl('zoho', client), user.id);
    assert.equal(redirect.searchParams.get('location'), 'eu');
    assert.equal(redirect.searchParams.get('accounts-server'), `${sandbox.url}/zoho/eu/accounts`);
    assert.ok(redirect.search.includes(`accounts-server=${encodeURIComponent(`${sandbox.url}/zoho/eu/accounts`)}`));
    const code = redirect.searchParams.get('code')!;

    const atUs = await exchangeCode('zoho', client, code, undefined, { path: '/zoho/us/accounts/oauth/v2/token' });
    assert.equal(atUs.status, 200);
    assert.deepEqual(atUs.json, { error: 'invalid_code' });

    const atEu = await exchangeCode('zoho', client, code, undefined, { path: '/zoho/eu/accounts/oauth/v2/token' });
    assert.equal(atEu.status, 200, atEu.text);
    assert.equal(atEu.json.api_domain, `${sandbox.url}/zoho/eu/api`);
    assert.match(atEu.json.refresh_token, /^sbx_rt_/);
    const accessToken = atEu.json.access_token;

    await assertIdentity('zoho', accessToken, account, user, 'eu');
    const onUs = await whoAmI('zoho', accessToken, 'us');
    assert.equal(onUs.status, 401);
    assert.equal(onUs.json.code, 'INVALID_TOKEN');
    assert.equal(onUs.json.status, 'error');

    assert.deepEqual((await refresh('zoho', client, atEu.json.refresh_token, { path: '/zoho/us/accounts/oauth/v2/token' })).json, { error: 'invalid_code' });
    const refreshed = await refresh('zoho', client, atEu.json.refresh_token, { path: '/zoho/eu/accounts/oauth/v2/token' });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal('refresh_token' in refreshed.json, false, 'Zoho refresh tokens do not rotate');
    assert.equal(refreshed.json.api_domain, `${sandbox.url}/zoho/eu/api`);

    // Other Zoho token errors are 200 bodies too.
    const badSecret = await exchangeCode('zoho', { ...client, clientSecret: 'wrong' }, 'x', undefined, { path: '/zoho/eu/accounts/oauth/v2/token' });
    assert.equal(badSecret.status, 200);
    assert.deepEqual(badSecret.json, { error: 'invalid_client' });
    // Zoho also takes its parameters in the query string.
    const query = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: atEu.json.refresh_token, client_id: client.clientId, client_secret: client.clientSecret });
    const viaQuery = await http('POST', `/zoho/eu/accounts/oauth/v2/token?${query}`);
    assert.equal(viaQuery.status, 200);
    assert.match(viaQuery.json.access_token, /^sbx_at_/);

    // Without access_type=offline Zoho issues no refresh token.
    const online = await approve(authorizeUrl('zoho', client, { extra: { access_type: 'online' } }), user.id);
    const onlineTokens = await exchangeCode('zoho', client, online.searchParams.get('code')!, undefined, { path: '/zoho/eu/accounts/oauth/v2/token' });
    assert.equal('refresh_token' in onlineTokens.json, false);
  });

  test('Zoho: a data-center move invalidates the tokens until the user authorizes again', async () => {
    const { account, user } = await createAccount({ name: 'Mover Ltd' });
    const client = await createClient('zoho');
    const code = (await approve(authorizeUrl('zoho', client), user.id)).searchParams.get('code')!;
    const tokens = (await exchangeCode('zoho', client, code)).json;
    assert.equal((await whoAmI('zoho', tokens.access_token, 'us')).status, 200);

    const moved = await admin<AccountView>('PATCH', `/admin/accounts/${account.id}`, { region: 'au' });
    assert.equal(moved.region, 'au');
    assert.equal((await whoAmI('zoho', tokens.access_token, 'us')).status, 401);
    assert.equal((await whoAmI('zoho', tokens.access_token, 'au')).status, 401);
    assert.deepEqual((await refresh('zoho', client, tokens.refresh_token)).json, { error: 'invalid_code' });

    const again = await approve(authorizeUrl('zoho', client), user.id);
    assert.equal(again.searchParams.get('location'), 'au');
    const fresh = await exchangeCode('zoho', client, again.searchParams.get('code')!, undefined, { path: '/zoho/au/accounts/oauth/v2/token' });
    assert.equal(fresh.json.api_domain, `${sandbox.url}/zoho/au/api`);
    await assertIdentity('zoho', fresh.json.access_token, account, user, 'au');
    assert.equal((await http('GET', '/zoho/xx/api/crm/v2/org')).status, 404);
  });

  test('a short-TTL access token expires: who-am-I 401, REST token_expired, refresh still works', async () => {
    const { user } = await createAccount();
    const pipedrive = await createClient('pipedrive', { accessTokenTtlSeconds: 1 });
    const hubspot = await createClient('hubspot');
    const pdTokens = (await exchangeCode('pipedrive', pipedrive, (await approve(authorizeUrl('pipedrive', pipedrive), user.id)).searchParams.get('code')!)).json;
    assert.equal(pdTokens.expires_in, 1);
    const hsTokens = (await exchangeCode('hubspot', hubspot, (await approve(authorizeUrl('hubspot', hubspot), user.id)).searchParams.get('code')!)).json;

    // HubSpot's token is expired by the admin shortcut; Pipedrive's by waiting out its TTL.
    await admin('POST', '/admin/oauth/expire', { accessToken: hsTokens.access_token });
    assert.equal((await whoAmI('hubspot', hsTokens.access_token)).status, 404);
    const accountInfo = await http('GET', '/hubspot/account-info/v3/details', { headers: { authorization: `Bearer ${hsTokens.access_token}` } });
    assert.equal(accountInfo.status, 401);
    assert.equal(accountInfo.json.category, 'EXPIRED_AUTHENTICATION');

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const expired = await whoAmI('pipedrive', pdTokens.access_token);
    assert.equal(expired.status, 401);
    assert.equal(expired.json.success, false);
    const rest = await http('GET', '/api/v1/me', { headers: { authorization: `Bearer ${pdTokens.access_token}` } });
    assert.equal(rest.status, 401);
    assert.equal(rest.json.error.code, 'token_expired');

    const refreshed = await refresh('pipedrive', pipedrive, pdTokens.refresh_token);
    assert.equal(refreshed.status, 200);
    assert.equal((await whoAmI('pipedrive', refreshed.json.access_token)).status, 200);
  });

  test("a removed user's tokens stop working and refresh is invalid_grant", async () => {
    const { user } = await createAccount();
    const results: Array<[Provider, HttpResult]> = [];
    const tokensBy = new Map<Provider, { access_token: string; refresh_token: string; client: Client }>();
    for (const provider of PROVIDERS) {
      const client = await createClient(provider);
      const code = (await approve(authorizeUrl(provider, client), user.id)).searchParams.get('code')!;
      tokensBy.set(provider, { ...(await exchangeCode(provider, client, code)).json, client });
    }
    await admin('DELETE', `/admin/users/${user.id}`);

    for (const provider of PROVIDERS) {
      const { access_token, refresh_token, client } = tokensBy.get(provider)!;
      assertWhoAmIRejected(provider, await whoAmI(provider, access_token));
      const rest = await http('GET', '/api/v1/me', { headers: { authorization: `Bearer ${access_token}` } });
      assert.equal(rest.json.error.code, 'user_removed');
      results.push([provider, await refresh(provider, client, refresh_token)]);
    }
    for (const [provider, result] of results) {
      if (provider === 'zoho') assert.deepEqual(result.json, { error: 'invalid_code' });
      else assert.equal(result.json.error, 'invalid_grant', `${provider}: ${result.text}`);
    }
    assert.equal(results.find(([provider]) => provider === 'salesforce')![1].json.error_description, 'inactive user');

    // A removed user is not offered on the consent page and cannot be chosen.
    const denied = await http('POST', '/admin/oauth/authorize', { json: { authorizeUrl: authorizeUrl('hubspot', tokensBy.get('hubspot')!.client), userId: user.id } });
    assert.equal(denied.status, 409);
  });

  test('client authentication: Basic and client_secret_post both work; wrong secret is 401 invalid_client; JSON bodies are refused', async () => {
    const { user } = await createAccount();
    const client = await createClient('hubspot', { clientId: 'my-hubspot-app', clientSecret: 's3cr3t+/=' });
    assert.equal(client.clientId, 'my-hubspot-app');
    const codeFor = async () => (await approve(authorizeUrl('hubspot', client), user.id)).searchParams.get('code')!;

    const basic = await tokenRequest('hubspot', client, { grant_type: 'authorization_code', code: await codeFor(), redirect_uri: REDIRECT_URI }, { auth: 'basic' });
    assert.equal(basic.status, 200, basic.text);
    const post = await tokenRequest('hubspot', client, { grant_type: 'authorization_code', code: await codeFor(), redirect_uri: REDIRECT_URI }, { auth: 'post' });
    assert.equal(post.status, 200, post.text);

    const wrong = await tokenRequest('hubspot', client, { grant_type: 'refresh_token', refresh_token: post.json.refresh_token }, { secret: 'nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error, 'invalid_client');
    assert.equal(wrong.headers.get('www-authenticate'), null);

    const redirectMismatch = await tokenRequest('hubspot', client, { grant_type: 'authorization_code', code: await codeFor(), redirect_uri: REDIRECT_URI + '2' });
    assert.equal(redirectMismatch.json.error, 'invalid_grant');

    const json = await http('POST', '/hubspot/oauth/v1/token', {
      json: { grant_type: 'refresh_token', refresh_token: post.json.refresh_token, client_id: client.clientId, client_secret: client.clientSecret },
    });
    assert.equal(json.status, 400);
    assert.equal(json.json.error, 'invalid_request');

    const unsupported = await tokenRequest('hubspot', client, { grant_type: 'password' });
    assert.equal(unsupported.json.error, 'unsupported_grant_type');

    // Re-posting the clientId updates it in place.
    const updated = await admin<Client & { redirectUris: string[] }>('POST', '/admin/oauth/clients', {
      provider: 'hubspot',
      clientId: 'my-hubspot-app',
      redirectUris: [REDIRECT_URI, 'http://localhost/cb'],
    });
    assert.equal(updated.clientSecret, 's3cr3t+/=');
    assert.deepEqual(updated.redirectUris, [REDIRECT_URI, 'http://localhost/cb']);
    assert.equal((await admin<{ redirectUris: string[] }>('GET', '/admin/oauth/clients/my-hubspot-app')).redirectUris.length, 2);
    const conflict = await http('POST', '/admin/oauth/clients', { json: { provider: 'zoho', clientId: 'my-hubspot-app', redirectUris: [REDIRECT_URI] } });
    assert.equal(conflict.status, 409);
  });

  test('admin revoke kills a refresh token family; settings change the default TTL', async () => {
    const { user } = await createAccount();
    await admin('POST', '/admin/oauth/settings', { defaultAccessTokenTtlSeconds: 120 });
    const client = await createClient('hubspot');
    const tokens = (await exchangeCode('hubspot', client, (await approve(authorizeUrl('hubspot', client), user.id)).searchParams.get('code')!)).json;
    assert.equal(tokens.expires_in, 120);

    const revoked = await admin<{ tokensRevoked: number }>('POST', '/admin/oauth/revoke', { refreshToken: tokens.refresh_token });
    assert.equal(revoked.tokensRevoked, 2);
    assert.equal((await whoAmI('hubspot', tokens.access_token)).status, 404);
    assert.equal((await refresh('hubspot', client, tokens.refresh_token)).json.status, 'BAD_REFRESH_TOKEN');
    assert.equal((await http('POST', '/admin/oauth/revoke', { json: { accessToken: 'sbx_at_nope' } })).status, 404);
  });

  /** One user's grants to one app, as the sandbox reports them. */
  async function liveGrants(client: Client, userId: string): Promise<string[]> {
    const { data } = await admin<{ data: Array<{ familyId: string; live: boolean }> }>(
      'GET',
      `/admin/oauth/grants?clientId=${encodeURIComponent(client.clientId)}&userId=${encodeURIComponent(userId)}`,
    );
    return data.filter((grant) => grant.live).map((grant) => grant.familyId);
  }

  /** Approves and redeems one authorization: a new grant of `userId` to `client`. */
  async function newGrant(provider: Provider, client: Client, userId: string): Promise<{ access_token: string; refresh_token: string }> {
    const { verifier, challenge } = pkce();
    const code = (await approve(authorizeUrl(provider, client, { challenge }), userId)).searchParams.get('code')!;
    const tokens = await exchangeCode(provider, client, code, verifier);
    assert.equal(tokens.status, 200, tokens.text);
    assert.ok(tokens.json.refresh_token, tokens.text);
    return tokens.json;
  }

  test('Salesforce: the 6th approval of one user for one app revokes the oldest (5 stay live)', async () => {
    const { user } = await createAccount();
    const client = await createClient('salesforce');
    const other = await createClient('salesforce');
    const grants = [];
    for (let n = 0; n < 5; n++) grants.push(await newGrant('salesforce', client, user.id));
    await newGrant('salesforce', other, user.id); // another app: its own count
    assert.equal((await liveGrants(client, user.id)).length, 5);
    assert.equal((await refresh('salesforce', client, grants[0].refresh_token)).status, 200, 'five approvals are fine');

    grants.push(await newGrant('salesforce', client, user.id));
    assert.equal((await liveGrants(client, user.id)).length, 5);
    const oldest = await refresh('salesforce', client, grants[0].refresh_token);
    assert.equal(oldest.status, 400);
    assert.equal(oldest.json.error, 'invalid_grant');
    assert.equal((await whoAmI('salesforce', grants[0].access_token)).status, 401, 'its access tokens go too');
    assert.equal((await refresh('salesforce', client, grants[1].refresh_token)).status, 200, 'the second oldest lives');
    assert.equal((await liveGrants(other, user.id)).length, 1);
    assert.equal((await admin<{ grantLimitRevocations: number }>('GET', '/admin/oauth/stats')).grantLimitRevocations, 1);
  });

  test('Zoho: the 21st refresh token of one user for one client deletes the oldest; the limit can be lowered', async () => {
    const { user } = await createAccount();
    const client = await createClient('zoho');
    const grants = [];
    for (let n = 0; n < 21; n++) grants.push(await newGrant('zoho', client, user.id));
    assert.equal((await liveGrants(client, user.id)).length, 20);
    assert.equal((await refresh('zoho', client, grants[0].refresh_token)).json.error, 'invalid_code');
    assert.ok((await refresh('zoho', client, grants[1].refresh_token)).json.access_token);

    await admin('POST', '/admin/oauth/settings', { zohoMaxRefreshTokensPerUser: 2 });
    grants.push(await newGrant('zoho', client, user.id));
    assert.equal((await liveGrants(client, user.id)).length, 2, 'one new grant brings it down to the lowered limit');
    assert.ok((await refresh('zoho', client, grants[21].refresh_token)).json.access_token);
    assert.ok((await refresh('zoho', client, grants[20].refresh_token)).json.access_token);
    assert.equal((await refresh('zoho', client, grants[19].refresh_token)).json.error, 'invalid_code');
  });

  test('revocation endpoints end a grant: HubSpot DELETE, Salesforce POST revoke, Zoho POST revoke?token=', async () => {
    const { user } = await createAccount();
    for (const provider of ['hubspot', 'salesforce', 'zoho'] as const) {
      const client = await createClient(provider);
      const kept = await newGrant(provider, client, user.id);
      const gone = await newGrant(provider, client, user.id);
      const revoke =
        provider === 'hubspot'
          ? await http('DELETE', `/hubspot/oauth/v1/refresh-tokens/${gone.refresh_token}`)
          : provider === 'salesforce'
            ? await http('POST', '/salesforce/services/oauth2/revoke', { form: { token: gone.refresh_token } })
            : await http('POST', `/zoho/us/accounts/oauth/v2/token/revoke?token=${gone.refresh_token}`);
      assert.ok(revoke.status === 200 || revoke.status === 204, `${provider}: ${revoke.status} ${revoke.text}`);
      assert.deepEqual((await liveGrants(client, user.id)).length, 1, provider);
      assert.equal((await refresh(provider, client, kept.refresh_token)).status, 200, provider);
    }
    assert.equal((await admin<{ revocations: number }>('GET', '/admin/oauth/stats')).revocations, 3);
    // Revoking again ends nothing more, in each shape's own words.
    assert.equal((await http('POST', '/salesforce/services/oauth2/revoke', { form: { token: 'sbx_rt_unknown' } })).status, 400);
    assert.equal((await http('DELETE', '/hubspot/oauth/v1/refresh-tokens/sbx_rt_unknown')).status, 404);
    assert.equal((await http('POST', '/zoho/us/accounts/oauth/v2/token/revoke?token=sbx_rt_unknown')).json.error, 'invalid_token');
  });

  test('refresh token TTL: Salesforce states refresh_token_expires_in; an expired refresh token is invalid_grant', async () => {
    const { user } = await createAccount();
    await admin('POST', '/admin/oauth/settings', { refreshTokenTtlSeconds: 2 });
    const client = await createClient('salesforce');
    const tokens = await newGrant('salesforce', client, user.id);
    assert.ok((tokens as unknown as { refresh_token_expires_in: number }).refresh_token_expires_in <= 2);
    assert.equal((await refresh('salesforce', client, tokens.refresh_token)).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await refresh('salesforce', client, tokens.refresh_token);
    assert.equal(expired.status, 400);
    assert.equal(expired.json.error, 'invalid_grant');
    assert.deepEqual(await liveGrants(client, user.id), []);
    await admin('POST', '/admin/oauth/settings', { refreshTokenTtlSeconds: null });
    assert.equal((await newGrant('salesforce', client, user.id) as unknown as Record<string, unknown>).refresh_token_expires_in, undefined);
  });

  test('OAuth traffic is counted in request stats (tokens masked) and subject to injected faults', async () => {
    const { user } = await createAccount();
    const client = await createClient('hubspot');
    const code = (await approve(authorizeUrl('hubspot', client), user.id)).searchParams.get('code')!;
    await admin('DELETE', '/admin/stats');
    await admin('POST', '/admin/faults', { pathPrefix: '/hubspot/oauth/v1/token', status: 503, retryAfterSeconds: 2 });

    const faulted = await exchangeCode('hubspot', client, code);
    assert.equal(faulted.status, 503);
    assert.equal(faulted.headers.get('retry-after'), '2');
    const tokens = await exchangeCode('hubspot', client, code);
    assert.equal(tokens.status, 200, 'the faulted attempt did not consume the code');
    await whoAmI('hubspot', tokens.json.access_token);

    const stats = await admin<{ requests: Record<string, number> }>('GET', '/admin/stats');
    assert.deepEqual(stats.requests, { 'GET /hubspot/oauth/v1/access-tokens/:token': 1, 'POST /hubspot/oauth/v1/token': 2 });
  });

  test('bulk grants (benchmark seeding): one account, user and token family each, expiring when asked; they refresh and are counted per second', async () => {
    const client = await createClient('pipedrive', { scopes: SHAPES.pipedrive.scopes });
    const soon = new Date(Date.now() + 1500).toISOString();
    const later = new Date(Date.now() + 3600_000).toISOString();
    const { data: grants } = await admin<{ data: Array<{ accountId: string; userId: string; accessToken: string; refreshToken: string; expiresAt: string; scopes: string[] }> }>(
      'POST',
      '/admin/oauth/grants',
      { clientId: client.clientId, accessTokenExpiresAt: [soon, later] },
    );
    assert.equal(grants.length, 2);
    assert.notEqual(grants[0].accountId, grants[1].accountId, 'each grant is its own CRM account');
    assert.deepEqual(grants[0].scopes, SHAPES.pipedrive.scopes);
    assert.equal(grants[0].expiresAt, soon);
    assert.equal(grants[1].expiresAt, later);
    await admin('DELETE', '/admin/stats');
    assert.equal((await whoAmI('pipedrive', grants[0].accessToken)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    assert.equal((await whoAmI('pipedrive', grants[0].accessToken)).status, 401, 'the first access token expired when asked');
    assert.equal((await whoAmI('pipedrive', grants[1].accessToken)).status, 200);
    const refreshed = await refresh('pipedrive', client, grants[0].refreshToken);
    assert.equal(refreshed.status, 200, 'the refresh token works like a consented one');
    const families = await admin<{ data: Array<{ userId: string; live: boolean }> }>('GET', `/admin/oauth/grants?clientId=${client.clientId}`);
    assert.deepEqual(families.data.map((f) => f.live), [true, true]);

    const { seconds } = await admin<{ seconds: Array<{ second: number; count: number }> }>('GET', '/admin/stats/per-second?pathPrefix=/pipedrive/');
    assert.equal(seconds.reduce((sum, s) => sum + s.count, 0), 4, 'three who-am-I calls and one refresh, by second');
    assert.ok(seconds.every((s) => s.second % 1000 === 0 && s.count > 0));
    assert.deepEqual((await admin<{ seconds: unknown[] }>('GET', '/admin/stats/per-second?pathPrefix=/hubspot/')).seconds, []);

    const past = await http('POST', '/admin/oauth/grants', { json: { clientId: client.clientId, accessTokenExpiresAt: [new Date(Date.now() - 1000).toISOString()] } });
    assert.equal(past.status, 400);
    const unknown = await http('POST', '/admin/oauth/grants', { json: { clientId: 'nope', accessTokenExpiresAt: [later] } });
    assert.equal(unknown.status, 404);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
