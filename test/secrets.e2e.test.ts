/**
 * No secret in Temporal history, logs or API responses: the submitted token's bytes must not appear
 * in the raw (undecoded) workflow history, in any line our processes logged, or in any answer.
 */
import assert from 'node:assert/strict';
import { historyBytes } from './support/history-payloads';
import { api, connectedIntegration, sandboxToken, startSystem, type TestSystem } from './support/system';

describe('secrets stay secret', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test('tokens are not readable in Temporal history, logs or API responses', async () => {
    const { accountId, token: firstToken, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const wrongToken = `sbx_wrong_${'q'.repeat(24)}`;
    const newToken = await sandboxToken(sys, accountId);
    const responses = [
      started,
      await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: wrongToken } }),
      await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: newToken } }),
      await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA }),
      await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA }),
      await api(sys, 'GET', '/v1/integrations', { key: sys.keyA }),
    ];
    assert.equal(responses[2].status, 200);
    const secrets = [firstToken, wrongToken, newToken];

    for (const r of responses) for (const s of secrets) assert.equal(r.text.includes(s), false, `a response contains a token`);

    // Raw history, read without the codec: payloads are ciphertext.
    const workflowIds = [`reauth:${integration.id}`, `connect:${integration.id}`];
    for (const id of workflowIds) {
      const raw = sys.rawClient.workflow.getHandle(id);
      await raw.result().catch(() => undefined);
      const history = await raw.fetchHistory();
      assert.ok((history.events ?? []).length > 5, `history of ${id} was read`);
      const bytes = historyBytes(history);
      for (const s of secrets) assert.equal(bytes.includes(Buffer.from(s)), false, `history of ${id} contains a token`);
      // And the codec really is in the way: encrypted payloads are marked as such.
      assert.ok(bytes.includes(Buffer.from('binary/encrypted')), `history of ${id} has encrypted payloads`);
    }
    // Sanity check of the method: the decoded result (through the codec) is readable.
    const decoded = await sys.client.workflow.getHandle(`reauth:${integration.id}`).result();
    assert.equal(decoded.outcome, 'succeeded');

    // Give the processes a moment to flush, then search every line they logged.
    await new Promise((r) => setTimeout(r, 500));
    const logText = sys.logs.join('\n');
    assert.ok(logText.includes(started.body.id), 'logs were captured');
    for (const s of [...secrets, started.body.linkToken, sys.keyA]) assert.equal(logText.includes(s), false, 'a secret was logged');
  });

  test('the link token is stored hashed, credentials encrypted', async () => {
    const { integration, token } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const dump = await sys.pg.query(
      `SELECT (SELECT json_agg(r) FROM reauthorizations r WHERE r.integration_id = $1)::text AS reauths,
              (SELECT json_agg(c) FROM credential_versions c WHERE c.integration_id = $1)::text AS creds,
              (SELECT json_agg(a) FROM audit_events a WHERE a.integration_id = $1)::text AS audit,
              (SELECT json_agg(k) FROM api_keys k)::text AS keys`,
      [integration.id],
    );
    const text = JSON.stringify(dump.rows[0]);
    assert.equal(text.includes(started.body.linkToken), false);
    assert.equal(text.includes(token), false);
    assert.equal(text.includes(sys.keyA), false);
  });
});
