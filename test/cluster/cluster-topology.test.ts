/**
 * What only the cluster topology has (`npm run test:cluster`): a Temporal cluster of four service
 * processes on Postgres, two workers and two APIs behind a round-robin proxy. The e2e core suites
 * run on the same topology through TEST_TOPOLOGY=cluster; this file checks the topology itself —
 * both replicas take work, the search attributes are registered, and the cluster's state lives in
 * Postgres: every Temporal service SIGKILLed and started again, a waiting reauthorization completes.
 */
import assert from 'node:assert/strict';
import { sigkill, api, connectedIntegration, sandboxToken, startSystem, waitFor, type TestSystem } from '../support/system';
import { CLUSTER_SERVICES } from '../../libs/temporal/cluster';
import { SEARCH_ATTRIBUTES } from '../../libs/temporal/search-attributes';

jest.setTimeout(300_000);

describe('cluster topology', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ topology: 'cluster' });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  async function reauthorize(integrationId: string, accountId: string) {
    const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: await sandboxToken(sys, accountId) } });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    return started.body.workflowId as string;
  }

  test('runs four Temporal service processes, two workers and two APIs', () => {
    assert.equal(sys.topology, 'cluster');
    assert.deepEqual(sys.cluster!.processes.map((p) => p.service), [...CLUSTER_SERVICES]);
    for (const p of sys.cluster!.processes) assert.equal(p.process.exitCode, null, `${p.service} is running`);
    assert.equal(sys.workers.length, 2);
    assert.equal(sys.apis.length, 2);
  });

  test("the engine's search attributes are registered on the cluster's namespace", async () => {
    const listed = await sys.client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) assert.ok(name in listed.customAttributes!, `${name} registered`);
    // … and usable in a visibility query on Postgres (SQL visibility), as the Temporal UI does.
    const { integration, accountId } = await connectedIntegration(sys);
    await reauthorize(integration.id, accountId);
    const found = await waitFor('the reauthorization in visibility', async () => {
      const n = await sys.client.workflow.count(`IntegrationId = '${integration.id}' AND ReauthOutcome = 'succeeded'`);
      return n.count > 0 ? n.count : undefined;
    });
    assert.ok(found >= 1);
  });

  test('both APIs answer requests and both workers run workflow tasks', async () => {
    const fixtures = await Promise.all(Array.from({ length: 8 }, () => connectedIntegration(sys)));
    const workflowIds = await Promise.all(fixtures.map((f) => reauthorize(f.integration.id, f.accountId)));
    // Which API answered: each API process logs its requests (pino-http), under its own name.
    const apisThatAnswered = new Set(sys.logs.filter((l) => /^\[api-\d\]/.test(l) && l.includes('/reauthorizations')).map((l) => l.slice(1, 6)));
    assert.deepEqual([...apisThatAnswered].sort(), ['api-1', 'api-2']);
    // Which worker ran each workflow's tasks: the identity (pid@host) in its history.
    const identities = new Set<string>();
    for (const workflowId of workflowIds) {
      for (const event of (await sys.rawClient.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
        const identity = event.workflowTaskCompletedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    const workerPids = sys.workers.map((w) => String(w.child.pid));
    const seen = workerPids.filter((pid) => [...identities].some((id) => id.startsWith(`${pid}@`)));
    assert.deepEqual(seen.sort(), [...workerPids].sort(), `workflow tasks by ${[...identities].join(', ')}`);
  });

  test('every Temporal service SIGKILLed and started again: a waiting reauthorization completes (state is in Postgres)', async () => {
    const { integration, accountId } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    for (const { process } of [...sys.cluster!.processes]) await sigkill(process);
    for (const service of CLUSTER_SERVICES) await sys.cluster!.restart(service);
    const token = await sandboxToken(sys, accountId);
    // The workers and APIs reconnect on their own; until the cluster serves again the API answers 503.
    const submitted = await waitFor(
      'the token accepted after the restart',
      async () => {
        const r = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
        assert.ok([200, 503].includes(r.status), `${r.status} ${r.text}`);
        return r.status === 200 ? r : undefined;
      },
      120_000,
    );
    assert.equal(submitted.body.outcome, 'succeeded');
    const after = await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA });
    assert.equal(after.body.credentials.version, 2);
    assert.equal(after.body.reauthorization, null);
  });
});
