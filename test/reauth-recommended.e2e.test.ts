/**
 * Warn before it breaks: a refresh token that expires by itself (here a Salesforce org policy the
 * sandbox states as `refresh_token_expires_in`, a minute long) is recorded as the credentials'
 * `refreshTokenExpiresAt`, and REAUTH_RECOMMENDED_BEFORE_SECONDS ahead of it the engine raises a
 * warning alert and `integrated_account:reauthorization_recommended` — once, however many rounds
 * follow — and a successful reauthorization clears it. Real processes throughout.
 */
import assert from 'node:assert/strict';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount, oauthRoundTrip } from './support/oauth';
import { api, startSystem, waitFor, type TestSystem } from './support/system';
import { Receiver } from './support/webhook-receiver';

const POLICY_SECONDS = 60;
const WARN_BEFORE_SECONDS = 48; // the warning is due 12 s after the grant

async function alertsOf(sys: TestSystem, integrationId: string, key = sys.keyA): Promise<Array<{ code: string; level: string; message: string }>> {
  const r = await api(sys, 'GET', '/v1/alerts', { key });
  assert.equal(r.status, 200, r.text);
  return r.body.data.filter((a: { integrationId: string }) => a.integrationId === integrationId);
}

describe('reauthorization recommended before the refresh token expires', () => {
  let sys: TestSystem;
  const receiver = new Receiver();
  beforeAll(async () => {
    sys = await startSystem({ extraEnv: { REAUTH_RECOMMENDED_BEFORE_SECONDS: String(WARN_BEFORE_SECONDS), REFRESH_JITTER_SECONDS: '0', REFRESH_SPREAD_PERCENT: '0', WEBHOOK_RETRY_INITIAL_SECONDS: '1' } });
    await receiver.start();
    const endpoint = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url: receiver.url('/hooks') } });
    assert.equal(endpoint.status, 201, endpoint.text);
    const settings = await fetch(`${sys.sandboxUrl}/admin/oauth/settings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshTokenTtlSeconds: POLICY_SECONDS }),
    });
    assert.equal(settings.status, 200);
    await configureOAuthApp(sys, 'salesforce');
  });
  afterAll(async () => {
    await receiver.stop();
    await sys?.stop();
  });

  test('refreshTokenExpiresAt is shown; the warning alert and event come once, before expiry; a reauthorization clears it', async () => {
    const acct = await crmAccount(sys, 'Policy Org');
    const connectedAt = Date.now();
    const integration = await connectedOAuthIntegration(sys, 'salesforce', acct.userId);
    const expiresAt = Date.parse(integration.credentials.refreshTokenExpiresAt);
    assert.ok(Math.abs(expiresAt - (connectedAt + POLICY_SECONDS * 1000)) < 15_000, `refreshTokenExpiresAt ${integration.credentials.refreshTokenExpiresAt}`);
    assert.deepEqual(await alertsOf(sys, integration.id), [], 'nothing to warn about yet');

    const event = await waitFor(
      'the reauthorization_recommended event',
      async () => receiver.about('/hooks', integration.id, 'integrated_account:reauthorization_recommended')[0],
      45_000,
    );
    const raisedAt = Date.now();
    assert.ok(raisedAt >= expiresAt - WARN_BEFORE_SECONDS * 1000 - 1000, 'not before the warning period began');
    assert.ok(raisedAt < expiresAt, 'before the refresh token expired');
    assert.equal(event.body.payload.reason, 'refresh_token_expiring');
    assert.equal(event.body.payload.integrated_account.credentials.refreshTokenExpiresAt, integration.credentials.refreshTokenExpiresAt);
    assert.equal(event.body.payload.integrated_account.status, 'active', 'it keeps working meanwhile');
    assert.doesNotMatch(event.raw, /sbx_(at|rt)_/, 'no token in the webhook body');
    const [alert] = await waitFor('the warning alert', async () => {
      const alerts = await alertsOf(sys, integration.id);
      return alerts.length ? alerts : undefined;
    });
    assert.equal(alert.level, 'warning');
    assert.equal(alert.code, 'reauthorization_recommended');
    assert.match(alert.message, /Re-authorize/);
    assert.deepEqual(await alertsOf(sys, integration.id, sys.keyB), [], 'other tenants see nothing');

    // More rounds on the same grant (each refresh writes a new credential version): no repeat.
    for (let n = 0; n < 2; n++) {
      const before = (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body.credentials.version;
      assert.equal((await api(sys, 'POST', `/v1/integrations/${integration.id}/refresh`, { key: sys.keyA })).status, 202);
      await waitFor('a refresh', async () => (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body.credentials.version > before);
    }
    const refreshedView = (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body;
    assert.equal(refreshedView.credentials.refreshTokenExpiresAt, integration.credentials.refreshTokenExpiresAt, 'a refresh keeps the policy expiry of its refresh token');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(receiver.about('/hooks', integration.id, 'integrated_account:reauthorization_recommended').length, 1);
    assert.equal((await alertsOf(sys, integration.id)).length, 1);
    const audit = (await api(sys, 'GET', `/v1/audit-events?integrationId=${integration.id}&type=integration.reauthorization_recommended`, { key: sys.keyA })).body.data;
    assert.equal(audit.length, 1);

    // A reauthorization: a new grant with a new expiry; the warning is resolved.
    const round = await oauthRoundTrip(sys, integration.id, acct.userId);
    assert.equal(round.status.outcome, 'succeeded', JSON.stringify(round.status));
    assert.deepEqual(await alertsOf(sys, integration.id), []);
    const after = (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body;
    assert.ok(Date.parse(after.credentials.refreshTokenExpiresAt) > expiresAt, 'the new grant expires later');
  });
});
