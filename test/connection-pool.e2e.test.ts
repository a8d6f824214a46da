/**
 * Many reauthorizations at once on a small connection pool: no step may take a second pool
 * connection while its transaction holds one, or as many concurrent steps as the pool has
 * connections wait for each other forever (seen: 20 concurrent starts on the default pool of 10
 * hung until the API's deadline, 503). DATABASE_POOL_SIZE=2 makes that show at 8. Two waves: the
 * steps after each swap (the webhook events of the completion, which read the provider while their
 * transaction is open) must leave the pool usable for the next ones.
 */
import assert from 'node:assert/strict';
import { api, connectedIntegration, sandboxToken, startSystem, type TestSystem } from './support/system';

describe('concurrent reauthorizations on a small connection pool', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ extraEnv: { DATABASE_POOL_SIZE: '2' } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test.each([1, 2])('wave %i: 8 API-token reauthorizations started and submitted at once all complete (pool of 2 per process)', async () => {
    const fixtures = [];
    for (let i = 0; i < 8; i++) fixtures.push(await connectedIntegration(sys));
    const tokens = await Promise.all(fixtures.map((f) => sandboxToken(sys, f.accountId)));
    const t0 = Date.now();
    const results = await Promise.all(
      fixtures.map(async (f, i) => {
        const started = await api(sys, 'POST', `/v1/integrations/${f.integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
        assert.equal(started.status, 201, started.text);
        const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: tokens[i] } });
        assert.equal(submitted.status, 200, submitted.text);
        return submitted.body.outcome as string;
      }),
    );
    assert.deepEqual(results, Array(8).fill('succeeded'));
    // Far below the API's 30 s start deadline: nothing waited on a connection that never came.
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
    const versions = await sys.pg.query(`SELECT count(*)::int AS n FROM integrations WHERE id = ANY($1) AND credential_version = 2`, [fixtures.map((f) => f.integration.id)]);
    assert.equal(versions.rows[0].n, 8);
  });
});
