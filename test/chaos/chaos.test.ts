/**
 * Crash anything, lose nothing. `npm run test:chaos` (not part of `npm test`).
 *
 * N operations (CHAOS_OPERATIONS, default 200) run against the real system — API-token and OAuth
 * reauthorizations, refreshes of short-lived OAuth tokens with refresh-token rotation, full
 * re-syncs, and the webhook deliveries they all cause to a receiver that goes down and up — while,
 * at random moments (seeded: CHAOS_SEED, printed), one of two workers sharing the task queue, the
 * API, the Temporal dev server (restarted on the same SQLite file and port) or the system's own
 * Postgres server is SIGKILLed and started again, and the sandbox CRM serves random 503s, 429s and
 * slow answers. Afterwards everything is checked from Postgres, Temporal and the CRM:
 *
 * - every operation reached a final state, and none was lost (what the API said happened is in Postgres);
 * - no double swap: each integration's credential versions are 1..n without a gap, exactly one is active
 *   and it is the integration's current one; no reauthorization or refresh wrote two versions;
 * - no lost refresh-token rotation: each OAuth integration's stored refresh token is the one the CRM
 *   holds live for its grant, and the integration is active;
 * - every webhook event was delivered at least once;
 * - Temporal holds no failed, timed-out or still running workflow (other than the refresh loops).
 *
 * One summary line says what happened; the test fails when any of these is broken.
 */
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { seededRandom } from '../../apps/sandbox-crm/faults/faults.service';
import { CHAOS_SECTION, loadSections } from '../../libs/config/config';
import { beginAttempt, configureOAuthApp, consent, crmAccount, followCallback } from '../support/oauth';
import { sandboxAccountWithRecords } from '../support/resync';
import { sandboxToken, startSystem, type TestSystem } from '../support/system';
import { Receiver } from '../support/webhook-receiver';

const settings = loadSections({ chaos: CHAOS_SECTION }).chaos;
const OPERATIONS = settings.operations;
const SEED = settings.seed ?? Math.floor(Math.random() * 2 ** 31);
const CONCURRENCY = settings.concurrency;
/** Seconds a rotated-away refresh token stays usable at the sandbox CRM (the lost-answer window; see the README). */
const REUSE_GRACE_SECONDS = 600;
/** Access tokens of the OAuth integrations live this long, so they are refreshed every few seconds. */
const ACCESS_TOKEN_TTL_SECONDS = 20;
const OPERATION_DEADLINE_MS = 15 * 60_000;

type Kind = 'apiTokenReauth' | 'oauthReauth' | 'refresh' | 'resync';
type ProcessKind = 'worker' | 'api' | 'temporal' | 'postgres' | 'receiver';

interface Operation {
  n: number;
  kind: Kind;
  integrationId: string;
  /** Final state as the API reported it: 'succeeded', 'completed', 'refreshed', or a failure's words. */
  final?: string;
  /** Reauthorization or re-sync id. */
  id?: string;
  /** API-token reauthorizations: the token submitted. */
  token?: string;
  /** Refreshes: the credential version before. */
  fromVersion?: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CHAOS_VERBOSE=1: a line per kill and per finished operation on stderr, to watch a run. */
const progress = (line: string) => {
  if (process.env.CHAOS_VERBOSE) process.stderr.write(`chaos ${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

describe('chaos: crash anything, lose nothing', () => {
  let sys: TestSystem;
  const receiver = new Receiver();
  let receiverPort = 0;
  let pool: Pool;
  const rng = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  const kills: Record<ProcessKind, number> = { worker: 0, api: 0, temporal: 0, postgres: 0, receiver: 0 };
  /** Exits nobody asked for (a process that gave up by itself), restarted by the harness like a supervisor would. */
  const selfExits: Record<string, number> = {};
  /** API answers of 500 or more, by status, seen by the clients (a 503 while Temporal or Postgres is down is expected; a 500 is not). */
  const serverErrors: Record<string, number> = {};

  beforeAll(async () => {
    console.log(`chaos: seed=${SEED} operations=${OPERATIONS} concurrency=${CONCURRENCY} (repeat with CHAOS_SEED=${SEED})`);
    sys = await startSystem({
      workers: 2,
      ownPostgres: true,
      restartableTemporal: true,
      extraEnv: {
        LOG_LEVEL: 'warn',
        REFRESH_JITTER_SECONDS: '0',
        HEALTH_CHECK_INTERVAL_SECONDS: '3600',
        WEBHOOK_RETRY_INITIAL_SECONDS: '1',
      },
    });
    pool = new Pool({ connectionString: sys.databaseUrl, max: 4 });
    pool.on('error', () => undefined);
    await receiver.start();
    receiverPort = receiver.port;
  }, 600_000);

  afterAll(async () => {
    await receiver.stop();
    await pool?.end().catch(() => undefined);
    await sys?.stop();
  }, 120_000);

  /** The API, as a client that keeps trying while it is down or answers 5xx. */
  async function call(method: string, path: string, body?: unknown, deadline = Date.now() + OPERATION_DEADLINE_MS): Promise<{ status: number; body: any; text: string }> {
    for (;;) {
      try {
        const res = await fetch(`${sys.apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${sys.keyA}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        if (res.status >= 500) {
          serverErrors[res.status] = (serverErrors[res.status] ?? 0) + 1;
          if (res.status !== 503) diagnosticLine(`${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
        } else if (res.status !== 429) {
          return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
        }
      } catch {
        // API down (killed, starting) or the answer was lost: ask again.
      }
      if (Date.now() > deadline) throw new Error(`${method} ${path}: no answer before the deadline`);
      await sleep(500 + rng() * 1000);
    }
  }

  /** A browser request to one of our pages, tried again while the API is down. */
  async function browser<T>(what: () => Promise<T>, ok: (value: T) => boolean, deadline: number): Promise<T> {
    for (;;) {
      try {
        const value = await what();
        if (ok(value)) return value;
      } catch {
        // API down, or it answered something the browser cannot use yet
      }
      if (Date.now() > deadline) throw new Error('browser: no usable answer before the deadline');
      await sleep(500 + rng() * 1000);
    }
  }

  const diagnostics: string[] = [];
  function diagnosticLine(line: string): void {
    if (diagnostics.length < 200) diagnostics.push(line);
  }

  async function reauthorization(id: string, deadline: number): Promise<any> {
    return (await call('GET', `/v1/reauthorizations/${id}`, undefined, deadline)).body;
  }

  async function waitForOutcome(id: string, deadline: number, stillOpen: () => Promise<boolean> = async () => false): Promise<any> {
    for (;;) {
      const r = await reauthorization(id, deadline);
      if (r?.outcome) return r;
      if (await stillOpen()) return r;
      if (Date.now() > deadline) throw new Error(`reauthorization ${id} still ${r?.phase}`);
      await sleep(1000);
    }
  }

  async function startReauthorization(integrationId: string, deadline: number): Promise<any> {
    for (;;) {
      const r = await call('POST', `/v1/integrations/${integrationId}/reauthorizations`, {}, deadline);
      if (r.status === 201 || r.status === 200) return r.body;
      if (r.status !== 409) throw new Error(`start reauthorization: ${r.status} ${r.text}`);
      await sleep(1000); // the previous one is still closing
    }
  }

  async function apiTokenReauth(op: Operation, accountId: string): Promise<void> {
    const deadline = Date.now() + OPERATION_DEADLINE_MS;
    op.token = await sandboxToken(sys, accountId);
    const started = await startReauthorization(op.integrationId, deadline);
    op.id = started.id;
    for (;;) {
      const r = await call('POST', `/v1/reauthorizations/${started.id}/api-token`, { apiToken: op.token }, deadline);
      if (r.status === 200) {
        op.final = r.body.outcome;
        return;
      }
      // A lost answer: the submit may have gone through. Look before trying again.
      const now = await reauthorization(started.id, deadline);
      if (now.outcome) {
        op.final = now.outcome;
        if (now.outcome !== 'succeeded') op.error = JSON.stringify(now.error);
        return;
      }
      if (Date.now() > deadline) throw new Error(`api-token submit: ${r.status} ${r.text}`);
      await sleep(1000); // e.g. 503 crm_unavailable while the CRM served faults: the reauthorization stays open
    }
  }

  async function oauthReauth(op: Operation, userId: string): Promise<void> {
    const deadline = Date.now() + OPERATION_DEADLINE_MS;
    const started = await startReauthorization(op.integrationId, deadline);
    op.id = started.id;
    for (let attempt = 0; ; attempt++) {
      const before = await reauthorization(started.id, deadline);
      if (before.outcome) {
        op.final = before.outcome;
        if (before.outcome !== 'succeeded') op.error = JSON.stringify(before.error);
        return;
      }
      // The person: "Continue to HubSpot", approve, come back through the callback.
      const begun = await browser(() => beginAttempt(started.linkUrl), () => true, deadline);
      const redirectTo = await consent(sys, begun.authorizeUrl, userId);
      await browser(() => followCallback(redirectTo, begun), (page) => page.status < 500, deadline);
      // Done when the run closes; a new attempt (the exchange failed for good) means: try again.
      const after = await waitForOutcome(started.id, deadline, async () => {
        const r = await reauthorization(started.id, deadline);
        return r.phase === 'awaiting_user' && r.attempts > before.attempts;
      });
      if (after.outcome) {
        op.final = after.outcome;
        if (after.outcome !== 'succeeded') op.error = JSON.stringify(after.error);
        return;
      }
      if (attempt > 20) throw new Error('OAuth reauthorization: no success after 20 attempts');
    }
  }

  async function refresh(op: Operation): Promise<void> {
    const deadline = Date.now() + OPERATION_DEADLINE_MS;
    op.fromVersion = (await call('GET', `/v1/integrations/${op.integrationId}`, undefined, deadline)).body.credentials.version;
    const r = await call('POST', `/v1/integrations/${op.integrationId}/refresh`, undefined, deadline);
    if (r.status !== 202) throw new Error(`refresh: ${r.status} ${r.text}`);
    for (;;) {
      const now = (await call('GET', `/v1/integrations/${op.integrationId}`, undefined, deadline)).body;
      if (now.credentials.version > op.fromVersion!) {
        op.final = 'refreshed';
        return;
      }
      if (now.status === 'blocked') {
        op.final = 'blocked';
        op.error = now.statusReason;
        return;
      }
      if (Date.now() > deadline) throw new Error('refresh: the version did not move');
      await sleep(1000);
    }
  }

  async function resync(op: Operation): Promise<void> {
    const deadline = Date.now() + OPERATION_DEADLINE_MS;
    const r = await call('POST', `/v1/integrations/${op.integrationId}/resyncs`, {}, deadline);
    if (r.status !== 202 && r.status !== 200) throw new Error(`resync: ${r.status} ${r.text}`);
    op.id = r.body.id;
    for (;;) {
      const now = await call('GET', `/v1/resyncs/${op.id}?waitSeconds=10`, undefined, deadline);
      if (now.status === 200 && now.body.status !== 'running') {
        op.final = now.body.status;
        return;
      }
      if (Date.now() > deadline) throw new Error('resync still running');
    }
  }

  test(`${OPERATIONS} operations survive SIGKILLs of every process and CRM faults`, async () => {
    const t0 = Date.now();
    // --- Set-up, before any chaos: an OAuth app with short-lived, rotating tokens; pools of integrations.
    const adminPost = async (path: string, body: unknown) => {
      const res = await fetch(`${sys.sandboxUrl}${path}`, { method: path.endsWith('/random') ? 'PUT' : 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      assert.ok(res.ok, `${path}: ${res.status} ${text}`);
      return JSON.parse(text) as any;
    };
    await adminPost('/admin/oauth/settings', { refreshTokenReuseGraceSeconds: REUSE_GRACE_SECONDS });
    await configureOAuthApp(sys, 'hubspot', { extra: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS, rotateRefreshTokens: true } });
    const endpoint = await call('POST', '/v1/webhook-endpoints', { url: receiver.url('/hooks') });
    assert.equal(endpoint.status, 201, endpoint.text);

    const apiPool: Array<{ integrationId: string; accountId: string }> = [];
    const oauthPool: Array<{ integrationId: string; userId: string }> = [];
    const apiPoolSize = Math.max(2, Math.min(24, Math.ceil(OPERATIONS / 8)));
    const oauthPoolSize = Math.max(2, Math.min(10, Math.ceil(OPERATIONS / 20)));
    for (let i = 0; i < apiPoolSize; i++) {
      const acct = await crmAccount(sys, `Chaos API ${i}`);
      const created = await call('POST', '/v1/integrations', { provider: 'sandbox', displayName: `Chaos API ${i}`, credentials: { apiToken: acct.token } });
      assert.equal(created.status, 201, created.text);
      apiPool.push({ integrationId: created.body.id, accountId: acct.accountId });
    }
    for (let i = 0; i < oauthPoolSize; i++) {
      const acct = await crmAccount(sys, `Chaos OAuth ${i}`);
      const created = await call('POST', '/v1/integrations', { provider: 'hubspot', displayName: `Chaos HubSpot ${i}` });
      assert.equal(created.status, 201, created.text);
      const op: Operation = { n: -1, kind: 'oauthReauth', integrationId: created.body.id };
      await oauthReauth(op, acct.userId);
      assert.equal(op.final, 'succeeded', `connect OAuth integration ${i}: ${op.error}`);
      oauthPool.push({ integrationId: created.body.id, userId: acct.userId });
    }
    const records = await sandboxAccountWithRecords(sys, { contacts: 120, companies: 40, deals: 40 }, 'Chaos Records');
    const resyncIntegration = await call('POST', '/v1/integrations', { provider: 'sandbox', displayName: 'Chaos Records', credentials: { apiToken: records.token } });
    assert.equal(resyncIntegration.status, 201, resyncIntegration.text);

    // --- The operations, drawn from the seed; each kind at least once.
    const kinds: Kind[] = ['apiTokenReauth', 'oauthReauth', 'refresh', 'resync'];
    const operations: Operation[] = [];
    for (let n = 0; n < OPERATIONS; n++) {
      const roll = rng();
      const kind: Kind = n < kinds.length ? kinds[n]! : roll < 0.45 ? 'apiTokenReauth' : roll < 0.65 ? 'oauthReauth' : roll < 0.95 ? 'refresh' : 'resync';
      const integrationId =
        kind === 'apiTokenReauth' ? pick(apiPool).integrationId : kind === 'resync' ? resyncIntegration.body.id : pick(oauthPool).integrationId;
      operations.push({ n, kind, integrationId });
    }
    // Reauthorizations and re-syncs of one integration run one after the other (as its users would);
    // refreshes need no turn.
    const turns = new Map<string, Promise<void>>();
    const inTurn = (integrationId: string, work: () => Promise<void>): Promise<void> => {
      const previous = turns.get(integrationId) ?? Promise.resolve();
      const next = previous.then(work, work);
      turns.set(integrationId, next.catch(() => undefined));
      return next;
    };
    const runOperation = async (op: Operation) => {
      try {
        if (op.kind === 'refresh') return await refresh(op);
        await inTurn(op.integrationId, async () => {
          if (op.kind === 'apiTokenReauth') await apiTokenReauth(op, apiPool.find((p) => p.integrationId === op.integrationId)!.accountId);
          else if (op.kind === 'oauthReauth') await oauthReauth(op, oauthPool.find((p) => p.integrationId === op.integrationId)!.userId);
          else await resync(op);
        });
      } catch (err) {
        op.error = (err as Error).message;
      }
      progress(`#${op.n} ${op.kind} ${op.integrationId}: ${op.final ?? 'NO FINAL STATE'} ${op.error ?? ''}`);
    };

    // --- Chaos: CRM faults all along, one kill at a time at random moments.
    await adminPost('/admin/faults/random', {
      seed: SEED,
      pathPrefixes: ['/api/v1/', '/hubspot/oauth/v1/'],
      serverErrorRate: 0.05,
      tooManyRequestsRate: 0.05,
      retryAfterSeconds: 1,
      latencyRate: 0.1,
      maxLatencyMs: 2500,
    });
    let chaosOn = true;
    const supervising = { on: true };
    /** Processes the chaos loop has killed and not yet restarted (the supervisor leaves them alone). */
    const killing = new Set<string>();
    // A worker or API that exits by itself is started again, as a supervisor would (and counted).
    const supervisor = (async () => {
      while (supervising.on) {
        await sleep(1000);
        for (let i = 0; i < sys.workers.length; i++) {
          const w = sys.workers[i]!;
          if (w.child.exitCode !== null && !killing.has(`worker-${i}`)) {
            selfExits.worker = (selfExits.worker ?? 0) + 1;
            diagnosticLine(`worker ${i + 1} exited by itself (code ${w.child.exitCode}); restarting it`);
            await sys.startWorker(i);
          }
        }
        if (sys.api.child.exitCode !== null && !killing.has('api')) {
          selfExits.api = (selfExits.api ?? 0) + 1;
          diagnosticLine(`api exited by itself (code ${sys.api.child.exitCode}); restarting it`);
          await sys.startApi({ wait: false });
        }
      }
    })();
    const victims: ProcessKind[] = ['worker', 'worker', 'worker', 'api', 'api', 'temporal', 'temporal', 'postgres', 'postgres', 'receiver', 'receiver'];
    // Every kind is killed at least once, whatever N: first each of them in a seeded order, then at random.
    const firstRound: ProcessKind[] = (['worker', 'api', 'temporal', 'postgres', 'receiver'] as const).map((kind) => ({ kind, key: rng() })).sort((a, b) => a.key - b.key).map((entry) => entry.kind);
    let killCount = 0;
    const chaos = (async () => {
      while (chaosOn || killCount < firstRound.length) {
        await sleep(1000 + rng() * 4000);
        const victim = killCount < firstRound.length ? firstRound[killCount]! : pick(victims);
        killCount += 1;
        const downMs = 300 + rng() * 4000;
        kills[victim] += 1;
        progress(`kill ${victim}, down for ${Math.round(downMs)} ms`);
        if (victim === 'worker') {
          const index = Math.floor(rng() * sys.workers.length);
          killing.add(`worker-${index}`);
          await sys.killWorker(index);
          await sleep(downMs);
          await sys.startWorker(index);
          killing.delete(`worker-${index}`);
        } else if (victim === 'api') {
          killing.add('api');
          await sys.killApi();
          await sleep(downMs);
          await sys.startApi({ wait: false });
          killing.delete('api');
        } else if (victim === 'temporal') {
          await sys.killTemporal();
          await sleep(downMs);
          await sys.startTemporal();
        } else if (victim === 'postgres') {
          await sys.killPostgres();
          await sleep(downMs);
          await sys.startPostgres();
        } else {
          await receiver.stop();
          await sleep(downMs * 3);
          await receiver.start(receiverPort);
        }
      }
    })();

    // At most CONCURRENCY operations in flight at once.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, operations.length) }, async () => {
        while (next < operations.length) {
          const op = operations[next++]!;
          await runOperation(op);
        }
      }),
    );
    chaosOn = false;
    await chaos; // after the first round of kills at the latest
    supervising.on = false;
    await supervisor;
    const faults = (await (await fetch(`${sys.sandboxUrl}/admin/faults/random`, { method: 'DELETE' })).json()) as { injected: { serverErrors: number; tooManyRequests: number; latency: number } };
    for (let i = 0; i < sys.workers.length; i++) if (sys.workers[i]!.child.exitCode !== null) await sys.startWorker(i);
    if (sys.api.child.exitCode !== null) await sys.startApi();

    // --- Settle: the webhook deliveries still retrying get their turn (the receiver is up for good now).
    const settleDeadline = Date.now() + 10 * 60_000;
    let undelivered: Array<{ id: string; event_type: string }>;
    for (;;) {
      const events = (await pool.query(`SELECT id, type AS event_type FROM webhook_events WHERE tenant_id = (SELECT tenant_id FROM webhook_endpoints LIMIT 1)`)).rows as Array<{ id: string; event_type: string }>;
      const received = new Set(receiver.requests.filter((r) => r.answered < 300).map((r) => r.headers['webhook-id']));
      undelivered = events.filter((e) => !received.has(e.id));
      if (undelivered.length === 0 || Date.now() > settleDeadline) break;
      await sleep(2000);
    }
    const eventCount = Number((await pool.query('SELECT count(*)::int AS n FROM webhook_events')).rows[0].n);
    // … and whatever else is still closing (a reauthorization announcing itself, a delivery) finishes.
    const stillRunning = async () => {
      const running: string[] = [];
      for await (const wf of sys.client.workflow.list({ query: `ExecutionStatus = "Running" AND WorkflowType != "tokenRefresh"` })) running.push(`${wf.type} ${wf.workflowId} running`);
      return running;
    };
    while ((await stillRunning()).length > 0 && Date.now() < settleDeadline) await sleep(2000);

    // --- Checks.
    const notFinal = operations.filter((op) => op.final === undefined);
    const failedOps = operations.filter((op) => op.final !== undefined && !['succeeded', 'refreshed', 'completed'].includes(op.final));
    const lost: string[] = notFinal.map((op) => `#${op.n} ${op.kind} ${op.integrationId}: no final state (${op.error ?? '?'})`);
    const doubled: string[] = [];
    // What the API reported as done is in Postgres.
    for (const op of operations) {
      if ((op.kind === 'apiTokenReauth' || op.kind === 'oauthReauth') && op.final === 'succeeded') {
        const rows = (await pool.query(`SELECT count(*)::int AS n FROM credential_versions WHERE reauthorization_id = $1 AND version IS NOT NULL`, [op.id])).rows[0].n;
        if (rows === 0) lost.push(`#${op.n} ${op.kind}: reauthorization ${op.id} succeeded but wrote no credential version`);
        if (rows > 1) doubled.push(`#${op.n} ${op.kind}: reauthorization ${op.id} wrote ${rows} credential versions`);
      }
    }
    // The last token each API-token integration was given is the one it holds.
    for (const { integrationId } of apiPool) {
      const last = operations.filter((op) => op.kind === 'apiTokenReauth' && op.integrationId === integrationId && op.final === 'succeeded').pop();
      if (!last) continue;
      const active = await sys.readActiveSecret(integrationId).catch(() => ({}) as { apiToken?: string });
      if (active.apiToken !== last.token) lost.push(`${integrationId}: the active API token is not the one of its last reauthorization (#${last.n})`);
    }
    // Versions contiguous, exactly one active, the integration's current one; no refresh applied twice.
    const integrationRows = (await pool.query(`SELECT id, credential_version, status, status_reason FROM integrations`)).rows as Array<{ id: string; credential_version: number | null; status: string; status_reason: string | null }>;
    for (const integration of integrationRows) {
      const versions = (await pool.query(`SELECT version, state, metadata->>'refreshId' AS refresh_id FROM credential_versions WHERE integration_id = $1 AND version IS NOT NULL ORDER BY version`, [integration.id])).rows as Array<{ version: number; state: string; refresh_id: string | null }>;
      versions.forEach((v, i) => {
        if (v.version !== i + 1) doubled.push(`${integration.id}: versions not contiguous: ${versions.map((x) => x.version).join(',')}`);
      });
      const active = versions.filter((v) => v.state === 'active');
      if (active.length !== 1 || active[0]!.version !== integration.credential_version) {
        doubled.push(`${integration.id}: ${active.length} active versions (${active.map((v) => v.version).join(',')}), current ${integration.credential_version}`);
      }
      const refreshIds = versions.map((v) => v.refresh_id).filter((id): id is string => id !== null);
      if (new Set(refreshIds).size !== refreshIds.length) doubled.push(`${integration.id}: a refresh wrote two versions`);
    }
    // Rotations: the CRM's live refresh token of each OAuth integration is the stored one.
    const lostRotations: string[] = [];
    for (const { integrationId } of oauthPool) {
      const secret = await sys.readActiveSecret(integrationId);
      const inspected = await adminPost('/admin/oauth/refresh-tokens/inspect', { refreshToken: secret.refreshToken });
      const row = integrationRows.find((r) => r.id === integrationId)!;
      if (inspected.state !== 'live' || row.status !== 'active') {
        lostRotations.push(`${integrationId}: stored refresh token is ${inspected.state} at the CRM (rotations ${inspected.rotations}), integration ${row.status}/${row.status_reason}`);
      }
    }
    // Temporal: nothing failed, nothing left running but the refresh loops.
    const unfinished: string[] = await stillRunning();
    for await (const wf of sys.client.workflow.list({ query: `ExecutionStatus IN ("Failed", "TimedOut", "Terminated")` })) unfinished.push(`${wf.type} ${wf.workflowId} ${wf.status.name}`);
    const refreshLoops = new Set<string>();
    for await (const wf of sys.client.workflow.list({ query: `ExecutionStatus = "Running" AND WorkflowType = "tokenRefresh"` })) refreshLoops.add(wf.workflowId);
    for (const { integrationId } of oauthPool) if (!refreshLoops.has(`refresh:${integrationId}`)) unfinished.push(`refresh:${integrationId} not running`);

    const oauthStats = (await (await fetch(`${sys.sandboxUrl}/admin/oauth/stats`)).json()) as { refreshGrants: number; graceReuses: number; reuseDetections: number };
    const byKind = Object.fromEntries(kinds.map((k) => [k, operations.filter((op) => op.kind === k).length]));
    const seconds = Math.round((Date.now() - t0) / 1000);
    const summary =
      `CHAOS seed=${SEED} operations=${operations.length} (${kinds.map((k) => `${k}=${byKind[k]}`).join(' ')}) final=${operations.length - notFinal.length} not-succeeded=${failedOps.length}` +
      ` webhook-events=${eventCount} undelivered=${undelivered.length}` +
      ` kills: worker=${kills.worker} api=${kills.api} temporal=${kills.temporal} postgres=${kills.postgres} receiver-outages=${kills.receiver}` +
      ` self-exits=${JSON.stringify(selfExits)} faults: 5xx=${faults.injected.serverErrors} 429=${faults.injected.tooManyRequests} latency=${faults.injected.latency}` +
      ` crm-refreshes=${oauthStats.refreshGrants} grace-reuses=${oauthStats.graceReuses} reuse-revocations=${oauthStats.reuseDetections}` +
      ` api-5xx=${JSON.stringify(serverErrors)} lost=${lost.length} doubled=${doubled.length} lost-rotations=${lostRotations.length} temporal-unfinished=${unfinished.length} duration=${seconds}s`;
    const details = [
      ...lost.map((l) => `lost: ${l}`),
      ...doubled.map((d) => `doubled: ${d}`),
      ...lostRotations.map((r) => `lost rotation: ${r}`),
      ...failedOps.map((op) => `not succeeded: #${op.n} ${op.kind} ${op.integrationId} ${op.final} ${op.error ?? ''}`),
      ...undelivered.slice(0, 20).map((e) => `undelivered: ${e.event_type} ${e.id}`),
      ...unfinished.slice(0, 20).map((u) => `temporal: ${u}`),
      ...diagnostics,
      // What the API logged for its 5xx answers: each distinct error (its first line) with a count.
      ...Object.entries(
        sys.logs
          .filter((l) => l.startsWith('[api] ') && l.includes('"context":"Errors"'))
          .map((l) => {
            try {
              return String((JSON.parse(l.slice(6)) as { msg?: string }).msg ?? '').split('\n')[0]!.slice(0, 200);
            } catch {
              return l.slice(0, 200);
            }
          })
          .reduce<Record<string, number>>((counts, msg) => ({ ...counts, [msg]: (counts[msg] ?? 0) + 1 }), {}),
      ).map(([msg, n]) => `api error log (${n}×): ${msg}`),
    ];
    console.log([...details, summary].join('\n'));
    assert.deepEqual(
      { lost: lost.length, doubled: doubled.length, lostRotations: lostRotations.length, notSucceeded: failedOps.length, undelivered: undelivered.length, unfinished: unfinished.length },
      { lost: 0, doubled: 0, lostRotations: 0, notSucceeded: 0, undelivered: 0, unfinished: 0 },
      summary,
    );
  });
});
