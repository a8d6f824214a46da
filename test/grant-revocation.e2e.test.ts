/**
 * No token pile-up: every OAuth reauthorization mints a new grant at the CRM, and the engine
 * revokes the one it superseded, so one user's grants to our app never reach the CRM's limits —
 * the sandbox enforces them as the CRMs do (Salesforce revokes a user's oldest approval of an app
 * at the sixth, Zoho deletes the oldest refresh token at the 21st). Against the real processes:
 * Temporal, Postgres, worker, API and the sandbox CRM.
 */
import assert from 'node:assert/strict';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount, oauthRoundTrip, type Shape } from './support/oauth';
import { api, sandboxFault, startSystem, waitFor, type TestSystem } from './support/system';

interface Grant {
  familyId: string;
  live: boolean;
}

async function sandboxJson<T>(sys: TestSystem, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`${sys.sandboxUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  assert.ok(res.ok, `${path}: ${res.status}`);
  return (await res.json()) as T;
}

/** The grants of one user to our app that the CRM still honours. */
async function liveGrants(sys: TestSystem, clientId: string, userId: string): Promise<Grant[]> {
  const { data } = await sandboxJson<{ data: Grant[] }>(sys, `/admin/oauth/grants?clientId=${encodeURIComponent(clientId)}&userId=${encodeURIComponent(userId)}`);
  return data.filter((grant) => grant.live);
}

async function oauthStats(sys: TestSystem): Promise<{ revocations: number; grantLimitRevocations: number }> {
  return sandboxJson(sys, '/admin/oauth/stats');
}

async function auditTypes(sys: TestSystem, integrationId: string): Promise<string[]> {
  const r = await api(sys, 'GET', `/v1/audit-events?integrationId=${integrationId}&limit=100`, { key: sys.keyA });
  assert.equal(r.status, 200, r.text);
  return (r.body.data as Array<{ type: string }>).map((event) => event.type);
}

/** The integration works on its current credentials: a refresh-and-check round leaves it active, and the CRM knows its refresh token. */
async function assertWorking(sys: TestSystem, integrationId: string): Promise<void> {
  const before = (await api(sys, 'GET', `/v1/integrations/${integrationId}`, { key: sys.keyA })).body;
  assert.equal((await api(sys, 'POST', `/v1/integrations/${integrationId}/refresh`, { key: sys.keyA })).status, 202);
  const after = await waitFor('a refresh round on the new grant', async () => {
    const i = (await api(sys, 'GET', `/v1/integrations/${integrationId}`, { key: sys.keyA })).body;
    return i.credentials.version > before.credentials.version ? i : undefined;
  });
  assert.equal(after.status, 'active', JSON.stringify(after));
}

describe('superseded grants are revoked at the CRM', () => {
  let sys: TestSystem;
  const apps: Partial<Record<Shape, { clientId: string }>> = {};
  beforeAll(async () => {
    sys = await startSystem({ extraEnv: { REFRESH_JITTER_SECONDS: '0', REFRESH_SPREAD_PERCENT: '0' } });
    for (const shape of ['salesforce', 'zoho', 'hubspot'] as const) apps[shape] = await configureOAuthApp(sys, shape);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  /** Connects, then re-authorizes `times` times; after each, exactly one grant of the user is live at the CRM. */
  async function reauthorizeRepeatedly(shape: Shape, times: number): Promise<{ integrationId: string; userId: string }> {
    const acct = await crmAccount(sys, `Pile-up ${shape}`);
    const integration = await connectedOAuthIntegration(sys, shape, acct.userId);
    const clientId = apps[shape]!.clientId;
    assert.equal((await liveGrants(sys, clientId, acct.userId)).length, 1);
    for (let n = 1; n <= times; n++) {
      const round = await oauthRoundTrip(sys, integration.id, acct.userId);
      assert.equal(round.status.outcome, 'succeeded', `reauthorization ${n}: ${JSON.stringify(round.status)}`);
      await waitFor(`one live ${shape} grant after reauthorization ${n}`, async () => (await liveGrants(sys, clientId, acct.userId)).length === 1);
    }
    return { integrationId: integration.id, userId: acct.userId };
  }

  test('Salesforce: 7 reauthorizations (more than its 5 approvals per user) keep exactly one live grant, and it is the one in use', async () => {
    const before = await oauthStats(sys);
    const { integrationId, userId } = await reauthorizeRepeatedly('salesforce', 7);
    const after = await oauthStats(sys);
    assert.equal(after.revocations - before.revocations, 7, 'each superseded grant was revoked by the engine');
    assert.equal(after.grantLimitRevocations - before.grantLimitRevocations, 0, 'the CRM never had to revoke one for being over its limit');
    assert.equal((await liveGrants(sys, apps.salesforce!.clientId, userId)).length, 1);
    const i = (await api(sys, 'GET', `/v1/integrations/${integrationId}`, { key: sys.keyA })).body;
    assert.equal(i.credentials.version, 8);
    assert.equal(i.status, 'active');
    await assertWorking(sys, integrationId);
    const types = await auditTypes(sys, integrationId);
    assert.equal(types.filter((t) => t === 'credentials.grant_revoked').length, 7);
    assert.equal(types.filter((t) => t === 'credentials.grant_revocation_failed').length, 0);
  });

  test('Zoho: 22 reauthorizations (more than its 20 refresh tokens per user) keep exactly one live grant', async () => {
    const before = await oauthStats(sys);
    const { integrationId, userId } = await reauthorizeRepeatedly('zoho', 22);
    const after = await oauthStats(sys);
    assert.equal(after.revocations - before.revocations, 22);
    assert.equal(after.grantLimitRevocations - before.grantLimitRevocations, 0);
    assert.equal((await liveGrants(sys, apps.zoho!.clientId, userId)).length, 1);
    await assertWorking(sys, integrationId);
  });

  test('a revocation the CRM fails is retried in the background; the reauthorization succeeded at once; deleting the integration revokes its grant', async () => {
    const acct = await crmAccount(sys, 'Flaky revocation');
    const integration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const clientId = apps.hubspot!.clientId;
    await sandboxFault(sys, { pathPrefix: '/hubspot/oauth/v1/refresh-tokens', status: 503, count: 3 });
    const round = await oauthRoundTrip(sys, integration.id, acct.userId);
    assert.equal(round.status.outcome, 'succeeded', JSON.stringify(round.status));
    // The CRM refused the first attempts, so the old grant is still live for a moment…
    assert.equal((await liveGrants(sys, clientId, acct.userId)).length, 2);
    // …until a retry gets through.
    await waitFor('the superseded grant revoked after the CRM recovered', async () => (await liveGrants(sys, clientId, acct.userId)).length === 1, 60_000);
    const stats = (await sandboxJson<{ requests: Record<string, number> }>(sys, '/admin/stats')).requests;
    assert.ok((stats['DELETE /hubspot/oauth/v1/refresh-tokens/:token'] ?? 0) >= 4, JSON.stringify(stats));
    assert.ok((await auditTypes(sys, integration.id)).includes('credentials.grant_revoked'));
    await assertWorking(sys, integration.id);

    const deleted = await api(sys, 'DELETE', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(deleted.status, 204, deleted.text);
    assert.deepEqual(await liveGrants(sys, clientId, acct.userId), [], 'no grant of a deleted integration stays live at the CRM');
  });

  test('a grant the engine rejects (another account, too few permissions) is revoked at the CRM before the person reads why; the link still works', async () => {
    const acct = await crmAccount(sys, 'Rejected grants');
    const stranger = await crmAccount(sys, 'Someone else');
    // It needs one scope beyond Salesforce's defaults, so that a grant without it still has a refresh token to revoke.
    const created = await api(sys, 'POST', '/v1/integrations', {
      key: sys.keyA,
      body: { provider: 'salesforce', displayName: 'Rejected grants', config: {}, requiredScopes: ['api', 'refresh_token', 'web'] },
    });
    assert.equal(created.status, 201, created.text);
    const connected = await oauthRoundTrip(sys, created.body.id, acct.userId);
    assert.equal(connected.status.outcome, 'succeeded', JSON.stringify(connected.status));
    const integration = created.body as { id: string };
    const clientId = apps.salesforce!.clientId;
    const before = await oauthStats(sys);

    const wrongAccount = await oauthRoundTrip(sys, integration.id, stranger.userId);
    assert.equal(wrongAccount.status.error?.code, 'account_mismatch', JSON.stringify(wrongAccount.status));
    assert.deepEqual(await liveGrants(sys, clientId, stranger.userId), [], "the other account's grant is not left live in our hands");

    const tooFew = await oauthRoundTrip(sys, integration.id, acct.userId, { grantScopes: ['api', 'refresh_token'] });
    assert.equal(tooFew.started.id, wrongAccount.started.id, 'the same reauthorization, a new attempt');
    assert.equal(tooFew.status.error?.code, 'missing_scopes', JSON.stringify(tooFew.status));
    assert.equal((await liveGrants(sys, clientId, acct.userId)).length, 1, 'only the grant in use stays live');
    assert.equal((await oauthStats(sys)).revocations - before.revocations, 2);

    const approved = await oauthRoundTrip(sys, integration.id, acct.userId);
    assert.equal(approved.status.outcome, 'succeeded', JSON.stringify(approved.status));
    await waitFor('the superseded grant revoked', async () => (await liveGrants(sys, clientId, acct.userId)).length === 1);
    await assertWorking(sys, integration.id);
  });

  test('deleting an integration whose CRM is down still deletes it (the failure is in the audit trail)', async () => {
    const acct = await crmAccount(sys, 'Down at delete');
    const integration = await connectedOAuthIntegration(sys, 'salesforce', acct.userId);
    await sandboxFault(sys, { pathPrefix: '/salesforce/services/oauth2/revoke', status: 400, count: 10 });
    const deleted = await api(sys, 'DELETE', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal((await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).status, 404);
    assert.ok((await auditTypes(sys, integration.id)).includes('credentials.grant_revocation_failed'));
    assert.equal((await liveGrants(sys, apps.salesforce!.clientId, acct.userId)).length, 1, 'the CRM never revoked it');
    await sandboxJson(sys, '/admin/faults', { method: 'DELETE' });
  });
});
