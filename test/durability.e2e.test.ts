/**
 * Durability: the worker is killed with SIGKILL at awkward moments and restarted; the
 * reauthorization still completes, with exactly one swap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, connectedIntegration, sandboxFault, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';

describe('durability of the reauthorization workflow', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem();
  });
  after(async () => {
    await sys?.stop();
  });

  test('worker SIGKILLed while the workflow waits for the user, then restarted: the reauthorization still completes', async () => {
    const { accountId, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201);

    await sys.killWorker();
    // While no worker runs, the API still answers reads; the workflow waits durably in Temporal.
    const during = await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA });
    assert.equal(during.body.phase, 'awaiting_user');
    await sys.startWorker();

    const token = await sandboxToken(sys, accountId);
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    const swaps = await sys.pg.query(`SELECT count(*)::int AS n FROM audit_events WHERE integration_id = $1 AND type = 'credentials.swapped'`, [integration.id]);
    assert.equal(swaps.rows[0].n, 1);
  });

  test('worker SIGKILLed in the middle of validating a token: after restart the attempt finishes with exactly one swap', async () => {
    const { accountId, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const token = await sandboxToken(sys, accountId);

    // The CRM answers the who-am-I call slowly, so the kill lands while the activity runs.
    await sandboxFault(sys, { pathPrefix: '/api/v1/me', delayMs: 3000, count: 1 });
    const pending = api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
    await waitFor('validation in progress', async () => {
      const r = await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA });
      return r.body.phase === 'validating';
    });
    await sys.killWorker();
    await sys.startWorker();

    // The caller's update survives the crash: Temporal retries the activity on the new worker.
    const submitted = await pending;
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    const versions = await sys.pg.query('SELECT version, state FROM credential_versions WHERE integration_id = $1 ORDER BY version', [integration.id]);
    assert.deepEqual(versions.rows, [
      { version: 1, state: 'superseded' },
      { version: 2, state: 'active' },
    ]);
  });

  test('worker SIGKILLed right after the swap committed: the retried swap is recognised, never applied twice', async () => {
    const { accountId, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const token = await sandboxToken(sys, accountId);
    const pending = api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
    // Kill as soon as the swap is visible in Postgres, before the workflow can record the activity result.
    await waitFor(
      'swap committed',
      async () => {
        const r = await sys.pg.query('SELECT 1 FROM credential_versions WHERE reauthorization_id = $1', [started.body.id]);
        return r.rowCount === 1;
      },
      20_000,
    );
    await sys.killWorker();
    await sys.startWorker();
    const submitted = await pending;
    assert.equal(submitted.status, 200, submitted.text);
    const versions = await sys.pg.query('SELECT version, state FROM credential_versions WHERE integration_id = $1 ORDER BY version', [integration.id]);
    assert.deepEqual(versions.rows, [
      { version: 1, state: 'superseded' },
      { version: 2, state: 'active' },
    ]);
  });
});
