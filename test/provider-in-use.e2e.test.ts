/**
 * A provider in use keeps its origin. Once integrations use a provider, PUT /v1/providers/:key
 * refuses (409 provider_in_use, nothing written) every change that would decide where or how their
 * stored credentials are sent — URLs, token header and prefix, client id, client authentication,
 * PKCE, issuer, account claim, auth type — because the next refresh would send the stored token (or
 * the refresh token with the client secret) to the new place. A local receiver on 127.0.0.1 plays the
 * "new origin" (allow-listed for egress, so a change that got through would really reach it): after
 * every refusal a refresh runs and nothing arrives there. Changes that do not route credentials
 * (display name, entities, package definition, a client-secret rotation of the same client id) still
 * work, and a provider that no integration uses can be changed freely.
 */
import assert from 'node:assert/strict';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount, oauthRoundTrip } from './support/oauth';
import { api, sandboxAccount, startSystem, waitFor, type TestSystem } from './support/system';
import { Receiver } from './support/webhook-receiver';

const TOKENS_KEY = 'acme-tokens';
const OAUTH_KEY = 'acme-oauth';
const UNUSED_KEY = 'acme-unused';

describe('a provider in use keeps its origin (PUT /v1/providers/:key)', () => {
  let sys: TestSystem;
  let newOrigin: Receiver;

  beforeAll(async () => {
    // 127.0.0.1 is allowed as an egress destination: the sandbox CRM and the "new origin" both live there.
    sys = await startSystem({ extraEnv: { EGRESS_ALLOWLIST: '127.0.0.1' } });
    newOrigin = await new Receiver().start();
  });
  afterAll(async () => {
    await newOrigin?.stop();
    await sys?.stop();
  });

  const put = (key: string, body: Record<string, unknown>) => api(sys, 'PUT', `/v1/providers/${key}`, { key: sys.keyA, body });

  /** The whole stored row (settings, sealed secret, updated_at): a refusal must leave every byte of it. */
  async function providerRow(key: string) {
    const r = await sys.pg.query(
      `SELECT p.* FROM provider_configs p JOIN tenants t ON t.id = p.tenant_id WHERE t.name = 'tenant-a' AND p.provider_key = $1`,
      [key],
    );
    assert.equal(r.rowCount, 1, `one row for ${key}`);
    return r.rows[0];
  }

  /** 409 provider_in_use naming `fields` and the way out; the stored row is exactly as before. */
  async function expectRefused(what: string, key: string, body: Record<string, unknown>, fields: string[]) {
    const before = await providerRow(key);
    const r = await put(key, body);
    assert.equal(r.status, 409, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.body.error.code, 'provider_in_use', what);
    const message: string = r.body.error.message;
    for (const f of fields) assert.ok(message.includes(f), `${what}: the message names ${f}: ${message}`);
    assert.match(message, /create a provider under a new key/, what);
    assert.match(message, /PUT \/v1\/providers\/<new-key>/, what);
    assert.match(message, /re-authorize the integrations onto it/, what);
    assert.deepEqual(await providerRow(key), before, `${what}: nothing stored`);
  }

  /** POST /refresh and wait for the round to finish (last check moved; for OAuth also a new version). */
  async function refresh(integrationId: string, opts: { newVersion: boolean }) {
    const before = (await sys.pg.query('SELECT last_checked_at, credential_version FROM integrations WHERE id = $1', [integrationId])).rows[0];
    const r = await api(sys, 'POST', `/v1/integrations/${integrationId}/refresh`, { key: sys.keyA });
    assert.equal(r.status, 202, r.text);
    return waitFor(
      `refresh of ${integrationId}`,
      async () => {
        const now = (await sys.pg.query('SELECT status, last_checked_at, credential_version FROM integrations WHERE id = $1', [integrationId])).rows[0];
        const checked = now.last_checked_at && (!before.last_checked_at || now.last_checked_at.getTime() > before.last_checked_at.getTime());
        const versioned = !opts.newVersion || now.credential_version > before.credential_version;
        return checked && versioned ? now : undefined;
      },
      60_000,
    );
  }

  function assertNothingReachedNewOrigin(what: string) {
    assert.deepEqual(
      newOrigin.requests.map((r) => `${r.path} ${JSON.stringify(r.headers)} ${r.raw}`),
      [],
      `${what}: nothing was sent to the new origin`,
    );
  }

  test('custom API-token provider: URL, header, prefix, account field and auth type are fixed while in use', async () => {
    const original = {
      authType: 'api_token',
      name: 'Acme Tokens',
      validationUrl: `${sys.sandboxUrl}/api/v1/me`,
      tokenHeader: 'Authorization',
      tokenPrefix: 'Bearer ',
      accountIdField: 'account.id',
    };
    const created = await put(TOKENS_KEY, original);
    assert.equal(created.status, 201, created.text);
    const acct = await sandboxAccount(sys, 'Acme Tokens Inc');
    const integration = await api(sys, 'POST', '/v1/integrations', {
      key: sys.keyA,
      body: { provider: TOKENS_KEY, displayName: 'Acme via tokens', credentials: { apiToken: acct.token } },
    });
    assert.equal(integration.status, 201, integration.text);
    assert.equal(integration.body.status, 'active');
    const id = integration.body.id as string;

    const to = newOrigin.url('/v1/whoami');
    await expectRefused('validationUrl', TOKENS_KEY, { validationUrl: to }, ['validationUrl']);
    await expectRefused('tokenHeader', TOKENS_KEY, { tokenHeader: 'X-Api-Key' }, ['tokenHeader']);
    await expectRefused('tokenPrefix', TOKENS_KEY, { tokenPrefix: 'Token ' }, ['tokenPrefix']);
    await expectRefused('empty tokenPrefix', TOKENS_KEY, { tokenPrefix: '' }, ['tokenPrefix']);
    await expectRefused('accountIdField', TOKENS_KEY, { accountIdField: 'user.id' }, ['accountIdField']);
    await expectRefused(
      'authType to oauth2',
      TOKENS_KEY,
      {
        authType: 'oauth2',
        clientId: 'attacker-app',
        clientSecret: 'attacker-secret',
        authorizationUrl: newOrigin.url('/authorize'),
        tokenUrl: newOrigin.url('/token'),
        userInfoUrl: newOrigin.url('/me'),
      },
      ['authType'],
    );
    // A harmless change sent together with a refused one is not half-applied.
    await expectRefused('name with validationUrl', TOKENS_KEY, { name: 'Renamed', validationUrl: to, tokenHeader: 'X-Api-Key' }, ['validationUrl', 'tokenHeader']);

    const afterRefusals = await refresh(id, { newVersion: false });
    assert.equal(afterRefusals.status, 'active');
    assertNothingReachedNewOrigin('API-token refresh after the refusals');

    // Sending the stored values again is no change; display name, entities and package definition may change.
    const same = await put(TOKENS_KEY, original);
    assert.equal(same.status, 200, same.text);
    const renamed = await put(TOKENS_KEY, { name: 'Acme Tokens (EU)', entities: ['contacts', 'companies'], packageVersion: 2, requiredScopes: [] });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.name, 'Acme Tokens (EU)');
    assert.deepEqual(renamed.body.entities, ['contacts', 'companies']);
    assert.equal(renamed.body.packageVersion, 2);
    assert.equal(renamed.body.apiToken.validationUrl, original.validationUrl);
    const row = await providerRow(TOKENS_KEY);
    assert.equal(row.settings.name, 'Acme Tokens (EU)');
    assert.equal(row.settings.validationUrl, original.validationUrl);

    const afterAllowed = await refresh(id, { newVersion: false });
    assert.equal(afterAllowed.status, 'active');
    assertNothingReachedNewOrigin('API-token refresh after the allowed changes');
  });

  test('custom OAuth2 provider: endpoints, client id, client auth, PKCE, issuer and account claim are fixed; the secret rotates', async () => {
    const callback = `${sys.apiUrl}/oauth/callback`;
    const sandboxClient = async (body: Record<string, unknown>) => {
      const res = await fetch(`${sys.sandboxUrl}/admin/oauth/clients`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'hubspot', redirectUris: [callback], ...body }),
      });
      assert.ok(res.ok, `sandbox client: ${res.status}`);
      return (await res.json()) as { clientId: string; clientSecret: string };
    };
    // The sandbox's HubSpot-shaped OAuth server declared as a custom provider, with the sandbox
    // API's who-am-I (it takes OAuth access tokens too) as the userinfo endpoint.
    const app = await sandboxClient({});
    const original = {
      authType: 'oauth2',
      name: 'Acme OAuth',
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      authorizationUrl: `${sys.sandboxUrl}/hubspot/oauth/authorize`,
      tokenUrl: `${sys.sandboxUrl}/hubspot/oauth/v1/token`,
      userInfoUrl: `${sys.sandboxUrl}/api/v1/me`,
      accountIdClaim: 'account.id',
      scopes: ['oauth', 'crm.objects.contacts.read'],
    };
    const created = await put(OAUTH_KEY, original);
    assert.equal(created.status, 201, created.text);
    const pending = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: OAUTH_KEY, config: { syncContacts: true } } });
    assert.equal(pending.status, 201, pending.text);
    const id = pending.body.id as string;
    const user = await crmAccount(sys, 'Acme OAuth Corp');
    const connected = await oauthRoundTrip(sys, id, user.userId);
    assert.equal(connected.status.outcome, 'succeeded', `${JSON.stringify(connected.status)} ${connected.page.html.slice(0, 300)}`);

    const to = (p: string) => newOrigin.url(p);
    await expectRefused('tokenUrl', OAUTH_KEY, { tokenUrl: to('/token') }, ['tokenUrl']);
    await expectRefused('authorizationUrl', OAUTH_KEY, { authorizationUrl: to('/authorize') }, ['authorizationUrl']);
    await expectRefused('userInfoUrl', OAUTH_KEY, { userInfoUrl: to('/userinfo') }, ['userInfoUrl']);
    await expectRefused('issuer', OAUTH_KEY, { issuer: to('') }, ['issuer']);
    await expectRefused('tokenEndpointAuthMethod', OAUTH_KEY, { tokenEndpointAuthMethod: 'client_secret_basic' }, ['tokenEndpointAuthMethod']);
    await expectRefused('pkce off', OAUTH_KEY, { pkce: false }, ['pkce']);
    await expectRefused('accountIdClaim', OAUTH_KEY, { accountIdClaim: 'sub' }, ['accountIdClaim']);
    await expectRefused('authType to api_token', OAUTH_KEY, { authType: 'api_token', validationUrl: to('/whoami'), accountIdField: 'id' }, ['authType']);
    await expectRefused('another client id', OAUTH_KEY, { clientId: 'attacker-app', clientSecret: 'attacker-secret' }, ['clientId']);
    await expectRefused('token URL and secret together', OAUTH_KEY, { tokenUrl: to('/token'), clientSecret: 'new-secret' }, ['tokenUrl']);

    const refreshed = await refresh(id, { newVersion: true });
    assert.equal(refreshed.status, 'active');
    assertNothingReachedNewOrigin('OAuth refresh after the refusals');

    // Rotation: the CRM issues a new secret for the same client id (the old one stops working there),
    // and the tenant stores it. Sent alone or with the same client id, it is accepted.
    const rotated = await sandboxClient({ clientId: app.clientId, clientSecret: `${app.clientSecret}-rotated` });
    assert.equal(rotated.clientId, app.clientId);
    const before = await providerRow(OAUTH_KEY);
    const alone = await put(OAUTH_KEY, { clientSecret: rotated.clientSecret });
    assert.equal(alone.status, 200, alone.text);
    const withSameId = await put(OAUTH_KEY, { clientId: app.clientId, clientSecret: rotated.clientSecret, name: 'Acme OAuth (renamed)', scopeSeparator: ' ' });
    assert.equal(withSameId.status, 200, withSameId.text);
    assert.equal(withSameId.body.name, 'Acme OAuth (renamed)');
    const after = await providerRow(OAUTH_KEY);
    assert.notEqual(after.secret_ciphertext, before.secret_ciphertext, 'the new secret is stored');
    assert.deepEqual(after.settings, { ...before.settings, name: 'Acme OAuth (renamed)', scopeSeparator: ' ' }, 'only the free fields changed');
    // The refresh authenticates with the rotated secret (the sandbox refuses the old one now).
    const afterRotation = await refresh(id, { newVersion: true });
    assert.equal(afterRotation.status, 'active');
    assertNothingReachedNewOrigin('OAuth refresh after the rotation');
  });

  test('catalog OAuth provider: another client id is refused while integrations use it', async () => {
    const app = await configureOAuthApp(sys, 'pipedrive');
    const user = await crmAccount(sys, 'Acme Pipedrive');
    const integration = await connectedOAuthIntegration(sys, 'pipedrive', user.userId);
    assert.equal(integration.status, 'active');
    await expectRefused('catalog client id', 'pipedrive', { clientId: 'another-app', clientSecret: 'another-secret' }, ['clientId']);
    const refreshed = await refresh(integration.id, { newVersion: true });
    assert.equal(refreshed.status, 'active');
    // The same app again (the PUT configureOAuthApp made) is no change.
    const same = await put('pipedrive', { clientId: app.clientId, clientSecret: app.clientSecret });
    assert.equal(same.status, 200, same.text);
  });

  test('a provider without integrations can be changed freely', async () => {
    const created = await put(UNUSED_KEY, {
      authType: 'api_token',
      name: 'Acme Unused',
      validationUrl: `${sys.sandboxUrl}/api/v1/me`,
      accountIdField: 'account.id',
    });
    assert.equal(created.status, 201, created.text);
    const moved = await put(UNUSED_KEY, { validationUrl: newOrigin.url('/v2/whoami'), tokenHeader: 'X-Api-Key', tokenPrefix: '', accountIdField: 'workspace.id' });
    assert.equal(moved.status, 200, moved.text);
    assert.equal(moved.body.apiToken.validationUrl, newOrigin.url('/v2/whoami'));
    assert.equal(moved.body.apiToken.tokenHeader, 'X-Api-Key');
    const toOAuth = await put(UNUSED_KEY, {
      authType: 'oauth2',
      clientId: 'app',
      clientSecret: 'secret',
      authorizationUrl: newOrigin.url('/authorize'),
      tokenUrl: newOrigin.url('/token'),
      userInfoUrl: newOrigin.url('/me'),
    });
    assert.equal(toOAuth.status, 200, toOAuth.text);
    assert.equal(toOAuth.body.authType, 'oauth2');
    const otherClient = await put(UNUSED_KEY, { clientId: 'another-app', clientSecret: 'another-secret', pkce: false, tokenEndpointAuthMethod: 'client_secret_basic' });
    assert.equal(otherClient.status, 200, otherClient.text);
    assert.equal(otherClient.body.oauth2.clientId, 'another-app');
    // Tenant A's integrations of other providers do not count, and the key is free for tenant B too.
    const forB = await api(sys, 'PUT', `/v1/providers/${TOKENS_KEY}`, {
      key: sys.keyB,
      body: { authType: 'api_token', validationUrl: newOrigin.url('/b/whoami'), accountIdField: 'id' },
    });
    assert.equal(forB.status, 201, forB.text);
    const movedB = await api(sys, 'PUT', `/v1/providers/${TOKENS_KEY}`, { key: sys.keyB, body: { validationUrl: newOrigin.url('/b/v2/whoami') } });
    assert.equal(movedB.status, 200, movedB.text);
  });
});
