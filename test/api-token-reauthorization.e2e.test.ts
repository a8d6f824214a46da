/**
 * API-token re-authorization end to end: real Temporal dev server, Postgres, sandbox CRM over HTTP,
 * worker and API processes.
 */
import assert from 'node:assert/strict';
import { api, connectedIntegration, sandboxAccount, sandboxFault, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';

describe('API-token reauthorization', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test('a valid token is validated and swapped: version +1, config untouched, status active', async () => {
    const config = { syncContacts: true, fieldMappings: { email: 'Email', phone: 'Phone' } };
    const { accountId, integration } = await connectedIntegration(sys, config);
    assert.equal(integration.status, 'active');
    assert.equal(integration.credentials.version, 1);
    assert.equal(integration.credentials.accountId, accountId);

    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201);
    assert.equal(started.body.phase, 'awaiting_user');
    assert.equal(started.body.workflowId, `reauth:${integration.id}`);
    assert.match(started.body.linkToken, /^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    assert.equal(started.body.linkUrl.endsWith(`/connect/${started.body.linkToken}`), true);

    // The integration shows the reauthorization in progress but keeps serving version 1.
    const during = await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.deepEqual(during.body.reauthorization, { id: started.body.id, phase: 'awaiting_user' });
    assert.equal(during.body.credentials.version, 1);
    assert.equal(during.body.status, 'active');

    const newToken = await sandboxToken(sys, accountId);
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: newToken } });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    assert.equal(submitted.body.phase, 'completed');

    const afterSwap = await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(afterSwap.body.credentials.version, 2);
    assert.equal(afterSwap.body.credentials.accountId, accountId);
    assert.deepEqual(afterSwap.body.config, config);
    assert.equal(afterSwap.body.displayName, integration.displayName);
    assert.equal(afterSwap.body.reauthorization, null);
    assert.equal(afterSwap.body.status, 'active');

    // Exactly one active version; the previous one superseded.
    const versions = await sys.pg.query('SELECT version, state FROM credential_versions WHERE integration_id = $1 ORDER BY version', [integration.id]);
    assert.deepEqual(versions.rows, [
      { version: 1, state: 'superseded' },
      { version: 2, state: 'active' },
    ]);
    // The stored secret is ciphertext, not the token.
    const stored = await sys.pg.query('SELECT ciphertext FROM credential_versions WHERE integration_id = $1', [integration.id]);
    for (const r of stored.rows) assert.equal(String(r.ciphertext).includes(newToken), false);

    // The workflow closed and is findable by IntegrationId (search attribute) for operators.
    const handle = sys.client.workflow.getHandle(`reauth:${integration.id}`);
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    const found = await waitFor('visibility', async () => {
      const out: string[] = [];
      for await (const wf of sys.client.workflow.list({ query: `IntegrationId = '${integration.id}' AND ReauthOutcome = 'succeeded'` })) out.push(wf.workflowId);
      return out.length ? out : undefined;
    });
    assert.deepEqual(found, [`reauth:${integration.id}`]);
  });

  test('an invalid token answers 422 invalid_credentials, changes nothing, and a retry in the same reauthorization succeeds', async () => {
    const { accountId, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const before = await sys.pg.query('SELECT * FROM integrations WHERE id = $1', [integration.id]);
    const beforeCreds = await sys.pg.query('SELECT id, version, state, ciphertext FROM credential_versions WHERE integration_id = $1', [integration.id]);

    const bad = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: 'sbx_not_a_real_token' } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, 'invalid_credentials');
    assert.ok(bad.body.error.message.length > 20);

    const afterBad = await sys.pg.query('SELECT * FROM integrations WHERE id = $1', [integration.id]);
    const afterBadCreds = await sys.pg.query('SELECT id, version, state, ciphertext FROM credential_versions WHERE integration_id = $1', [integration.id]);
    assert.deepEqual(afterBad.rows, before.rows);
    assert.deepEqual(afterBadCreds.rows, beforeCreds.rows);

    const status = await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA });
    assert.equal(status.body.phase, 'awaiting_user');
    assert.equal(status.body.outcome, null);
    assert.equal(status.body.error.code, 'invalid_credentials');
    assert.equal(status.body.attempts, 1);

    // A token of a different CRM account is refused as well, with its own reason.
    const other = await sandboxAccount(sys, 'Other Corp');
    const mismatch = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: other.token } });
    assert.equal(mismatch.status, 422);
    assert.equal(mismatch.body.error.code, 'account_mismatch');

    const good = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, {
      key: sys.keyA,
      body: { apiToken: await sandboxToken(sys, accountId) },
    });
    assert.equal(good.status, 200, good.text);
    assert.equal(good.body.outcome, 'succeeded');
    assert.equal(good.body.attempts, 3);
    const final = await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(final.body.credentials.version, 2);

    // Finished means finished: another token is refused without touching anything.
    const late = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: 'x' } });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'reauthorization_closed');
  });

  test('concurrent start requests for one integration share one workflow', async () => {
    const { integration } = await connectedIntegration(sys);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} })),
    );
    const ids = new Set(responses.map((r) => r.body.id));
    assert.equal(ids.size, 1, `expected one reauthorization, got ${[...ids].join(', ')}`);
    assert.deepEqual(responses.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
    const rows = await sys.pg.query('SELECT count(*)::int AS n FROM reauthorizations WHERE integration_id = $1', [integration.id]);
    assert.equal(rows.rows[0].n, 1);
    const runs: string[] = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowId = 'reauth:${integration.id}'` })) runs.push(wf.runId);
    assert.equal(runs.length, 1);
  });

  test('cancel closes the reauthorization and leaves the integration as it was', async () => {
    const { integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const cancelled = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/cancel`, { key: sys.keyA, body: {} });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.outcome, 'cancelled');
    assert.equal(cancelled.body.linkToken, undefined);
    const again = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/cancel`, { key: sys.keyA, body: {} });
    assert.equal(again.status, 409);
    const i = await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(i.body.credentials.version, 1);
    assert.equal(i.body.reauthorization, null);
    // A new reauthorization can start after a cancelled one.
    const next = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(next.status, 201);
    assert.notEqual(next.body.id, started.body.id);
  });

  test('an unanswered reauthorization expires on its timer', async () => {
    const { accountId, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: { expiresInSeconds: 10 } });
    assert.equal(started.status, 201);
    const expired = await waitFor(
      'expiry',
      async () => {
        const r = await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA });
        return r.body.outcome === 'expired' ? r.body : undefined;
      },
      30_000,
    );
    assert.equal(expired.error.code, 'expired');
    assert.equal(expired.phase, 'completed');
    const late = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, {
      key: sys.keyA,
      body: { apiToken: await sandboxToken(sys, accountId) },
    });
    assert.equal(late.status, 409);
    const i = await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(i.body.credentials.version, 1);
  });

  test('a CRM that fails transiently is retried; one that stays down answers 503 crm_unavailable and changes nothing', async () => {
    const { accountId, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const token = await sandboxToken(sys, accountId);

    await sandboxFault(sys, { pathPrefix: '/api/v1/me', status: 503, count: 10 });
    const down = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
    assert.equal(down.status, 503, down.text);
    assert.equal(down.body.error.code, 'crm_unavailable');
    await fetch(`${sys.sandboxUrl}/admin/faults`, { method: 'DELETE' });
    const unchanged = await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(unchanged.body.credentials.version, 1);

    await sandboxFault(sys, { pathPrefix: '/api/v1/me', status: 503, count: 2 });
    const ok = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.outcome, 'succeeded');
  });

  test('operations endpoints: /health, /ready, /metrics (route labels only, no ids or tokens), /docs', async () => {
    const { token, integration } = await connectedIntegration(sys);
    assert.equal((await api(sys, 'GET', '/health')).status, 200);
    const ready = await api(sys, 'GET', '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.info.postgres.status, 'up');
    assert.equal(ready.body.info.temporal.status, 'up');
    await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    const metrics = await fetch(`${sys.apiUrl}/metrics`);
    const text = await metrics.text();
    assert.equal(metrics.status, 200);
    assert.match(text, /reauth_api_http_requests_total\{method="GET",route="\/v1\/integrations\/:id",status="2xx"\} \d+/);
    assert.match(text, /reauth_api_process_cpu_seconds_total/);
    assert.equal(text.includes(integration.id), false);
    assert.equal(text.includes(token), false);
    const docs = await fetch(`${sys.apiUrl}/docs`);
    assert.equal(docs.status, 200);
  });
});
