/**
 * Graceful stops, as a rolling update does them (SIGTERM, then a deadline):
 * - the API: `/ready` answers 503 at once while it keeps serving for API_SHUTDOWN_DELAY_SECONDS,
 *   then new connections are refused, a slow request in flight still gets its answer, exit 0;
 * - the worker: it stops taking tasks, and an activity it is running finishes on it within
 *   WORKER_SHUTDOWN_GRACE_SECONDS instead of being cancelled and retried elsewhere, its liveness
 *   endpoint says it is draining meanwhile; exit 0.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../libs/temporal/dev-server';
import { activityExecutions } from './support/activity-history';
import { diagnostic } from './support/diagnostic';
import { api, connectedIntegration, sandboxFault, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';
import { TEST_PEER_HOST } from './support/test-network';

const DRAIN_DELAY_SECONDS = 3;

function exitOf(child: { once(event: 'exit', l: (code: number | null, signal: NodeJS.Signals | null) => void): unknown }) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Whether a new connection to the API is refused (not: answered, or reset on a kept-alive one). */
async function connectionRefused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch (err) {
    return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
  }
}

describe('graceful stops', () => {
  let sys: TestSystem;
  let workerHealth: string;
  beforeAll(async () => {
    const workerMetricsPort = await freePort();
    workerHealth = `http://127.0.0.1:${workerMetricsPort}/health`;
    sys = await startSystem({
      extraEnv: {
        API_SHUTDOWN_DELAY_SECONDS: String(DRAIN_DELAY_SECONDS),
        API_SHUTDOWN_TIMEOUT_SECONDS: '30',
        WORKER_SHUTDOWN_GRACE_SECONDS: '20',
        WORKER_METRICS_PORT: String(workerMetricsPort),
        TEMPORAL_SDK_METRICS_PORT: '0',
      },
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test('API SIGTERM: /ready turns 503 first, new connections are refused after the drain delay, a slow request in flight completes, exit 0', async () => {
    const { accountId, integration } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const token = await sandboxToken(sys, accountId);
    // The CRM takes 8 s to validate the token: the API request submitting it waits that long.
    await sandboxFault(sys, { pathPrefix: '/api/v1/me', delayMs: 8000, count: 1 });
    let answeredAt = 0;
    const slow = api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } }).then((r) => {
      answeredAt = Date.now();
      return r;
    });
    await waitFor('the token being validated', async () => (await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA })).body.phase === 'validating');

    const apiProcess = sys.api;
    const exited = exitOf(apiProcess.child);
    const signalledAt = Date.now();
    apiProcess.child.kill('SIGTERM');

    // Readiness goes first, while everything is still served.
    const ready = await waitFor('/ready answering 503', async () => {
      const r = await fetch(`${sys.apiUrl}/ready`);
      return r.status === 503 ? ((await r.json()) as { error: { code: string } }) : undefined;
    }, 2000);
    assert.equal(ready.error.code, 'shutting_down');
    assert.ok(Date.now() - signalledAt < DRAIN_DELAY_SECONDS * 1000, '/ready turned 503 within the drain delay');
    assert.equal((await fetch(`${sys.apiUrl}/health`)).status, 200, 'other requests are still served during the drain delay');

    // Then the listener closes: a new connection is refused while the slow request is still in flight.
    await waitFor('new connections refused', () => connectionRefused(`${sys.apiUrl}/health`), 15_000);
    const refusedAfter = Date.now() - signalledAt;
    assert.ok(refusedAfter >= DRAIN_DELAY_SECONDS * 1000 - 100, `refused only after the drain delay (${refusedAfter} ms)`);
    assert.equal(answeredAt, 0, 'the slow request had not been answered yet when new connections were refused');

    const res = await slow;
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.outcome, 'succeeded');
    const { code, signal } = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'the API exits 0 once drained');
    assert.ok(sys.logs.some((l) => l.startsWith('[api]') && l.includes('/ready answers 503')), 'the API logged its stop');
    diagnostic(`refused after ${refusedAfter} ms, slow request answered after ${answeredAt - signalledAt} ms`);
    await sys.startApi();
  });

  test('worker SIGTERM: a running activity (a webhook delivery to a slow receiver) finishes on it, not cancelled and retried', async () => {
    // A receiver that takes 5 s to answer.
    const arrivals: number[] = [];
    const receiver = http.createServer((req, res) => {
      arrivals.push(Date.now());
      req.resume();
      setTimeout(() => res.writeHead(200).end('ok'), 5000);
    });
    await new Promise<void>((resolve) => receiver.listen(0, TEST_PEER_HOST, () => resolve()));
    try {
      const url = `http://${TEST_PEER_HOST}:${(receiver.address() as AddressInfo).port}/hook`;
      const endpoint = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url, events: ['integrated_account:reauthorized'] } });
      assert.equal(endpoint.status, 201, endpoint.text);

      const { accountId, integration } = await connectedIntegration(sys);
      const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
      const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: await sandboxToken(sys, accountId) } });
      assert.equal(submitted.body.outcome, 'succeeded', submitted.text);
      await waitFor('the delivery at the receiver', async () => arrivals.length > 0, 30_000);

      const worker = sys.worker;
      assert.equal((await fetch(workerHealth)).status, 200, 'healthy while polling');
      const exited = exitOf(worker.child);
      const signalledAt = Date.now();
      worker.child.kill('SIGTERM');
      // Draining (the delivery still runs): its liveness endpoint no longer says ok.
      const draining = await waitFor('the worker reporting that it drains', async () => {
        const res = await fetch(workerHealth).catch(() => undefined);
        return res?.status === 503 ? ((await res.json()) as { status: string; workers: Record<string, string> }) : undefined;
      }, 4000);
      assert.equal(draining.status, 'unavailable');
      assert.ok(Object.values(draining.workers).some((state) => state !== 'RUNNING'), JSON.stringify(draining));
      const { code, signal } = await exited;
      const stoppedAfter = Date.now() - signalledAt;
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'the worker exits 0 once drained');
      assert.ok(stoppedAfter < 20_000, `stopped within the grace time (${stoppedAfter} ms)`);
      // With no worker left, the API still serves: its readiness does not fail (a worker rollout
      // keeps every API replica in its load balancer).
      assert.equal((await fetch(`${sys.apiUrl}/ready`)).status, 200);

      // The attempt that was running when SIGTERM came is the one that delivered.
      const deliveries = await api(sys, 'GET', `/v1/webhook-endpoints/${endpoint.body.id}/deliveries`, { key: sys.keyA });
      assert.equal(deliveries.body.data.length, 1);
      const [delivery] = deliveries.body.data;
      assert.deepEqual({ status: delivery.status, attempts: delivery.attempts, lastStatusCode: delivery.lastStatusCode }, { status: 'delivered', attempts: 1, lastStatusCode: 200 });
      assert.equal(arrivals.length, 1, 'the receiver was called once');
      const runs = await activityExecutions(sys.client, `webhook:${delivery.eventId}:${endpoint.body.id}`, 'deliverWebhook');
      assert.deepEqual(runs.map((r) => [r.status, r.attempt]), [['completed', 1]], JSON.stringify(runs));
      diagnostic(`worker drained and stopped ${stoppedAfter} ms after SIGTERM (receiver answered after 5000 ms)`);
    } finally {
      await sys.startWorker();
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  });
});
