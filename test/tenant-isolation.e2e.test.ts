/**
 * Tenant isolation: an API key sees its own tenant only; another tenant's ids
 * answer 404 exactly like ids that do not exist, and no attempt through them changes anything.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statusQuery } from '../libs/contracts';
import { api, type ApiResponse, connectedIntegration, sandboxToken, startSystem, type TestSystem } from './support/system';

/** 404 not_found in the one error shape — the same answer as for an id that never existed. */
function assertNotFound(res: ApiResponse, context: string): void {
  assert.equal(res.status, 404, `${context}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(res.body ?? {}), ['error'], context);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message'], context);
  assert.equal(res.body.error.code, 'not_found', context);
}

describe('tenant isolation', () => {
  let sys: TestSystem;
  let integrationA: any;
  let reauthA: any;
  let accountIdA: string;
  const snapshot = async () => ({
    integration: (await sys.pg.query('SELECT * FROM integrations WHERE id = $1', [integrationA.id])).rows,
    credentials: (await sys.pg.query('SELECT id, version, state, ciphertext FROM credential_versions WHERE integration_id = $1 ORDER BY version', [integrationA.id])).rows,
    reauthorizations: (await sys.pg.query('SELECT * FROM reauthorizations WHERE integration_id = $1 ORDER BY created_at', [integrationA.id])).rows,
  });

  beforeAll(async () => {
    sys = await startSystem();
    const connected = await connectedIntegration(sys, { syncContacts: true, fieldMappings: { email: 'Email' } });
    integrationA = connected.integration;
    accountIdA = connected.accountId;
    const started = await api(sys, 'POST', `/v1/integrations/${integrationA.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    reauthA = started.body;
    await new Promise((r) => setTimeout(r, 300)); // let the workflow's first writes settle
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test("tenant A's list contains its integration; tenant B's list is empty", async () => {
    const listA = await api(sys, 'GET', '/v1/integrations', { key: sys.keyA });
    assert.equal(listA.status, 200);
    assert.deepEqual(
      listA.body.data.map((i: { id: string }) => i.id),
      [integrationA.id],
    );
    assert.deepEqual(listA.body.data[0].reauthorization, { id: reauthA.id, phase: 'awaiting_user' });

    const listB = await api(sys, 'GET', '/v1/integrations', { key: sys.keyB });
    assert.equal(listB.status, 200);
    assert.deepEqual(listB.body, { data: [] });
  });

  test("tenant B cannot read, change, reauthorize, submit to or cancel tenant A's objects, and nothing changes", async () => {
    const before = await snapshot();
    const viewBefore = await api(sys, 'GET', `/v1/integrations/${integrationA.id}`, { key: sys.keyA });
    const reauthBefore = await api(sys, 'GET', `/v1/reauthorizations/${reauthA.id}`, { key: sys.keyA });
    const realToken = await sandboxToken(sys, accountIdA);
    const attempts: Array<[string, string, unknown]> = [
      ['GET', `/v1/integrations/${integrationA.id}`, undefined],
      ['GET', `/v1/integrations/${integrationA.id.toUpperCase()}`, undefined],
      ['PATCH', `/v1/integrations/${integrationA.id}`, { displayName: 'Owned by B', config: { stolen: true } }],
      ['PATCH', `/v1/integrations/${integrationA.id}`, {}],
      ['POST', `/v1/integrations/${integrationA.id}/reauthorizations`, {}],
      ['POST', `/v1/integrations/${integrationA.id}/reauthorizations`, { fullResync: true, expiresInSeconds: 10, allowAccountChange: true }],
      ['GET', `/v1/reauthorizations/${reauthA.id}`, undefined],
      ['POST', `/v1/reauthorizations/${reauthA.id}/api-token`, { apiToken: realToken }],
      ['POST', `/v1/reauthorizations/${reauthA.id}/api-token`, { apiToken: 'sbx_not_a_real_token' }],
      ['POST', `/v1/reauthorizations/${reauthA.id}/cancel`, {}],
      ['POST', `/v1/reauthorizations/${reauthA.id}/cancel`, { reason: 'B says so' }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await api(sys, method, path, { key: sys.keyB, body });
      assertNotFound(res, `B: ${method} ${path}`);
      // Indistinguishable from an id that does not exist at all.
      const unknown = await api(sys, method, path.replace(integrationA.id, randomUUID()).replace(integrationA.id.toUpperCase(), randomUUID()).replace(reauthA.id, randomUUID()), {
        key: sys.keyB,
        body,
      });
      assert.equal(unknown.status, 404);
      assert.deepEqual(res.body, unknown.body, `B: ${method} ${path} reveals that the id exists`);
      // Nothing of A's leaks into B's answer.
      assert.equal(res.text.includes(integrationA.displayName), false);
      assert.equal(res.text.includes(accountIdA), false);
      assert.equal(res.text.includes(reauthA.linkToken), false);
    }
    // Concurrent attempts change nothing either.
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        i % 2
          ? api(sys, 'POST', `/v1/reauthorizations/${reauthA.id}/api-token`, { key: sys.keyB, body: { apiToken: realToken } })
          : api(sys, 'POST', `/v1/integrations/${integrationA.id}/reauthorizations`, { key: sys.keyB, body: {} }),
      ),
    );
    for (const res of burst) assertNotFound(res, 'B: concurrent attempt');

    assert.deepEqual(await snapshot(), before, "tenant A's rows changed");

    // A still sees its integration and reauthorization exactly as before.
    const integration = await api(sys, 'GET', `/v1/integrations/${integrationA.id}`, { key: sys.keyA });
    assert.equal(integration.status, 200);
    assert.equal(integration.body.displayName, integrationA.displayName);
    assert.deepEqual(integration.body.config, integrationA.config);
    assert.equal(integration.body.status, 'active');
    assert.equal(integration.body.credentials.version, 1);
    assert.equal(integration.body.credentials.accountId, accountIdA);
    assert.deepEqual(integration.body.reauthorization, { id: reauthA.id, phase: 'awaiting_user' });
    assert.deepEqual(integration.body, viewBefore.body);

    const reauth = await api(sys, 'GET', `/v1/reauthorizations/${reauthA.id}`, { key: sys.keyA });
    assert.equal(reauth.status, 200);
    assert.equal(reauth.body.phase, 'awaiting_user');
    assert.equal(reauth.body.outcome, null);
    assert.equal(reauth.body.error, null);
    assert.equal(reauth.body.attempts, 0);
    assert.equal(reauth.body.linkToken, reauthA.linkToken);
    assert.equal(reauth.body.expiresAt, reauthA.expiresAt);
    assert.equal(reauth.body.fullResync, false);
    assert.deepEqual(reauth.body, reauthBefore.body);

    // The workflow itself is still waiting for the user, with no update applied.
    const status = await sys.client.workflow.getHandle(`reauth:${integrationA.id}`).query(statusQuery);
    assert.equal(status.phase, 'awaiting_user');
    assert.equal(status.outcome, null);
    assert.equal(status.attempts, 0);

    // B's own view stays empty: none of its attempts created anything for it.
    const listB = await api(sys, 'GET', '/v1/integrations', { key: sys.keyB });
    assert.deepEqual(listB.body, { data: [] });
    const rowsB = await sys.pg.query(
      `SELECT (SELECT count(*)::int FROM integrations i JOIN tenants t ON t.id = i.tenant_id WHERE t.name = 'tenant-b') AS integrations,
              (SELECT count(*)::int FROM reauthorizations r JOIN tenants t ON t.id = r.tenant_id WHERE t.name = 'tenant-b') AS reauthorizations`,
    );
    assert.deepEqual(rowsB.rows[0], { integrations: 0, reauthorizations: 0 });
  });

  test("B's own integrations stay B's: A cannot see them, and each list holds only its own", async () => {
    const createdB = await api(sys, 'POST', '/v1/integrations', { key: sys.keyB, body: { provider: 'sandbox', displayName: 'B pending' } });
    assert.equal(createdB.status, 201, createdB.text);
    assertNotFound(await api(sys, 'GET', `/v1/integrations/${createdB.body.id}`, { key: sys.keyA }), 'A: GET B integration');
    assertNotFound(await api(sys, 'PATCH', `/v1/integrations/${createdB.body.id}`, { key: sys.keyA, body: { displayName: 'x' } }), 'A: PATCH B integration');
    assertNotFound(await api(sys, 'POST', `/v1/integrations/${createdB.body.id}/reauthorizations`, { key: sys.keyA, body: {} }), 'A: reauthorize B');

    const listA = await api(sys, 'GET', '/v1/integrations', { key: sys.keyA });
    assert.deepEqual(
      listA.body.data.map((i: { id: string }) => i.id),
      [integrationA.id],
    );
    const listB = await api(sys, 'GET', '/v1/integrations', { key: sys.keyB });
    assert.deepEqual(
      listB.body.data.map((i: { id: string }) => i.id),
      [createdB.body.id],
    );
    const b = await api(sys, 'GET', `/v1/integrations/${createdB.body.id}`, { key: sys.keyB });
    assert.equal(b.body.displayName, 'B pending');
    assert.equal(b.body.reauthorization, null);
  });

  test("A's reauthorization still completes for A after B's attempts", async () => {
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${reauthA.id}/api-token`, {
      key: sys.keyA,
      body: { apiToken: await sandboxToken(sys, accountIdA) },
    });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    assert.equal(submitted.body.attempts, 1);
    const integration = await api(sys, 'GET', `/v1/integrations/${integrationA.id}`, { key: sys.keyA });
    assert.equal(integration.body.credentials.version, 2);
    assert.deepEqual(integration.body.config, integrationA.config);
    // And B still cannot see the finished one.
    assertNotFound(await api(sys, 'GET', `/v1/reauthorizations/${reauthA.id}`, { key: sys.keyB }), 'B: GET finished reauthorization');
  });
});
