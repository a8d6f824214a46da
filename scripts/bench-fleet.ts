/**
 * `npm run bench:fleet`: the engine keeping a fleet of OAuth integrations fresh at scale. It starts
 * the real system (Temporal, Postgres, sandbox CRM, worker and API as separate processes), connects
 * BENCH_FLEET_SIZE (default 10,000) Pipedrive integrations whose access tokens all expire inside one
 * BENCH_FLEET_WINDOW_SECONDS window (default 300, expiries spread evenly over it), waits for the
 * engine to refresh every one of them, then watches the fleet idle. It prints progress while it runs,
 * a table at the end, and writes bench-results/fleet-<topology>.json. It exits non-zero when any
 * integration was not refreshed before its access token expired.
 *
 * Figures: refreshed before expiry (count; the target is all), lateness (refresh time minus expiry;
 * negative = early) p50/p99/max, CPU-seconds per 1,000 refreshes of the worker and of the Temporal
 * server over the wave, their peak RSS (polled every second, and VmHWM), the idle cost of the fleet
 * between refreshes (CPU % and RSS of worker, Temporal server and API over a quiet spell
 * after the wave), the longest workflow history among the fleet's refresh workflows, and the CRM's
 * request rate per second against the per-CRM cap (CRM_CALLS_PER_SECOND).
 *
 * How the fleet is seeded, fast but through the engine's real paths:
 *   - the grants: the sandbox CRM's test-only `POST /admin/oauth/grants` issues, per integration, a
 *     CRM account, a user and a token family (access token expiring at the time asked, refresh
 *     token) — the very records its consent flow produces, minus the browser round trip, which for
 *     10,000 integrations would take hours (the 40-integration fleet of `npm run bench` goes through
 *     the full OAuth flow instead);
 *   - the integrations: the public API's `POST /v1/integrations` with those OAuth credentials
 *     (`accessToken`, `refreshToken`, `expiresAt`, `scopes`), which runs the `connectIntegration`
 *     workflow: who-am-I at the CRM, the integration and its first credential version stored, and
 *     the integration's `tokenRefresh` workflow started by signal-with-start — the way the engine
 *     starts it for every integration. Nothing is written to the database behind the engine's back.
 *
 * The expiry window opens BENCH_FLEET_TOKEN_LIFETIME_SECONDS after seeding starts (default 3600:
 * the fleet's first tokens live an hour, as Pipedrive's do, so the engine spreads their refreshes
 * over REFRESH_SPREAD_PERCENT of an hour). With 0 it opens as soon as the first refresh can fall due
 * after seeding ends (the refresh margin is a fifth of a token's lifetime for short-lived tokens,
 * REFRESH_MARGIN_SECONDS at most): a quicker run with a denser wave, as in CI. The JSON says whether
 * seeding ran into the wave anyway. Refreshed tokens live an hour, so nothing is due in the idle
 * spell (60 s, or half the window when that is shorter).
 *
 * Every refresh costs two calls on the CRM's rate-capped task queue (the refresh and the who-am-I
 * check of the new token). The per-CRM cap is deployment-wide, so it bounds how big a fleet one CRM
 * can refresh in one window: the bench computes the rate the window needs, and when the engine's
 * default for Pipedrive is below 1.5 times that, it sets CRM_CALLS_PER_SECOND=pipedrive=<rate> for
 * this run and says so (set CRM_CALLS_PER_SECOND yourself to measure another rate).
 *
 * Bounded form for CI (2-3 minutes): `BENCH_FLEET_SIZE=300 BENCH_FLEET_WINDOW_SECONDS=60 BENCH_FLEET_TOKEN_LIFETIME_SECONDS=0 npm run bench:fleet`.
 * `--topology=dev` (default) runs on the Temporal dev server; `--topology=cluster` on the cluster
 * topology (its Temporal figures sum the four service processes and the UI server is not started).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_FLEET_SECTION, loadSections } from '../libs/config/config';
import { SETTINGS } from '../libs/config/settings';
import { TOKEN_REFRESH_WORKFLOW } from '../libs/contracts';
import { nextRunAt } from '../libs/domain/refresh-schedule';
import { crmCallRates } from '../libs/temporal/crm-task-queues';
import { commitMeasured, parseBenchArgs, percentile, Progress, type BenchArgs, type Topology } from './bench-report';
import { configureOAuthApp } from '../test/support/oauth';
import { api, startSystem, type TestSystem } from '../test/support/system';

const PROVIDER = 'pipedrive';
/** Pipedrive's default scopes (the catalog's): what the grants carry. */
const SCOPES = ['base', 'contacts:read', 'deals:read'];
/** Grants issued per sandbox call, and integrations created at once through the API. */
const GRANT_CHUNK = 500;
const CREATE_CONCURRENCY = 16;
/**
 * Integrations connected first, outside the fleet (their tokens live two hours), to measure how fast
 * this machine connects them: that places the window after the end of seeding.
 */
const CALIBRATION = (n: number) => Math.min(200, Math.max(30, Math.ceil(n / 50)));
/** Lifetime of the tokens the refreshes produce: nothing falls due while the idle cost is measured. */
const REFRESHED_TOKEN_TTL_SECONDS = 3600;

function benchArgs(): BenchArgs {
  try {
    return parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message.replace('npm run bench', 'npm run bench:fleet'));
    process.exit(2);
  }
}

const args = benchArgs();
const { fleet: fleetCfg, engine } = loadSections({
  fleet: BENCH_FLEET_SECTION,
  engine: (read) => ({
    marginSeconds: read(SETTINGS.REFRESH_MARGIN_SECONDS),
    jitterSeconds: read(SETTINGS.REFRESH_JITTER_SECONDS),
    spreadPercent: read(SETTINGS.REFRESH_SPREAD_PERCENT),
    ratesGiven: read(SETTINGS.CRM_CALLS_PER_SECOND),
  }),
});
const N = fleetCfg.size;
const W = fleetCfg.windowSeconds;
const progress = new Progress((line) => console.log(line.replace('[bench ', '[bench:fleet ')));
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;


/** The shortest token lifetime (s) whose soonest refresh comes no sooner than `seconds` after issue. */
function shortestLifetimeRefreshedAfter(seconds: number): number {
  const { marginSeconds, jitterSeconds, spreadPercent } = engine;
  const soonestRefresh = (lifetime: number) =>
    nextRunAt(
      { refreshable: true, issuedAt: new Date(0).toISOString(), expiresAt: new Date(lifetime * 1000).toISOString(), lastCheckedAt: null, healthCheckIntervalSeconds: 3600, marginSeconds, jitterSeconds, spreadPercent },
      0,
      0.999_999,
    ) / 1000;
  let lifetime = Math.ceil(seconds);
  while (soonestRefresh(lifetime) < seconds) lifetime += 1;
  return lifetime;
}

/** CPU seconds (user + system) and resident set of a process, from /proc. */
function procSample(pid: number): { cpuSeconds: number; rssMiB: number; hwmMiB: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100, rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

type Role = 'worker' | 'temporal' | 'api';

/** Polls every process of the system once a second: CPU over time and peak RSS, per role. */
class ProcessMonitor {
  readonly series: { at: number; cpu: Record<Role, number> }[] = [];
  readonly peakRssMiB: Record<Role, number> = { worker: 0, temporal: 0, api: 0 };
  lastRssMiB: Record<Role, number> = { worker: 0, temporal: 0, api: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: () => Record<Role, number[]>) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  sample(): { at: number; cpu: Record<Role, number> } {
    const cpu = { worker: 0, temporal: 0, api: 0 };
    const rss = { worker: 0, temporal: 0, api: 0 };
    for (const [role, pids] of Object.entries(this.pids()) as [Role, number[]][]) {
      for (const pid of pids) {
        const s = procSample(pid);
        if (!s) continue;
        cpu[role] += s.cpuSeconds;
        rss[role] += s.rssMiB;
      }
      this.peakRssMiB[role] = Math.max(this.peakRssMiB[role], rss[role]);
    }
    this.lastRssMiB = rss;
    const point = { at: Date.now(), cpu };
    this.series.push(point);
    return point;
  }

  /** CPU seconds each role used between two instants (nearest samples). */
  cpuBetween(from: number, to: number): Record<Role, number> {
    const at = (t: number) => this.series.reduce((best, p) => (Math.abs(p.at - t) < Math.abs(best.at - t) ? p : best));
    const [a, b] = [at(from), at(to)];
    return Object.fromEntries((Object.keys(b.cpu) as Role[]).map((r) => [r, round(b.cpu[r] - a.cpu[r], 2)])) as Record<Role, number>;
  }

  hwmMiB(): Record<Role, number> {
    const out = { worker: 0, temporal: 0, api: 0 };
    for (const [role, pids] of Object.entries(this.pids()) as [Role, number[]][]) {
      for (const pid of pids) out[role] += procSample(pid)?.hwmMiB ?? 0;
    }
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A seeded shuffle of 0..n-1 (mulberry32): which slot of the window each integration's expiry takes. */
function shuffled(n: number, seed = 13): number[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function post<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

interface Grant {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
  scopes: string[];
}

/** The system the bench measures: the dev server, or the cluster topology (4 Temporal service processes, 2 workers, 2 APIs). */
async function startFleetSystem(topology: Topology, extraEnv: NodeJS.ProcessEnv): Promise<TestSystem> {
  return startSystem({ topology, extraEnv });
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  // Two capped calls per refresh, all due within the window (plus the margin, which only helps).
  const neededCallsPerSecond = (2 * N) / W;
  const defaultRate = crmCallRates(engine.ratesGiven)[PROVIDER];
  const rateSetByBench = process.env.CRM_CALLS_PER_SECOND === undefined && defaultRate < 1.5 * neededCallsPerSecond;
  const rate = rateSetByBench ? Math.ceil((1.5 * neededCallsPerSecond) / 5) * 5 : defaultRate;
  const extraEnv: NodeJS.ProcessEnv = {
    LOG_LEVEL: 'warn',
    // The seeding is one API key creating N integrations: the per-key request budget is not what is measured.
    RATE_LIMIT_API_KEY: '0',
    ...(rateSetByBench ? { CRM_CALLS_PER_SECOND: `${PROVIDER}=${rate}` } : {}),
  };
  console.log(`fleet: ${N} ${PROVIDER} integrations, expiries spread over ${W} s; REFRESH_MARGIN_SECONDS=${engine.marginSeconds} (a fifth of the lifetime when shorter), jitter ≤ ${engine.jitterSeconds} s, spread ${engine.spreadPercent} % of the lifetime`);
  console.log(
    `CRM cap for ${PROVIDER}: ${rate} calls/s${rateSetByBench ? ` (set by the bench: the default ${defaultRate}/s is below 1.5 × the ${round(neededCallsPerSecond)}/s this window needs)` : ` (needed: ${round(neededCallsPerSecond)}/s)`}`,
  );
  const results: Record<string, unknown> = {
    topology: args.topology,
    commit: commitMeasured(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: round(os.totalmem() / 1024 ** 3), node: process.version, loadAverage1mAtStart: round(os.loadavg()[0], 2) },
    at: new Date().toISOString(),
    settings: {
      BENCH_FLEET_SIZE: N,
      BENCH_FLEET_WINDOW_SECONDS: W,
      BENCH_FLEET_TOKEN_LIFETIME_SECONDS: fleetCfg.tokenLifetimeSeconds,
      REFRESH_MARGIN_SECONDS: engine.marginSeconds,
      REFRESH_JITTER_SECONDS: engine.jitterSeconds,
      REFRESH_SPREAD_PERCENT: engine.spreadPercent,
      WORKER_MAX_CACHED_WORKFLOWS: process.env.WORKER_MAX_CACHED_WORKFLOWS || "the SDK's default",
      crmCallsPerSecond: { [PROVIDER]: rate, setByBench: rateSetByBench, engineDefault: defaultRate, neededByWindow: round(neededCallsPerSecond) },
    } as Record<string, unknown>,
  };

  progress.step(`starting the system (${args.topology}: Temporal, Postgres, sandbox CRM, worker, API)`);
  const sys = await startFleetSystem(args.topology, extraEnv);
  progress.end();
  const monitor = new ProcessMonitor(() => ({
    worker: sys.workers.map((w) => w.child.pid!).filter(Boolean),
    temporal: sys.temporalPids(),
    api: sys.apis.map((a) => a.child.pid!).filter(Boolean),
  }));
  const verdict = { failed: true, expired: 0 };
  const table: string[] = [];
  try {
    const app = await configureOAuthApp(sys, PROVIDER, { extra: { accessTokenTtlSeconds: REFRESHED_TOKEN_TTL_SECONDS, scopes: SCOPES } });

    /** Grants at the sandbox, then integrations through the API with them; their ids, in order. */
    const seed = async (count: number, expiryOf: (i: number) => string, label: string): Promise<string[]> => {
      const ids: string[] = new Array(count);
      progress.step(label, count);
      for (let from = 0; from < count; from += GRANT_CHUNK) {
        const chunk = Math.min(GRANT_CHUNK, count - from);
        const { data: grants } = await post<{ data: Grant[] }>(`${sys.sandboxUrl}/admin/oauth/grants`, {
          clientId: app.clientId,
          accessTokenExpiresAt: Array.from({ length: chunk }, (_, k) => expiryOf(from + k)),
          scopes: SCOPES,
        });
        let next = 0;
        await Promise.all(
          Array.from({ length: CREATE_CONCURRENCY }, async () => {
            while (next < grants.length) {
              const k = next++;
              const g = grants[k];
              const created = await api(sys, 'POST', '/v1/integrations', {
                key: sys.keyA,
                body: {
                  provider: PROVIDER,
                  displayName: `Fleet ${from + k}`,
                  config: {},
                  credentials: { accessToken: g.accessToken, refreshToken: g.refreshToken, expiresAt: g.expiresAt, scopes: g.scopes },
                },
              });
              if (created.status !== 201) throw new Error(`create integration ${from + k}: ${created.status} ${created.text.slice(0, 300)}`);
              ids[from + k] = created.body.id;
              progress.tick();
            }
          }),
        );
      }
      return ids;
    };

    // How fast this machine connects integrations, now: a few outside the fleet, whose tokens outlive the bench.
    const calibrationCount = CALIBRATION(N);
    const calStart = Date.now();
    const longLived = new Date(calStart + 2 * 3600_000).toISOString();
    await seed(calibrationCount, () => longLived, `calibrating: ${calibrationCount} integrations outside the fleet`);
    const seedRate = calibrationCount / ((Date.now() - calStart) / 1000);
    progress.end(`${round(seedRate)} integrations/s`);

    // The window opens BENCH_FLEET_TOKEN_LIFETIME_SECONDS after seeding starts (an hour, as
    // Pipedrive's tokens live), or with 0 as soon as it can: far enough ahead that the first refresh
    // falls due after seeding ends (seeding estimated at 80% of the calibrated rate). The engine's
    // own schedule says how early a token of a given lifetime can be refreshed at the soonest
    // (margin, jitter and spread all at their widest). A shorter token leaves less lifetime to spread
    // the refreshes over, so the wave is denser.
    const seedEstimateSeconds = N / (0.8 * seedRate);
    const shortestLead = shortestLifetimeRefreshedAfter(seedEstimateSeconds + 10);
    const leadSeconds = fleetCfg.tokenLifetimeSeconds === 0 ? shortestLead : fleetCfg.tokenLifetimeSeconds;
    if (leadSeconds < shortestLead) {
      console.log(`note: BENCH_FLEET_TOKEN_LIFETIME_SECONDS=${leadSeconds} is under the ${shortestLead} s seeding needs before the first refresh: the wave will overlap seeding`);
    }
    const marginMinSeconds = Math.min(engine.marginSeconds, leadSeconds / 5);
    Object.assign(results.settings as Record<string, unknown>, { calibration: { integrations: calibrationCount, perSecond: round(seedRate, 2) }, windowStartsAfterSeconds: leadSeconds, refreshMarginAtLeastSeconds: round(marginMinSeconds) });
    console.log(`window: opens ${leadSeconds} s after seeding starts (seeding estimated at ${Math.round(seedEstimateSeconds)} s); refresh margin ≥ ${round(marginMinSeconds)} s`);
    const seedStart = Date.now();
    const windowStart = seedStart + leadSeconds * 1000;
    const slots = shuffled(N);
    const ids = await seed(N, (i) => new Date(windowStart + (slots[i] * W * 1000) / N).toISOString(), `seeding: ${N} grants at the sandbox CRM, ${N} integrations through the API (${CREATE_CONCURRENCY} at a time)`);
    const seedEnd = Date.now();
    const seedSeconds = (seedEnd - seedStart) / 1000;
    const started = await sys.pg.query(`SELECT count(*)::int AS n FROM credential_versions WHERE version = 1 AND integration_id = ANY($1)`, [ids]);
    progress.end(`${round(N / seedSeconds)} integrations/s`);
    const seedCpu = monitor.cpuBetween(seedStart, seedEnd);

    // The wave: wait until every integration has a second credential version (its refresh).
    const lastExpiry = windowStart + W * 1000;
    // How long after the last expiry a refresh is still waited for (it is late then, and counted so).
    const deadline = lastExpiry + Math.max(120, W) * 1000;
    const countRefreshed = async () =>
      (await sys.pg.query(`SELECT count(DISTINCT integration_id)::int AS n FROM credential_versions WHERE version >= 2 AND integration_id = ANY($1)`, [ids])).rows[0].n as number;
    let refreshed = await countRefreshed();
    const waveDetail = () => {
      const toWindow = Math.round((windowStart - Date.now()) / 1000);
      return toWindow > 0 ? `— first expiry in ${toWindow} s` : `— last expiry ${Math.round((lastExpiry - Date.now()) / 1000)} s from now`;
    };
    progress.step('wave: waiting for every integration to be refreshed', N, waveDetail);
    while (refreshed < N && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2000));
      refreshed = await countRefreshed();
      progress.update(refreshed);
    }
    progress.end(`${refreshed}/${N} refreshed`);

    const timing = await sys.pg.query(
      `SELECT v1.integration_id, extract(epoch FROM v1.expires_at) * 1000 AS expires_ms, extract(epoch FROM v1.created_at) * 1000 AS issued_ms,
              extract(epoch FROM min(v2.created_at)) * 1000 AS refreshed_ms
         FROM credential_versions v1 LEFT JOIN credential_versions v2 ON v2.integration_id = v1.integration_id AND v2.version = 2
        WHERE v1.integration_id = ANY($1) AND v1.version = 1
        GROUP BY v1.integration_id, v1.expires_at, v1.created_at`,
      [ids],
    );
    const rows = timing.rows.map((r) => ({ expires: Number(r.expires_ms), refreshed: r.refreshed_ms === null ? null : Number(r.refreshed_ms) }));
    const lateness = rows.filter((r) => r.refreshed !== null).map((r) => r.refreshed! - r.expires);
    const notRefreshed = rows.filter((r) => r.refreshed === null).length;
    const refreshedLate = lateness.filter((ms) => ms >= 0).length;
    const expired = notRefreshed + refreshedLate;
    Object.assign(verdict, { failed: expired > 0 || rows.length !== N, expired: expired + (N - rows.length) });
    const refreshTimes = rows.filter((r) => r.refreshed !== null).map((r) => r.refreshed!);
    const firstRefresh = Math.min(...refreshTimes);
    const lastRefresh = Math.max(...refreshTimes);
    const waveCpu = monitor.cpuBetween(firstRefresh, lastRefresh);
    const perThousand = (cpu: number) => round((cpu / Math.max(1, refreshTimes.length)) * 1000, 2);
    const statuses = (await sys.pg.query(`SELECT status, count(*)::int AS n FROM integrations WHERE id = ANY($1) GROUP BY status ORDER BY status`, [ids])).rows;

    // The CRM's side: requests per wall-clock second to the Pipedrive emulation from the end of
    // seeding on (seeding's own who-am-I calls run uncapped: a person waits on them).
    const perSecond = async (prefix: string) =>
      ((await (await fetch(`${sys.sandboxUrl}/admin/stats/per-second?pathPrefix=${encodeURIComponent(prefix)}`)).json()) as { seconds: { second: number; count: number }[] }).seconds.filter(
        (s) => s.second >= Math.floor(seedEnd / 1000) * 1000 + 1000,
      );
    const crmSeconds = await perSecond(`/${PROVIDER}/`);
    const tokenSeconds = await perSecond(`/${PROVIDER}/oauth/token`);
    const maxOf = (xs: { count: number }[]) => xs.reduce((m, s) => Math.max(m, s.count), 0);
    const crmMax = maxOf(crmSeconds);
    /** The busiest `span` consecutive seconds, as requests per second. */
    const busiest = (span: number) => {
      const byS = new Map(crmSeconds.map((s) => [s.second, s.count]));
      let best = 0;
      for (const s of crmSeconds) {
        let sum = 0;
        for (let k = 0; k < span; k++) sum += byS.get(s.second + k * 1000) ?? 0;
        best = Math.max(best, sum / span);
      }
      return round(best, 1);
    };
    const secondsAbove = crmSeconds.filter((s) => s.count > rate).length;

    // History lengths of every run of the fleet's refresh workflows (open and continued-as-new).
    progress.step('reading the history length of every refresh workflow run');
    // Visibility lists the runs; their history lengths come from describing each (the list leaves them 0).
    const executions: { workflowId: string; runId: string; continuedAsNew: boolean }[] = [];
    for await (const wf of sys.client.workflow.list({ query: `WorkflowType = '${TOKEN_REFRESH_WORKFLOW}'` })) {
      executions.push({ workflowId: wf.workflowId, runId: wf.runId, continuedAsNew: wf.status.name === 'CONTINUED_AS_NEW' });
    }
    const lengths: number[] = [];
    let nextRun = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (nextRun < executions.length) {
          const e = executions[nextRun++];
          lengths.push((await sys.client.workflow.getHandle(e.workflowId, e.runId).describe()).historyLength);
        }
      }),
    );
    const runs = executions.length;
    const continuedAsNew = executions.filter((e) => e.continuedAsNew).length;
    const maxHistory = lengths.reduce((m, x) => Math.max(m, x), 0);
    progress.end(`${runs} runs, longest history ${maxHistory} events`);

    // Idle: nothing is due for an hour; what does keeping the fleet cost meanwhile?
    const idleSeconds = Math.min(60, Math.ceil(W / 2));
    progress.step(`idle: the fleet between refreshes, measured over ${idleSeconds} s`);
    const versionsBefore = (await sys.pg.query(`SELECT count(*)::int AS n FROM credential_versions WHERE integration_id = ANY($1)`, [ids])).rows[0].n;
    const idleStart = monitor.sample();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idleEnd = monitor.sample();
    const versionsAfter = (await sys.pg.query(`SELECT count(*)::int AS n FROM credential_versions WHERE integration_id = ANY($1)`, [ids])).rows[0].n;
    const idleSpan = (idleEnd.at - idleStart.at) / 1000;
    const idleCpuPercent = Object.fromEntries((Object.keys(idleEnd.cpu) as Role[]).map((r) => [r, round(((idleEnd.cpu[r] - idleStart.cpu[r]) / idleSpan) * 100, 2)]));
    progress.end();

    const seeding = {
      integrations: N,
      seconds: round(seedSeconds),
      perSecond: round(N / seedSeconds),
      firstCredentialVersions: started.rows[0].n,
      cpuSeconds: seedCpu,
      // Seeding still going when the first refresh fell due: the wave's figures include some seeding.
      overlappedWave: firstRefresh < seedEnd,
    };
    const wave = {
      integrations: N,
      windowSeconds: W,
      refreshed: refreshTimes.length,
      refreshedBeforeExpiry: lateness.filter((ms) => ms < 0).length,
      expired,
      refreshedLate,
      notRefreshed,
      latenessMs: { p50: round(percentile(lateness, 50)), p90: round(percentile(lateness, 90)), p99: round(percentile(lateness, 99)), max: round(Math.max(...lateness)) },
      earlyByP50Ms: round(-percentile(lateness, 50)),
      refreshSpanSeconds: round((lastRefresh - firstRefresh) / 1000),
      refreshesPerSecond: round(refreshTimes.length / Math.max(1, (lastRefresh - firstRefresh) / 1000), 2),
      cpuSeconds: waveCpu,
      cpuSecondsPer1000Refreshes: { worker: perThousand(waveCpu.worker), temporal: perThousand(waveCpu.temporal), api: perThousand(waveCpu.api) },
      peakRssMiB: Object.fromEntries(Object.entries(monitor.peakRssMiB).map(([k, v]) => [k, round(v)])),
      vmHwmMiB: Object.fromEntries(Object.entries(monitor.hwmMiB()).map(([k, v]) => [k, round(v)])),
      integrationStatuses: Object.fromEntries(statuses.map((s) => [s.status, s.n])),
    };
    const crm = {
      provider: PROVIDER,
      capCallsPerSecond: rate,
      maxRequestsInOneSecond: crmMax,
      busiest2sPerSecond: busiest(2),
      busiest10sPerSecond: busiest(10),
      secondsAboveCap: secondsAbove,
      maxTokenRequestsInOneSecond: maxOf(tokenSeconds),
      requestsAfterSeeding: crmSeconds.reduce((sum, s) => sum + s.count, 0),
      perSecond: crmSeconds.map((s) => [Math.round((s.second - seedEnd) / 1000), s.count]),
    };
    const histories = {
      runs,
      continuedAsNew,
      maxHistoryLength: maxHistory,
      p50HistoryLength: percentile(lengths, 50),
    };
    const idle = {
      seconds: round(idleSpan),
      cpuPercent: idleCpuPercent,
      rssMiB: Object.fromEntries(Object.entries(monitor.lastRssMiB).map(([k, v]) => [k, round(v)])),
      credentialVersionsWritten: versionsAfter - versionsBefore,
    };
    Object.assign(results, { seeding, wave, crm, histories, idle });
    table.push(`\nrefresh fleet, ${args.topology} topology: ${N} ${PROVIDER} integrations, tokens expiring within ${W} s`);
    table.push(`seeding                      ${seeding.seconds} s (${seeding.perSecond}/s)${seeding.overlappedWave ? ' — ran into the wave' : ''}`);
    table.push(`refreshed before expiry      ${wave.refreshedBeforeExpiry}/${N} (expired: ${wave.expired}; late ${wave.refreshedLate}, never ${wave.notRefreshed})`);
    table.push(`lateness p50 / p99 / max     ${wave.latenessMs.p50} / ${wave.latenessMs.p99} / ${wave.latenessMs.max} ms (negative = early; early by p50 ${wave.earlyByP50Ms} ms)`);
    table.push(`refreshes                    over ${wave.refreshSpanSeconds} s, ${wave.refreshesPerSecond}/s; statuses ${JSON.stringify(wave.integrationStatuses)}`);
    table.push(`CPU-s per 1,000 refreshes    worker ${wave.cpuSecondsPer1000Refreshes.worker}, Temporal ${wave.cpuSecondsPer1000Refreshes.temporal}, API ${wave.cpuSecondsPer1000Refreshes.api}`);
    table.push(`peak RSS (polled / VmHWM)    worker ${wave.peakRssMiB.worker} / ${wave.vmHwmMiB.worker} MiB, Temporal ${wave.peakRssMiB.temporal} / ${wave.vmHwmMiB.temporal} MiB, API ${wave.peakRssMiB.api} / ${wave.vmHwmMiB.api} MiB`);
    table.push(`idle (${idle.seconds} s)                 CPU worker ${idle.cpuPercent.worker}%, Temporal ${idle.cpuPercent.temporal}%, API ${idle.cpuPercent.api}%; RSS worker ${idle.rssMiB.worker}, Temporal ${idle.rssMiB.temporal}, API ${idle.rssMiB.api} MiB`);
    table.push(`CRM (${PROVIDER}) requests/s         max ${crm.maxRequestsInOneSecond} in one second, busiest 2 s ${crm.busiest2sPerSecond}/s, 10 s ${crm.busiest10sPerSecond}/s, cap ${crm.capCallsPerSecond}/s (seconds above: ${crm.secondsAboveCap})`);
    table.push(`refresh workflow histories   ${histories.runs} runs (${histories.continuedAsNew} continued as new), longest ${histories.maxHistoryLength} events, p50 ${histories.p50HistoryLength}`);
  } finally {
    monitor.stop();
    progress.step('stopping the system');
    await sys.stop();
    progress.end();
  }
  results.durationSeconds = Math.round((Date.now() - startedAt) / 1000);

  const out = path.resolve(__dirname, '..', '..', 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  const jsonFile = path.join(out, `fleet-${args.topology}.json`);
  fs.writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);

  console.log(table.join('\n'));
  console.log(`\nfigures: ${path.relative(process.cwd(), jsonFile)}`);
  if (verdict.failed) {
    console.error(`\nFAILED: ${verdict.expired} of ${N} integrations were not refreshed before their access token expired`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
