/**
 * Durability: the worker is killed with SIGKILL at awkward moments and restarted; the
 * reauthorization still completes, with exactly one swap.
 */
import assert from 'node:assert/strict';
import { activityExecutions } from './support/activity-history';
import { diagnostic } from './support/diagnostic';
import { api, type ApiResponse, connectedIntegration, sandboxFault, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';

describe('durability of the reauthorization workflow', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
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
    const reauthorizationId: string = started.body.id;
    const token = await sandboxToken(sys, accountId);

    // The kill must land after the swap's transaction committed in Postgres but before Temporal
    // recorded the activity's completion — a window of microseconds. A deferred trigger widens it:
    // it sleeps at COMMIT time, so the worker sits waiting for its COMMIT to return. The worker is
    // frozen (SIGSTOP) during that sleep, the commit then completes without it, and it is killed
    // before it could report anything: Temporal must run the swap again on the new worker.
    const trigger = `hold_swap_commit_${integration.id.replace(/\W/g, '_')}`;
    await sys.pg.query(`
      CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.reauthorization_id = ${sys.pg.escapeLiteral(reauthorizationId)} AND NEW.state = 'active' THEN PERFORM pg_sleep(3); END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER ${trigger} AFTER INSERT OR UPDATE ON credential_versions
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${trigger}();`);
    let pending: Promise<ApiResponse>;
    try {
      pending = api(sys, 'POST', `/v1/reauthorizations/${reauthorizationId}/api-token`, { key: sys.keyA, body: { apiToken: token } });
      await waitFor(
        'the swap committing (held by the trigger)',
        async () => (await sys.pg.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`)).rowCount === 1,
        20_000,
      );
      sys.worker.child.kill('SIGSTOP');
      await waitFor(
        'swap committed',
        async () => {
          const r = await sys.pg.query('SELECT 1 FROM credential_versions WHERE reauthorization_id = $1', [reauthorizationId]);
          return r.rowCount === 1;
        },
        20_000,
      );
      await sys.killWorker();
    } finally {
      await sys.pg.query(`DROP TRIGGER IF EXISTS ${trigger} ON credential_versions; DROP FUNCTION IF EXISTS ${trigger}();`);
    }
    await sys.startWorker();
    const submitted = await pending;
    assert.equal(submitted.status, 200, submitted.text);
    const versions = await sys.pg.query('SELECT version, state FROM credential_versions WHERE integration_id = $1 ORDER BY version', [integration.id]);
    assert.deepEqual(versions.rows, [
      { version: 1, state: 'superseded' },
      { version: 2, state: 'active' },
    ]);

    // The history proves the retry happened and was recognised: one swap asked for, run a second
    // time by Temporal after the kill, and that second run found the committed swap.
    const swaps = await activityExecutions(sys.client, `reauth:${integration.id}`, 'swapCredentials');
    assert.equal(swaps.length, 1, `the workflow scheduled swapCredentials once: ${JSON.stringify(swaps)}`);
    assert.equal(swaps[0].status, 'completed');
    if (swaps[0].local) {
      // A local activity runs inside the workflow task: the killed worker's task timed out and the
      // next worker ran the task again, the swap with it, as a first attempt of its own (the
      // marker is written only by the run that finished). alreadySwapped below proves the re-run.
      assert.equal(swaps[0].attempt, 1);
    } else {
      assert.equal(swaps[0].attempt, 2, 'the kill landed between the commit and Temporal recording it, so Temporal ran the swap again');
    }
    assert.equal((swaps[0].result as { alreadySwapped: boolean }).alreadySwapped, true, 'the retried swap found the committed one and applied nothing');
    const swapEvents = await sys.pg.query(`SELECT count(*)::int AS n FROM audit_events WHERE integration_id = $1 AND type = 'credentials.swapped'`, [integration.id]);
    assert.equal(swapEvents.rows[0].n, 1, 'one credentials.swapped event');
    diagnostic(`swapCredentials closed on attempt ${swaps[0].attempt} with ${JSON.stringify(swaps[0].result)}`);
  });
});
