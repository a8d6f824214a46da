/**
 * `npm run bench`: measures the engine on this machine against real services (Temporal dev server,
 * Postgres, sandbox CRM, worker and API as separate processes), printing progress while it runs, and
 * prints a table. It writes bench-results/bench-<topology>.json (every sample, its summary
 * p50/p90/p99/mean, throughput, ratios to the direct baseline, commit, machine, topology) and
 * bench-results/latency-<topology>.svg (the latency distributions, engine vs direct). Figures:
 *   - API-token reauthorization end to end (start + submit token → swapped), p50/p99 and throughput
 *     at concurrency 1 and 20, against a direct baseline doing the same CRM call and Postgres
 *     transaction without Temporal;
 *   - OAuth callback → active, p50/p99;
 *   - a refresh fleet of N integrations whose tokens expire in one window: fraction refreshed before
 *     expiry, lateness p99, worker CPU and RSS.
 * Quote medians and ratios from one run: the machine is shared and noisy.
 *
 * `--topology=dev` (default) runs on the Temporal dev server, one worker, one API; `--topology=cluster`
 * on a Temporal cluster on Postgres (frontend, history, matching and worker services as separate
 * processes), two workers and two APIs behind a round-robin proxy.
 */
import { formatTrace, type TraceLine, traceWorkflow } from './workflow-trace';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_SECTION, loadSections } from '../libs/config/config';
import { commitMeasured, latencyChartOf, parseBenchArgs, percentile, Progress, ratios, summarize, type BenchArgs, type BenchResults, type Topology } from './bench-report';
import { beginAttempt, configureOAuthApp, connectedOAuthIntegration, consent, crmAccount, followCallback, startReauth } from '../test/support/oauth';
import { api, connectedIntegration, sandboxToken, startSystem, waitFor, type TestSystem } from '../test/support/system';

const bench = loadSections({ bench: BENCH_SECTION }).bench;
const N1 = bench.reauthorizationsAtConcurrency1;
const N20 = bench.reauthorizationsAtConcurrency20;
const FLEET = bench.refreshFleetSize;

function benchArgs(): BenchArgs {
  try {
    return parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}

const args = benchArgs();
const progress = new Progress();
const samples = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);


function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    node: process.version,
    loadAverage1mAtStart: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/** The system the bench measures, on the topology asked for. */
async function startBenchSystem(topology: Topology): Promise<TestSystem> {
  // The cluster topology brings its own shape: 4 Temporal service processes on Postgres, 2 workers, 2 APIs behind a proxy.
  return startSystem({ topology, extraEnv: { LOG_LEVEL: 'warn', REFRESH_JITTER_SECONDS: '5', HEALTH_CHECK_INTERVAL_SECONDS: '3600' } });
}

/** One API-token reauthorization through the engine: start, submit, swapped. */
async function reauthOnce(sys: TestSystem, integrationId: string, accountId: string): Promise<number> {
  const token = await sandboxToken(sys, accountId);
  const t0 = performance.now();
  const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body: {} });
  const done = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: token } });
  if (done.status !== 200) throw new Error(`reauth failed: ${done.status} ${done.text}`);
  return performance.now() - t0;
}

/** The same work without Temporal: who-am-I at the CRM, then one Postgres transaction. */
async function directOnce(sys: TestSystem, integrationId: string, accountId: string): Promise<number> {
  const token = await sandboxToken(sys, accountId);
  const t0 = performance.now();
  const me = await fetch(`${sys.sandboxUrl}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  if (!me.ok) throw new Error('who-am-I failed');
  await me.json();
  await sys.pg.query('BEGIN');
  await sys.pg.query('SELECT 1 FROM integrations WHERE id = $1 FOR UPDATE', [integrationId]);
  await sys.pg.query(`INSERT INTO audit_events (tenant_id, integration_id, type, data) SELECT tenant_id, id, 'bench.direct', '{}' FROM integrations WHERE id = $1`, [integrationId]);
  await sys.pg.query('COMMIT');
  return performance.now() - t0;
}

function procStats(pid: number): { cpuSeconds: number; rssMiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rssPages = Number(stat[21]);
  return { cpuSeconds: ticks / 100, rssMiB: (rssPages * 4096) / 1024 / 1024 };
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const results: Record<string, unknown> = {
    topology: args.topology,
    commit: commitMeasured(),
    machine: machine(),
    at: new Date().toISOString(),
    settings: { BENCH_N1: N1, BENCH_N20: N20, BENCH_FLEET: FLEET },
  };
  progress.step(
    args.topology === 'dev'
      ? 'starting the system (dev: Temporal dev server, Postgres, sandbox CRM, worker, API)'
      : 'starting the system (cluster: Temporal services on Postgres, sandbox CRM, 2 workers, 2 APIs behind a proxy)',
  );
  const sys = await startBenchSystem(args.topology);
  try {
    // API-token reauthorization, engine vs direct.
    // Three integrations per lane, used in turn: back-to-back reauthorizations of one integration
    // would measure waiting for the previous run to close, not the reauthorization itself.
    const LANE_FIXTURES = 3;
    progress.step('connecting the integrations the lanes use', 20 * LANE_FIXTURES);
    const fixtures = await Promise.all(
      Array.from({ length: 20 * LANE_FIXTURES }, async () => {
        const f = await connectedIntegration(sys);
        progress.tick();
        return f;
      }),
    );
    for (const [label, conc, n] of [
      ['c1', 1, N1],
      ['c20', 20, N20],
    ] as const) {
      // Each concurrent lane owns one integration: reauthorizations of one integration share a
      // workflow by design, so lanes must not overlap on an integration.
      const perLane = Math.ceil(n / conc);
      const engine: number[] = [];
      progress.step(`API-token reauthorization c=${conc}: engine`, perLane * conc);
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: conc }, async (_, lane) => {
          for (let k = 0; k < perLane; k++) {
            const f = fixtures[lane + conc * (k % LANE_FIXTURES)];
            engine.push(await reauthOnce(sys, f.integration.id, f.accountId));
            progress.tick();
          }
        }),
      );
      const engineMs = Date.now() - t0;
      progress.end(`p50 ${summarize(engine).p50} ms`);
      const { Client } = await import('pg');
      const clients = await Promise.all(
        Array.from({ length: conc }, async () => {
          const c = new Client({ connectionString: sys.databaseUrl });
          await c.connect();
          return c;
        }),
      );
      const direct: number[] = [];
      progress.step(`API-token reauthorization c=${conc}: direct baseline`, perLane * conc);
      const t1 = Date.now();
      await Promise.all(
        fixtures.slice(0, conc).map(async (f, lane) => {
          for (let k = 0; k < perLane; k++) {
            direct.push(await directOnce({ ...sys, pg: clients[lane] } as TestSystem, f.integration.id, f.accountId));
            progress.tick();
          }
        }),
      );
      const directMs = Date.now() - t1;
      progress.end(`p50 ${summarize(direct).p50} ms`);
      await Promise.all(clients.map((c) => c.end()));
      const total = perLane * conc;
      const [e, d] = [summarize(engine), summarize(direct)];
      const [enginePerSecond, directPerSecond] = [(total / engineMs) * 1000, (total / directMs) * 1000];
      results[`apiTokenReauth_${label}`] = {
        n: total,
        concurrency: conc,
        engine: { ...e, perSecond: enginePerSecond },
        direct: { ...d, perSecond: directPerSecond },
        // engine ÷ direct: latency ratios above 1 are how many times slower, the throughput ratio below 1 how much less per second.
        ratioToDirect: { ...ratios(e, d), perSecond: Math.round((enginePerSecond / directPerSecond) * 1000) / 1000 },
        p50Ratio: e.p50 / d.p50,
        samplesMs: { engine: samples(engine), direct: samples(direct) },
      };
      if (label === 'c1') {
        // Where the time of one goes: the latest run of the first lane's first integration, event by event.
        results.traceOfOneApiTokenReauth = await traceWorkflow(sys.client, `reauth:${fixtures[0].integration.id}`);
      }
    }

    // OAuth: callback → active.
    await configureOAuthApp(sys, 'hubspot', { extra: { accessTokenTtlSeconds: 3600 } });
    const acct = await crmAccount(sys, 'Bench OAuth');
    const oauthIntegration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const callback: number[] = [];
    const callbacks = Math.max(10, Math.floor(N1 / 2));
    progress.step('OAuth callback → active', callbacks);
    for (let k = 0; k < callbacks; k++) {
      // As a browser does it: the link page binds the attempt to the browser (a cookie), the person consents, the CRM redirects back.
      const started = await startReauth(sys, oauthIntegration.id);
      const attempt = await beginAttempt(started.linkUrl);
      const redirect = await consent(sys, attempt.authorizeUrl, acct.userId);
      const t0 = performance.now();
      const page = await followCallback(redirect, attempt);
      if (!/Connection successful/.test(page.html)) throw new Error(`OAuth reauthorization failed: callback answered ${page.status} ${page.html.replace(/\s+/g, ' ').slice(0, 300)}`);
      callback.push(performance.now() - t0);
      progress.tick();
    }
    progress.end(`p50 ${summarize(callback).p50} ms`);
    results.oauthCallbackToActive = { ...summarize(callback), samplesMs: samples(callback) };

    // Refresh fleet: FLEET integrations whose tokens all expire in the same 40-second window.
    await configureOAuthApp(sys, 'pipedrive', { extra: { accessTokenTtlSeconds: 40 } });
    const fleet: string[] = [];
    progress.step('refresh fleet: connecting', FLEET);
    for (let k = 0; k < FLEET; k++) {
      const a = await crmAccount(sys, `Fleet ${k} ${randomUUID().slice(0, 4)}`);
      fleet.push((await connectedOAuthIntegration(sys, 'pipedrive', a.userId)).id);
      progress.tick();
    }
    const workerPids = sys.workers.map((w) => w.child.pid!);
    const workersCpu = () => workerPids.map(procStats).reduce((a, b) => ({ cpuSeconds: a.cpuSeconds + b.cpuSeconds, rssMiB: a.rssMiB + b.rssMiB }));
    const cpu0 = workersCpu();
    const idleStart = Date.now();
    progress.step('refresh fleet: waiting for every token to be refreshed', FLEET);
    await waitFor('every fleet member refreshed once', async () => {
      const r = await sys.pg.query(`SELECT count(DISTINCT integration_id)::int AS n FROM audit_events WHERE type = 'credentials.refreshed' AND integration_id = ANY($1)`, [fleet]);
      progress.update(r.rows[0].n);
      return r.rows[0].n >= fleet.length;
    }, 120_000);
    const cpu1 = workersCpu();
    progress.end();
    const timing = await sys.pg.query(
      `SELECT (v2.created_at - v1.expires_at) AS late_by, extract(epoch FROM v2.created_at - v1.expires_at) * 1000 AS late_ms
         FROM credential_versions v1 JOIN credential_versions v2 ON v2.integration_id = v1.integration_id AND v2.version = v1.version + 1
        WHERE v1.integration_id = ANY($1) AND v1.version = 1`,
      [fleet],
    );
    const late = timing.rows.map((r) => Number(r.late_ms));
    results.refreshFleet = {
      integrations: fleet.length,
      refreshedBeforeExpiry: late.filter((ms) => ms < 0).length / late.length,
      latenessP99Ms: percentile(late, 99),
      earlyByP50Ms: -percentile(late, 50),
      workerCpuSeconds: cpu1.cpuSeconds - cpu0.cpuSeconds,
      windowSeconds: (Date.now() - idleStart) / 1000,
      workerRssMiB: cpu1.rssMiB,
    };
  } finally {
    progress.step('stopping the system');
    await sys.stop();
    progress.end();
  }
  results.durationSeconds = Math.round((Date.now() - startedAt) / 1000);

  const out = path.resolve(__dirname, '..', '..', 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  const jsonFile = path.join(out, `bench-${args.topology}.json`);
  const svgFile = path.join(out, `latency-${args.topology}.svg`);
  fs.writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(svgFile, latencyChartOf(results as unknown as BenchResults));

  const f = (x: unknown) => (typeof x === 'number' ? x.toFixed(1) : String(x));
  console.log('\nfigure                                   engine          direct baseline');
  for (const k of ['apiTokenReauth_c1', 'apiTokenReauth_c20']) {
    const r = results[k] as { concurrency: number; engine: Record<string, number>; direct: Record<string, number>; p50Ratio: number };
    console.log(`API-token reauth ${r.concurrency === 1 ? 'c=1 ' : 'c=20'} p50/p99 ms     ${f(r.engine.p50)} / ${f(r.engine.p99)}`.padEnd(57) + `${f(r.direct.p50)} / ${f(r.direct.p99)}`);
    console.log(`API-token reauth ${r.concurrency === 1 ? 'c=1 ' : 'c=20'} per second       ${f(r.engine.perSecond)}`.padEnd(57) + `${f(r.direct.perSecond)}   (p50 ratio ${f(r.p50Ratio)}x)`);
  }
  const o = results.oauthCallbackToActive as Record<string, number>;
  console.log(`OAuth callback → active p50/p99 ms       ${f(o.p50)} / ${f(o.p99)}`);
  const fl = results.refreshFleet as Record<string, number>;
  console.log(`refresh fleet (${fl.integrations}): before expiry ${(fl.refreshedBeforeExpiry * 100).toFixed(0)}%, lateness p99 ${f(fl.latenessP99Ms)} ms, early by p50 ${f(fl.earlyByP50Ms)} ms`);
  console.log(`   worker CPU ${f(fl.workerCpuSeconds)} s over ${f(fl.windowSeconds)} s, RSS ${f(fl.workerRssMiB)} MiB`);
  console.log(`\none API-token reauthorization at c=1, from its history (offset from start, since the previous event):\n${formatTrace(results.traceOfOneApiTokenReauth as TraceLine[])}`);
  console.log(`\nfigures and samples: ${path.relative(process.cwd(), jsonFile)}\nchart: ${path.relative(process.cwd(), svgFile)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
