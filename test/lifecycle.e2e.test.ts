/**
 * Integration lifecycle end to end: disable, enable and delete (the `integrationLifecycle`
 * workflow) against real Temporal, Postgres, sandbox CRM, worker and API processes, with a webhook
 * receiver for the events they announce.
 */
import assert from 'node:assert/strict';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount, sandboxStats } from './support/oauth';
import { clearSandboxFaults, sandboxAccountWithRecords } from './support/resync';
import { api, type ApiResponse, connectedIntegration, sandboxFault, startSystem, waitFor, type TestSystem } from './support/system';
import { Receiver } from './support/webhook-receiver';
import { diagnostic } from './support/diagnostic';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function assertError(res: ApiResponse, status: number, code: string, context: string): void {
  assert.equal(res.status, status, `${context}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(res.body ?? {}), ['error'], context);
  assert.equal(res.body.error.code, code, context);
  assert.ok(res.body.error.message.length > 0, context);
}

describe('integration lifecycle: disable, enable, delete', () => {
  let sys: TestSystem;
  const receiver = new Receiver();

  /** RUNNING, COMPLETED, TERMINATED, … of the workflow's latest run, or NOT_FOUND. */
  const workflowStatus = async (workflowId: string): Promise<string> => {
    try {
      return (await sys.client.workflow.getHandle(workflowId).describe()).status.name;
    } catch {
      return 'NOT_FOUND';
    }
  };
  const integration = async (id: string, key = sys.keyA) => api(sys, 'GET', `/v1/integrations/${id}`, { key });
  const lifecycle = async (id: string, op: 'disable' | 'enable', key = sys.keyA) => api(sys, 'POST', `/v1/integrations/${id}/${op}`, { key });
  const remove = async (id: string, key = sys.keyA) => api(sys, 'DELETE', `/v1/integrations/${id}`, { key });
  const events = (integrationId: string, event: string) => receiver.about('/hooks', integrationId, event);
  const audit = async (integrationId: string, type?: string) => {
    const res = await api(sys, 'GET', `/v1/audit-events?integrationId=${integrationId}${type ? `&type=${type}` : ''}&limit=100`, { key: sys.keyA });
    assert.equal(res.status, 200, res.text);
    return res.body.data as Array<{ type: string; outcome: string; actor: { kind: string; id?: string }; details: Record<string, unknown> }>;
  };

  beforeAll(async () => {
    await receiver.start();
    sys = await startSystem({ extraEnv: { WEBHOOK_RETRY_INITIAL_SECONDS: '1', REFRESH_JITTER_SECONDS: '0', REFRESH_SPREAD_PERCENT: '0' } });
    const endpoint = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url: receiver.url('/hooks') } });
    assert.equal(endpoint.status, 201, endpoint.text);
  });
  afterAll(async () => {
    await sys?.stop();
    await receiver.stop();
  });

  test('disable: the refresh workflow ends, the open reauthorization is cancelled, nothing new starts; twice is fine', async () => {
    const acct = await connectedIntegration(sys);
    const id = acct.integration.id as string;
    await waitFor('the refresh workflow', async () => (await workflowStatus(`refresh:${id}`)) === 'RUNNING');
    const reauth = await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(reauth.status, 201, reauth.text);
    assert.equal((await fetch(reauth.body.linkUrl)).status, 200, 'the link works while the reauthorization is open');

    const disabled = await lifecycle(id, 'disable');
    assert.equal(disabled.status, 200, disabled.text);
    assert.equal(disabled.body.id, id);
    assert.equal(disabled.body.status, 'disabled');
    assert.equal(disabled.body.reauthorization, null, 'no open reauthorization');
    assert.match(disabled.body.statusMessage, /turned off/);
    assert.deepEqual((await integration(id)).body, disabled.body);

    // The refresh workflow saw the disabled plan and stopped; the reauthorization was cancelled.
    assert.equal(await workflowStatus(`refresh:${id}`), 'COMPLETED');
    assert.equal(await sys.client.workflow.getHandle(`refresh:${id}`).result(), 'stopped');
    const cancelled = await api(sys, 'GET', `/v1/reauthorizations/${reauth.body.id}`, { key: sys.keyA });
    assert.equal(cancelled.body.outcome, 'cancelled');
    assert.equal(cancelled.body.linkUrl, undefined);
    await waitFor('the reauthorization workflow to close', async () => (await workflowStatus(`reauth:${id}`)) === 'COMPLETED');
    assert.equal((await fetch(reauth.body.linkUrl)).status, 410, 'the cancelled link is refused');

    // Nothing new starts while it is disabled.
    assertError(await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: {} }), 409, 'integration_disabled', 'start reauthorization');
    assertError(await api(sys, 'POST', '/v1/link-tokens', { key: sys.keyA, body: { integrated_account_id: id } }), 409, 'integration_disabled', 'link token');
    assertError(await api(sys, 'POST', `/v1/integrations/${id}/resyncs`, { key: sys.keyA, body: {} }), 409, 'integration_disabled', 'start re-sync');
    assertError(await api(sys, 'POST', `/v1/integrations/${id}/refresh`, { key: sys.keyA }), 409, 'integration_disabled', 'refresh now');
    assert.equal(await workflowStatus(`refresh:${id}`), 'COMPLETED', 'the refused refresh started nothing');

    // Twice: 200 again, nothing announced twice.
    const again = await lifecycle(id, 'disable');
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.status, 'disabled');
    const announced = await waitFor('integrated_account:disabled', async () => events(id, 'integrated_account:disabled')[0]);
    assert.equal(announced.body.payload.integrated_account.status, 'disabled');
    await sleep(1500);
    assert.equal(events(id, 'integrated_account:disabled').length, 1);

    // Who did it, in the audit trail: this API key, once changed and once unchanged.
    const rows = await audit(id, 'integration.disabled');
    assert.deepEqual(
      rows.map((r) => r.outcome),
      ['unchanged', 'succeeded'],
    );
    for (const r of rows) {
      assert.equal(r.actor.kind, 'api_key');
      assert.match(r.actor.id!, /^[0-9a-f-]{36}$/);
    }
    assert.equal(rows[1].details.previousStatus, 'active');
  });

  test('enable: the credentials are checked: active again, or blocked when the CRM revoked the token meanwhile', async () => {
    const acct = await connectedIntegration(sys);
    const id = acct.integration.id as string;
    // Enabling an enabled integration changes nothing.
    const noop = await lifecycle(id, 'enable');
    assert.equal(noop.status, 200, noop.text);
    assert.equal(noop.body.status, 'active');

    assert.equal((await lifecycle(id, 'disable')).body.status, 'disabled');
    const meBefore = (await sandboxStats(sys))['GET /api/v1/me'] ?? 0;
    const enabled = await lifecycle(id, 'enable');
    assert.equal(enabled.status, 200, enabled.text);
    assert.equal(enabled.body.status, 'active');
    assert.equal(enabled.body.statusReason, null);
    assert.ok(((await sandboxStats(sys))['GET /api/v1/me'] ?? 0) > meBefore, 'the token was checked with who-am-I before answering');
    await waitFor('refreshes to resume', async () => (await workflowStatus(`refresh:${id}`)) === 'RUNNING');
    const on = await waitFor('integrated_account:enabled', async () => events(id, 'integrated_account:enabled')[0]);
    assert.equal(on.body.payload.integrated_account.status, 'active');

    // Disabled, the token is revoked in the CRM, enabled: blocked, with an alert and an authentication_error.
    assert.equal((await lifecycle(id, 'disable')).body.status, 'disabled');
    const revoked = await fetch(`${sys.sandboxUrl}/admin/tokens/${acct.token}`, { method: 'DELETE' });
    assert.ok(revoked.ok, `revoke: ${revoked.status}`);
    const blocked = await lifecycle(id, 'enable');
    assert.equal(blocked.status, 200, blocked.text);
    assert.equal(blocked.body.status, 'blocked');
    assert.equal(blocked.body.statusReason, 'invalid_credentials');
    assert.match(blocked.body.statusMessage, /re-authorize/i);
    const alerts = (await api(sys, 'GET', '/v1/alerts', { key: sys.keyA })).body.data.filter((a: { integrationId: string }) => a.integrationId === id);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].code, 'invalid_credentials');
    const enabledEvents = await waitFor('a second integrated_account:enabled', async () => {
      const e = events(id, 'integrated_account:enabled');
      return e.length >= 2 ? e : undefined;
    });
    assert.equal(enabledEvents[1].body.payload.integrated_account.status, 'blocked');
    const authError = await waitFor('authentication_error', async () => events(id, 'integrated_account:authentication_error')[0]);
    assert.equal(authError.body.payload.reason, 'invalid_credentials');
    // A blocked integration can be re-authorized again (it is enabled).
    const reauth = await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(reauth.status, 201, reauth.text);

    const trail = await audit(id);
    assert.deepEqual(
      trail.filter((r) => r.type === 'integration.enabled').map((r) => r.outcome),
      ['succeeded', 'succeeded', 'unchanged'],
    );
    assert.ok(trail.some((r) => r.type === 'integration.status_changed' && r.details.to === 'blocked'));
  });

  test('a disable racing a refresh in flight at the CRM: the refresh finishes, the integration stays disabled, nothing is refreshed afterwards', async () => {
    await configureOAuthApp(sys, 'hubspot', { extra: { accessTokenTtlSeconds: 3600, rotateRefreshTokens: true } });
    const acct = await crmAccount(sys, 'Racing Co');
    const i = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const versionBefore = i.credentials.version as number;
    const tokenCalls = async () => (await sandboxStats(sys))['POST /hubspot/oauth/v1/token'] ?? 0;
    const callsBefore = await tokenCalls();
    // The CRM takes 4 s to answer the next token request.
    await sandboxFault(sys, { pathPrefix: '/hubspot/oauth/v1/token', delayMs: 4000, count: 1 });
    try {
      assert.equal((await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA })).status, 202);
      await waitFor('the refresh to reach the CRM', async () => (await tokenCalls()) > callsBefore, 10_000);
      const t0 = Date.now();
      const disabled = await lifecycle(i.id, 'disable');
      diagnostic(`disable answered after ${Date.now() - t0} ms while the refresh was in flight`);
      assert.equal(disabled.status, 200, disabled.text);
      assert.equal(disabled.body.status, 'disabled');
    } finally {
      await clearSandboxFaults(sys);
    }
    // The refresh that was already at the CRM is kept (its rotated token is the only valid one now).
    const after = (await integration(i.id)).body;
    assert.equal(after.status, 'disabled');
    assert.equal(after.credentials.version, versionBefore + 1);
    assert.equal(await workflowStatus(`refresh:${i.id}`), 'COMPLETED');
    const callsAfter = await tokenCalls();
    await sleep(5000);
    assert.equal(await tokenCalls(), callsAfter, 'no refresh after the disable');
    const still = (await integration(i.id)).body;
    assert.equal(still.status, 'disabled');
    assert.equal(still.credentials.version, versionBefore + 1);
  });

  test('delete during an open reauthorization and a running re-sync: link dead, secrets destroyed, workflows closed, 404 afterwards, audit trail kept', async () => {
    const records = await sandboxAccountWithRecords(sys, { contacts: 2000, companies: 0, deals: 0 }, 'Doomed Corp');
    const created = await api(sys, 'POST', '/v1/integrations', {
      key: sys.keyA,
      body: { provider: 'sandbox', displayName: 'Doomed CRM', credentials: { apiToken: records.token } },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    const secret = await sys.readActiveSecret(id);
    assert.equal(secret.apiToken, records.token);

    // A slow re-sync keeps running, and a reauthorization waits for the account owner.
    await sandboxFault(sys, { pathPrefix: '/api/v1/contacts', delayMs: 1000, count: 1000 });
    let resyncId: string;
    let linkUrl: string;
    let linkToken: string;
    try {
      const resync = await api(sys, 'POST', `/v1/integrations/${id}/resyncs`, { key: sys.keyA, body: {} });
      assert.equal(resync.status, 202, resync.text);
      resyncId = resync.body.id;
      const reauth = await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: {} });
      assert.equal(reauth.status, 201, reauth.text);
      linkUrl = reauth.body.linkUrl;
      linkToken = reauth.body.linkToken;
      assert.equal((await fetch(linkUrl)).status, 200);
      assert.equal(await workflowStatus(`resync:${id}`), 'RUNNING');

      const deleted = await remove(id);
      assert.equal(deleted.status, 204, deleted.text);
      assert.equal(deleted.text, '');
    } finally {
      await clearSandboxFaults(sys);
    }

    // Gone for the API: every route answers 404, a second delete too.
    assertError(await integration(id), 404, 'not_found', 'GET');
    assertError(await api(sys, 'PATCH', `/v1/integrations/${id}`, { key: sys.keyA, body: { displayName: 'x' } }), 404, 'not_found', 'PATCH');
    assertError(await lifecycle(id, 'disable'), 404, 'not_found', 'disable');
    assertError(await lifecycle(id, 'enable'), 404, 'not_found', 'enable');
    assertError(await api(sys, 'POST', `/v1/integrations/${id}/refresh`, { key: sys.keyA }), 404, 'not_found', 'refresh');
    assertError(await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: {} }), 404, 'not_found', 'reauthorize');
    assertError(await api(sys, 'GET', `/v1/resyncs/${resyncId}`, { key: sys.keyA }), 404, 'not_found', 'the re-sync');
    assertError(await remove(id), 404, 'not_found', 'delete again');
    assert.equal((await api(sys, 'GET', '/v1/integrations', { key: sys.keyA })).body.data.some((x: { id: string }) => x.id === id), false);

    // The magic link stops working.
    const link = await fetch(linkUrl);
    assert.ok([404, 410].includes(link.status), `link after delete: ${link.status}`);

    // No secret is left: no credential version with a ciphertext, no sealed link token.
    const creds = await sys.pg.query(`SELECT ciphertext FROM credential_versions WHERE integration_id = $1`, [id]);
    assert.equal(creds.rows.filter((r) => r.ciphertext !== '').length, 0, 'no ciphertext left');
    await assert.rejects(sys.readActiveSecret(id), 'nothing can be decrypted');
    assert.equal((await sys.pg.query(`SELECT 1 FROM reauthorizations WHERE integration_id = $1`, [id])).rowCount, 0);
    const everything = JSON.stringify((await sys.pg.query(`SELECT * FROM audit_events WHERE integration_id = $1`, [id])).rows);
    for (const s of [records.token, linkToken]) assert.equal(everything.includes(s), false, 'no secret in the audit rows');

    // Every workflow of the integration has ended (webhook deliveries of earlier events aside).
    for (const w of ['reauth', 'refresh', 'resync']) assert.notEqual(await workflowStatus(`${w}:${id}`), 'RUNNING', `${w}:${id}`);
    const running: string[] = [];
    for await (const w of sys.client.workflow.list({ query: `IntegrationId = "${id}" AND ExecutionStatus = "Running"` })) {
      if (w.type !== 'webhookDelivery') running.push(`${w.type} ${w.workflowId}`);
    }
    assert.deepEqual(running, []);

    // Announced, with the integration as it was; the audit trail is still readable.
    const gone = await waitFor('integrated_account:deleted', async () => events(id, 'integrated_account:deleted')[0]);
    assert.equal(gone.body.payload.integrated_account.displayName, 'Doomed CRM');
    assert.equal(JSON.stringify(gone.body).includes(records.token), false);
    const trail = await audit(id);
    const types = trail.map((r) => r.type);
    for (const t of ['integration.created', 'reauthorization.started', 'reauthorization.cancelled', 'integration.deleted']) assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
    const deletion = trail.find((r) => r.type === 'integration.deleted')!;
    assert.equal(deletion.actor.kind, 'api_key');
    assert.equal(deletion.outcome, 'succeeded');
    assert.equal(deletion.details.credentialVersions, 1);
  });

  test("tenant isolation: tenant B gets 404 for disabling, enabling and deleting tenant A's integration, and nothing changes", async () => {
    const acct = await connectedIntegration(sys);
    const id = acct.integration.id as string;
    const before = (await integration(id)).body;
    assertError(await lifecycle(id, 'disable', sys.keyB), 404, 'not_found', 'B disables');
    assertError(await lifecycle(id, 'enable', sys.keyB), 404, 'not_found', 'B enables');
    assertError(await remove(id, sys.keyB), 404, 'not_found', 'B deletes');
    assertError(await api(sys, 'POST', `/v1/integrations/not-a-uuid/disable`, { key: sys.keyA }), 404, 'not_found', 'not an id');
    assert.deepEqual((await integration(id)).body, before);
    assert.equal(await workflowStatus(`refresh:${id}`), 'RUNNING');
    const b = await api(sys, 'GET', `/v1/audit-events?integrationId=${id}`, { key: sys.keyB });
    assert.equal(b.status, 200, b.text);
    assert.deepEqual(b.body, { data: [], nextCursor: null });
    assert.equal((await api(sys, 'POST', `/v1/integrations/${id}/disable`)).status, 401);
  });
});
