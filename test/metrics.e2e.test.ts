/**
 * What operators see, end to end (real Temporal, Postgres, sandbox CRM, worker and API): the
 * business metrics of the API's and the worker's `/metrics` after a known sequence of events, the
 * Temporal SDK's worker metrics next to them, activity log lines that name their tenant,
 * integration and workflow run, and the summary and current details a running reauthorization
 * shows in the Temporal UI.
 */
import assert from 'node:assert/strict';
import { freePort } from '../libs/temporal/dev-server';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount } from './support/oauth';
import { api, connectedIntegration, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';
import { Receiver } from './support/webhook-receiver';

/** One scrape: `name{label="value",…}` (labels sorted) → value. */
type Samples = Map<string, number>;

function sampleKey(name: string, labels: Record<string, string>): string {
  const inner = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(',');
  return inner ? `${name}{${inner}}` : name;
}

/** Parses the Prometheus text format (enough of it for these metrics). */
function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.set(sampleKey(m[1], labels), Number(m[3]));
  }
  return samples;
}

const read = (s: Samples, name: string, labels: Record<string, string> = {}): number => s.get(sampleKey(name, labels)) ?? 0;

/** Every series of a metric, as `{labels} → value` without the name. */
function series(s: Samples, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of s) if (key === name || key.startsWith(`${name}{`)) out[key.slice(name.length) || '{}'] = value;
  return out;
}

/** A counter's change between two scrapes, per series (series that did not move are left out). */
function increments(before: Samples, after: Samples, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const b = series(before, name);
  for (const [labels, value] of Object.entries(series(after, name))) {
    const delta = value - (b[labels] ?? 0);
    if (delta !== 0) out[labels] = delta;
  }
  return out;
}

async function scrape(url: string): Promise<{ text: string; samples: Samples }> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  return { text, samples: parseSamples(text) };
}

/** The worker's JSON log lines (pino), parsed. */
function workerLines(sys: TestSystem): Array<Record<string, unknown>> {
  return sys.logs
    .filter((l) => l.startsWith('[worker] {'))
    .map((l) => {
      try {
        return JSON.parse(l.slice('[worker] '.length)) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

describe('operators: metrics, logs and workflow details', () => {
  let sys: TestSystem;
  let workerMetrics: string;
  let apiMetrics: string;
  const receiver = new Receiver();

  beforeAll(async () => {
    const [workerPort, sdkPort] = [await freePort(), await freePort()];
    sys = await startSystem({
      extraEnv: {
        WORKER_METRICS_PORT: String(workerPort),
        TEMPORAL_SDK_METRICS_PORT: String(sdkPort),
        // The webhook receiver of this test listens on 127.0.0.1.
        EGRESS_ALLOWLIST: '127.0.0.1',
        WEBHOOK_RETRY_INITIAL_SECONDS: '1',
        WORKER_MAX_CACHED_WORKFLOWS: '500',
      },
    });
    workerMetrics = `http://127.0.0.1:${workerPort}/metrics`;
    apiMetrics = `${sys.apiUrl}/metrics`;
    await receiver.start();
    await configureOAuthApp(sys, 'pipedrive');
    await waitFor('the worker metrics listener', async () => (await fetch(workerMetrics).catch(() => undefined))?.ok);
  });
  afterAll(async () => {
    await receiver.stop();
    await sys?.stop();
  });

  /** An API-token reauthorization of `integrationId` that succeeds. */
  const reauthorize = async (integrationId: string, accountId: string) => {
    const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, {
      key: sys.keyA,
      body: { apiToken: await sandboxToken(sys, accountId) },
    });
    assert.equal(submitted.body.outcome, 'succeeded', submitted.text);
    // Closed (and counted) once its workflow has finished.
    await sys.client.workflow.getHandle(`reauth:${integrationId}`).result();
  };

  test('a known sequence moves the business counters by exactly its events; the gauges read the database', async () => {
    const before = (await scrape(workerMetrics)).samples;

    // 1. An OAuth integration (Pipedrive) connects through a reauthorization, then one refresh.
    const owner = await crmAccount(sys, 'Metrics OAuth Co');
    const oauth = await connectedOAuthIntegration(sys, 'pipedrive', owner.userId);
    await sys.client.workflow.getHandle(`reauth:${oauth.id}`).result();
    const refresh = await api(sys, 'POST', `/v1/integrations/${oauth.id}/refresh`, { key: sys.keyA });
    assert.equal(refresh.status, 202, refresh.text);
    await waitFor('the refresh and its check', async () => {
      const now = (await scrape(workerMetrics)).samples;
      return read(now, 'reauth_credential_checks_total', { provider: 'pipedrive', result: 'healthy' }) > read(before, 'reauth_credential_checks_total', { provider: 'pipedrive', result: 'healthy' });
    });

    // 2. Two API-token reauthorizations succeed, a third is cancelled.
    const first = await connectedIntegration(sys);
    await reauthorize(first.integration.id, first.accountId);
    const second = await connectedIntegration(sys);
    const open = await api(sys, 'POST', `/v1/integrations/${second.integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(open.status, 201, open.text);
    const cancelled = await api(sys, 'POST', `/v1/reauthorizations/${open.body.id}/cancel`, { key: sys.keyA, body: { reason: 'metrics test' } });
    assert.equal(cancelled.body.outcome, 'cancelled', cancelled.text);
    await sys.client.workflow.getHandle(`reauth:${second.integration.id}`).result();

    // 3. One webhook delivered: the endpoint only takes `reauthorized`, and only one happens from now on.
    const endpoint = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url: receiver.url('/metrics-hooks'), events: ['integrated_account:reauthorized'] } });
    assert.equal(endpoint.status, 201, endpoint.text);
    await reauthorize(first.integration.id, first.accountId);
    await waitFor('the delivery', async () => receiver.about('/metrics-hooks', first.integration.id, 'integrated_account:reauthorized').length === 1);

    // 4. Revoked credentials block an integration and open an alert; one integration stays pending.
    const revoked = await connectedIntegration(sys);
    const del = await fetch(`${sys.sandboxUrl}/admin/tokens/${encodeURIComponent(revoked.token)}`, { method: 'DELETE' });
    assert.equal(del.status, 200, await del.text());
    await api(sys, 'POST', `/v1/integrations/${revoked.integration.id}/refresh`, { key: sys.keyA });
    await waitFor('blocked', async () => (await api(sys, 'GET', `/v1/integrations/${revoked.integration.id}`, { key: sys.keyA })).body.status === 'blocked');
    const pending = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'sandbox', displayName: 'Not yet connected' } });
    assert.equal(pending.status, 201, pending.text);

    // The delivery is counted once the worker recorded it, right after the receiver answered.
    const after = await waitFor('the delivery counted', async () => {
      const now = (await scrape(workerMetrics)).samples;
      return read(now, 'reauth_webhook_deliveries_total', { result: 'delivered' }) > read(before, 'reauth_webhook_deliveries_total', { result: 'delivered' }) ? now : undefined;
    });

    expect(increments(before, after, 'reauth_reauthorizations_started_total')).toEqual({ '{provider="pipedrive"}': 1, '{provider="sandbox"}': 3 });
    expect(increments(before, after, 'reauth_reauthorizations_finished_total')).toEqual({
      '{outcome="succeeded",provider="pipedrive"}': 1,
      '{outcome="succeeded",provider="sandbox"}': 2,
      '{outcome="cancelled",provider="sandbox"}': 1,
    });
    expect(increments(before, after, 'reauth_reauthorization_duration_seconds_count')).toEqual({
      '{outcome="succeeded",provider="pipedrive"}': 1,
      '{outcome="succeeded",provider="sandbox"}': 2,
      '{outcome="cancelled",provider="sandbox"}': 1,
    });
    expect(increments(before, after, 'reauth_credential_refreshes_total')).toEqual({ '{provider="pipedrive",result="refreshed"}': 1 });
    expect(increments(before, after, 'reauth_credential_checks_total')).toEqual({
      '{provider="pipedrive",result="healthy"}': 1,
      '{provider="sandbox",result="failed"}': 1,
    });
    expect(increments(before, after, 'reauth_webhook_deliveries_total')).toEqual({ '{result="delivered"}': 1 });
    expect(increments(before, after, 'reauth_webhook_delivery_attempts_total')).toEqual({ '{result="delivered"}': 1 });
    expect(increments(before, after, 'reauth_webhook_delivery_lateness_seconds_count')).toEqual({ '{}': 1 });
    // A histogram's sum is the time it measured: a reauthorization here takes seconds, not hours.
    const duration = read(after, 'reauth_reauthorization_duration_seconds_sum', { provider: 'sandbox', outcome: 'succeeded' });
    assert.ok(duration > 0 && duration < 300, `time to reauthorize: ${duration} s`);

    // The API's gauges: integrations by provider and status, open alerts, straight from Postgres.
    const gauges = (await scrape(apiMetrics)).samples;
    expect(series(gauges, 'reauth_integrations')).toEqual({
      '{provider="pipedrive",status="active"}': 1,
      '{provider="pipedrive",status="blocked"}': 0,
      '{provider="pipedrive",status="degraded"}': 0,
      '{provider="pipedrive",status="disabled"}': 0,
      '{provider="pipedrive",status="pending"}': 0,
      '{provider="sandbox",status="active"}': 2,
      '{provider="sandbox",status="blocked"}': 1,
      '{provider="sandbox",status="degraded"}': 0,
      '{provider="sandbox",status="disabled"}': 0,
      '{provider="sandbox",status="pending"}': 1,
    });
    expect(series(gauges, 'reauth_alerts_open')).toEqual({ '{provider="pipedrive"}': 0, '{provider="sandbox"}': 1 });
  });

  test("the worker's /metrics also carries the Temporal SDK's worker metrics and the Node runtime's", async () => {
    const { text } = await scrape(workerMetrics);
    // Core's exporter (merged in): polls, task latencies and slots of this worker.
    assert.match(text, /^temporal_workflow_task_execution_latency\w*\{/m);
    assert.match(text, /^temporal_activity_execution_latency\w*\{/m);
    assert.match(text, /^temporal_worker_task_slots_available\{/m);
    assert.match(text, /^reauth_worker_process_cpu_user_seconds_total /m);
    // The workflow cache is sized by WORKER_MAX_CACHED_WORKFLOWS, and the worker says so at start.
    assert.match(text, /^temporal_sticky_cache_size\{/m);
    assert.ok(
      sys.logs.some((l) => l.startsWith('[worker] ') && l.includes('keeping up to 500 workflows in memory')),
      sys.logs.filter((l) => l.includes('worker polling')).join('\n'),
    );
    // No id in any label of our own metrics (the SDK's carry task queue and workflow type, no ids).
    for (const line of text.split('\n').filter((l) => l.startsWith('reauth_'))) {
      assert.doesNotMatch(line, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, line);
    }
  });

  test("the worker's GET /health (its liveness probe) is ok while each of its workers polls; anything else is a 404", async () => {
    const res = await fetch(workerMetrics.replace(/\/metrics$/, '/health'));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; workers: Record<string, string> };
    assert.equal(body.status, 'ok');
    const queues = Object.keys(body.workers);
    assert.ok(queues.length >= 2, `the main queue and the CRM queues: ${JSON.stringify(body)}`);
    assert.ok(Object.values(body.workers).every((state) => state === 'RUNNING'), JSON.stringify(body));
    assert.equal((await fetch(workerMetrics.replace(/\/metrics$/, '/debug'))).status, 404);
    assert.equal((await fetch(workerMetrics, { method: 'POST' })).status, 404);
  });

  test('activity and workflow log lines name the tenant, the integration and the workflow run', async () => {
    const { integration, accountId } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    const token = await sandboxToken(sys, accountId);
    await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
    const handle = sys.client.workflow.getHandle(`reauth:${integration.id}`);
    await handle.result();
    const { runId } = await handle.describe();
    const tenantId = (await sys.pg.query('SELECT tenant_id FROM integrations WHERE id = $1', [integration.id])).rows[0].tenant_id as string;
    const ofRun = await waitFor('the run logged', async () => {
      const lines = workerLines(sys).filter((l) => l.workflowId === `reauth:${integration.id}` && l.runId === runId);
      return lines.some((l) => l.msg === 'reauthorization finished') ? lines : undefined;
    });

    const expected = { tenantId, integrationId: integration.id, workflowId: `reauth:${integration.id}`, runId };
    // The activities' lines (the SDK's per attempt, and the log context of every activity).
    const beginLines = ofRun.filter((l) => l.activityType === 'beginReauthorization');
    expect(beginLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['Activity started', 'Activity completed']));
    for (const line of ofRun.filter((l) => l.activityType)) expect(line).toMatchObject(expected);
    // The workflow's own lines.
    const finished = ofRun.find((l) => l.msg === 'reauthorization finished')!;
    expect(finished).toMatchObject({ ...expected, workflowType: 'reauthorization' });
    // And never the token, nor the SDK's activity task token.
    for (const line of ofRun) {
      assert.equal(JSON.stringify(line).includes(token), false, 'a log line holds the API token');
      assert.equal('taskToken' in line, false, 'a log line holds the activity task token');
    }
  });

  test('a waiting reauthorization says so in the Temporal UI: summary in the list, what it waits for in its details', async () => {
    const { integration, accountId } = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    const handle = sys.client.workflow.getHandle(`reauth:${integration.id}`);

    const description = await handle.describe();
    assert.equal(await description.staticSummary(), `Re-authorize Sandbox CRM integration "Acme CRM" (API token)`);
    const details = async () => (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
    const until = `${started.body.expiresAt.slice(0, 16).replace('T', ' ')} UTC`;
    assert.equal(await details(), `Waiting for the account owner to submit a new Sandbox CRM API token until ${until}`);

    // A rejected token keeps it waiting, and says why.
    await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: 'sbx_not_a_real_token' } });
    assert.equal(await details(), `Waiting for the account owner to submit a new Sandbox CRM API token until ${until}; the last attempt was rejected: invalid_credentials`);

    const token = await sandboxToken(sys, accountId);
    await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
    await handle.result();
    assert.equal(await details(), 'Succeeded: credential version 2');
    // The texts carry no link token.
    assert.equal(JSON.stringify([await description.staticSummary(), await details()]).includes(started.body.linkToken), false);

    // The refresh workflow it (re)started tells when it acts next.
    const refresh = sys.client.workflow.getHandle(`refresh:${integration.id}`);
    assert.equal(await (await refresh.describe()).staticSummary(), 'Keep the credentials of Sandbox CRM integration "Acme CRM" fresh and checked');
    await waitFor('refresh details', async () => /^Next health check in \d+ (s|min|h) \(at \d\d:\d\d UTC\)$/.test((await refresh.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? ''));
  });
});
