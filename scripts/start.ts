/**
 * `npm start`: the whole system on embedded defaults, one command, one Ctrl-C.
 * Temporal dev server (with UI) → Postgres (DATABASE_URL or embedded) → sandbox CRM → worker → API.
 * `npm run start:cluster` (`--topology=cluster`): Postgres → a Temporal cluster on it (frontend,
 * history, matching and worker services, UI server) → sandbox CRM → two workers → two APIs behind a
 * round-robin proxy on PORT.
 * Each of these can be swapped for a real service by environment variable (see the README).
 * Once the system is up, a child that dies is restarted with backoff (libs/dev/supervisor.ts);
 * Ctrl-C stops everything in reverse order and removes `.data/npm-start.pid` (libs/dev/run-lock.ts).
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateApiKey } from '../apps/api/auth/api-keys.service';
import { codecCorsOrigins } from '../apps/api/codec/codec-cors';
import { startDevUiCodec, type DevUiCodec } from '../apps/api/codec/dev-ui-codec';
import { APP_SECTION, DEV_TOOLS_SECTION, loadSections, START_SECTION } from '../libs/config/config';
import { resolveKeySpecs } from '../libs/crypto/key-ring';
import { startEmbeddedPostgres } from '../libs/dev/embedded-postgres';
import { RunLock } from '../libs/dev/run-lock';
import { spawnService, waitForHttp } from '../libs/dev/service-process';
import { describeExit, exitedOnStopSignal, Supervised, type Running } from '../libs/dev/supervisor';
import { startRoundRobinProxy, type RoundRobinProxy } from '../libs/dev/round-robin-proxy';
import { CLUSTER_REPLICAS, clusterPostgresFor, startTemporalCluster, type ClusterService } from '../libs/temporal/cluster';
import { provisionClusterBinaries } from '../libs/temporal/cluster-binaries';
import { freePort, provisionTemporalCli, startDevServer } from '../libs/temporal/dev-server';

type Topology = 'dev' | 'cluster';

/** `--topology=dev|cluster` (default dev); anything else is refused, saying what is accepted. */
function parseTopology(argv: readonly string[]): Topology {
  let topology: string = 'dev';
  for (const arg of argv) {
    if (arg.startsWith('--topology=')) topology = arg.slice('--topology='.length);
    else throw new Error(`npm start: unknown argument ${JSON.stringify(arg)}; accepted: --topology=dev|cluster`);
  }
  if (topology !== 'dev' && topology !== 'cluster') throw new Error(`npm start: --topology must be dev or cluster, not ${JSON.stringify(topology)}`);
  return topology;
}

const CLUSTER_SERVICES_LINE = 'Temporal frontend, history, matching and worker services on Postgres';

const COLORS: Record<string, string> = { api: '\x1b[36m', worker: '\x1b[35m', 'sandbox-crm': '\x1b[33m', start: '\x1b[32m' };
const tty = process.stdout.isTTY;
function say(name: string, line: string): void {
  const tag = `[${name}]`.padEnd(14);
  process.stdout.write(`${tty ? (COLORS[name] ?? '') + tag + '\x1b[0m' : tag}${line}\n`);
}

let shutdownRef: ((code: number) => Promise<never>) | undefined;

/** Resolves when `stop` has, or SIGKILLs the process after `graceMs`. */
async function stopWithin(stop: () => Promise<void>, child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    stop().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
  ]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await gone;
  }
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  process.chdir(root);
  const topology = parseTopology(process.argv.slice(2));
  // After chdir: DATA_DIR is relative to the project. All settings are checked here, before anything starts.
  const { app: cfg, start, devTools } = loadSections({ app: APP_SECTION, start: START_SECTION, devTools: DEV_TOOLS_SECTION });
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  // The children get our environment (and so every setting given to us), made explicit where we decided.
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: cfg.dataDir, LOG_FORMAT: cfg.logFormat ?? 'pretty' };
  // No load balancer in front of npm start: the API need not wait before it stops taking connections.
  if (!process.env.API_SHUTDOWN_DELAY_SECONDS) env.API_SHUTDOWN_DELAY_SECONDS = '0';
  const apiStopMs = ((process.env.API_SHUTDOWN_DELAY_SECONDS ? cfg.apiShutdown.delaySeconds : 0) + cfg.apiShutdown.timeoutSeconds + 5) * 1000;
  // The worker's grace, its forced end 5 s later, and a margin: only then is it SIGKILLed.
  const workerStopMs = (cfg.workerShutdownGraceSeconds + 10) * 1000;

  // Every process builds links and OAuth redirect URIs from PUBLIC_URL: on the cluster topology each
  // API has a port of its own, so they all get the proxy's address (what PORT's default would give).
  if (topology === 'cluster') env.PUBLIC_URL = cfg.publicUrl;
  if (topology === 'cluster' && cfg.temporalAddress) {
    throw new Error(`npm run start:cluster starts its own Temporal cluster: unset TEMPORAL_ADDRESS (${cfg.temporalAddress}), or use npm start with it`);
  }
  // Refused before anything starts: the cluster's database names come from DATABASE_URL's.
  if (topology === 'cluster' && cfg.databaseUrl) clusterPostgresFor(cfg.databaseUrl);
  let uiCodec: DevUiCodec | undefined;
  let temporal: Supervised | undefined;
  let proxy: RoundRobinProxy | undefined;
  const clusterServices: Supervised[] = [];
  let pg: Supervised | undefined;
  const services: Supervised[] = [];
  // Refuses a second npm start on this data, ends the orphans of one that did not stop.
  const lock = await RunLock.acquire(cfg.dataDir, (m) => say('start', m));
  let stopping = false;

  const shutdown = async (code: number): Promise<never> => {
    if (stopping) return new Promise<never>(() => undefined);
    stopping = true;
    say('start', 'shutting down…');
    for (const s of [temporal, pg, ...clusterServices, ...services]) s?.stopping();
    if (proxy) await proxy.close();
    for (const s of [...services].reverse()) await s.stop();
    if (temporal) await temporal.stop();
    for (const s of [...clusterServices].reverse()) await s.stop();
    if (uiCodec) await uiCodec.close();
    if (pg) await pg.stop();
    lock.release();
    say('start', 'stopped');
    process.exit(code);
  };
  shutdownRef = shutdown;
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  // A child that dies while the system is still coming up stops it all (a setting or a taken port,
  // most likely); once it is up, a child that dies is restarted (see libs/dev/supervisor.ts).
  const supervised = (name: string, launch: () => Promise<Running>, hint = ''): Supervised =>
    new Supervised({
      name,
      launch,
      log: (line) => say('start', line),
      onStarted: (p) => lock.track(name, p),
      onExitBeforeArmed: (code, signal) => {
        say('start', `${name} exited (${describeExit(code, signal)})${hint}; stopping everything`);
        void shutdown(exitedOnStopSignal(code, signal) ? 0 : 1);
      },
    });

  // Dev API key: printed and kept in .data/dev-api-key unless BOOTSTRAP_API_KEYS is given.
  let devKey: string | undefined;
  if (!cfg.bootstrapApiKeys) {
    const keyFile = path.join(cfg.dataDir, 'dev-api-key');
    devKey = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : generateApiKey();
    fs.writeFileSync(keyFile, `${devKey}\n`, { mode: 0o600 });
    env.BOOTSTRAP_API_KEYS = `dev:${devKey}`;
  }
  // Dev operator key for the API's /codec/* (Temporal CLI: --codec-auth), kept like the dev API key.
  let devOperatorKey: string | undefined;
  if (!cfg.operatorApiKeys) {
    const keyFile = path.join(cfg.dataDir, 'dev-operator-key');
    devOperatorKey = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : generateApiKey().replace(/^rk_/, 'op_');
    fs.writeFileSync(keyFile, `${devOperatorKey}\n`, { mode: 0o600 });
    env.OPERATOR_API_KEYS = devOperatorKey;
  }
  const keys = resolveKeySpecs(cfg); // generate dev encryption keys once, before API and worker race for them

  let temporalUiUrl: string | null = null;
  if (topology === 'dev' && !cfg.temporalAddress) {
    const cli = await provisionTemporalCli(root, (m) => say('start', m), devTools);
    // The dev UI cannot send an API key: it gets its own redacting codec on loopback (see dev-ui-codec.ts).
    const codec = await startDevUiCodec({ payloadCodecKeys: keys.payloadCodecKeys, corsOrigins: codecCorsOrigins(cfg) });
    uiCodec = codec;
    say('start', `starting Temporal dev server (${cli.path})…`);
    temporal = supervised(
      'temporal',
      async () => {
        // The same SQLite file each time: a restarted server carries on with every workflow.
        const server = await startDevServer({
          cliPath: cli.path,
          dbFile: path.join(cfg.dataDir, 'temporal.sqlite'),
          port: cfg.temporalPort,
          uiPort: cfg.temporalUiPort,
          namespace: cfg.temporalNamespace,
          logFile: path.join(cfg.dataDir, 'logs', 'temporal.log'),
          uiCodecEndpoint: codec.url,
          onRestart: (reason) => say('start', reason),
        });
        temporalUiUrl = server.uiUrl;
        env.TEMPORAL_ADDRESS = server.address;
        return { process: server.process, stop: () => server.stop() };
      },
      '; see .data/logs/temporal.log',
    );
    await temporal.start();
  }

  if (!cfg.databaseUrl) {
    say('start', `starting embedded Postgres on port ${cfg.embeddedPostgresPort} (data in ${path.relative(root, cfg.dataDir)}/postgres)…`);
    pg = supervised('postgres', async () => {
      const db = await startEmbeddedPostgres(cfg.dataDir, cfg.embeddedPostgresPort, (l) => say('start', l));
      env.DATABASE_URL = db.url;
      return { process: db.process, stop: () => stopWithin(() => db.stop(), db.process, 30_000) };
    });
    await pg.start();
  }

  if (topology === 'cluster') {
    const binaries = await provisionClusterBinaries((m) => say('start', m));
    const codec = await startDevUiCodec({ payloadCodecKeys: keys.payloadCodecKeys, corsOrigins: codecCorsOrigins(cfg) });
    uiCodec = codec;
    say('start', `starting a Temporal cluster on Postgres (${binaries.server})…`);
    const started = await startTemporalCluster({
      binaries,
      postgres: clusterPostgresFor(env.DATABASE_URL ?? cfg.databaseUrl!),
      dataDir: path.join(cfg.dataDir, 'temporal-cluster'),
      frontendPort: cfg.temporalPort,
      uiPort: cfg.temporalUiPort,
      namespace: cfg.temporalNamespace,
      uiCodecEndpoint: codec.url,
      log: (m) => say('start', m),
    });
    temporalUiUrl = started.uiUrl;
    env.TEMPORAL_ADDRESS = started.address;
    // Each service is supervised on its own: the first launch is the process already running, a
    // later one starts that service again with the same config and ports.
    for (const { service, process: first } of [...started.processes]) {
      let initial: typeof first | undefined = first;
      const unit = supervised(`temporal-${service}`, async () => {
        const child = initial ?? (await started.restart(service as ClusterService)).process;
        initial = undefined;
        return { process: child, stop: () => stopWithin(async () => void child.kill('SIGTERM'), child, 10_000) };
      }, `; see ${path.relative(root, cfg.dataDir)}/temporal-cluster/logs/temporal-${service}.log`);
      clusterServices.push(unit);
      await unit.start();
    }
  }

  const onLine = (name: string, line: string) => say(name, line);
  const launch = (name: string, script: string, stopMs: number, readyUrl?: string, ownEnv: NodeJS.ProcessEnv = {}): Supervised => {
    const svc = supervised(name, async () => {
      const s = spawnService(name, path.join(root, 'dist', script), { ...env, ...ownEnv }, onLine);
      if (readyUrl) {
        try {
          await waitForHttp(readyUrl, 30_000, s.child);
        } catch (err) {
          await s.stop(2000);
          throw err;
        }
      }
      return { process: s.child, stop: () => s.stop(stopMs) };
    });
    services.push(svc);
    return svc;
  };

  if (start.launchSandboxCrm) await launch('sandbox-crm', 'apps/sandbox-crm/main.js', 10_000, `${cfg.sandboxCrmUrl}/health`).start();
  if (topology === 'dev') {
    await launch('worker', 'apps/worker/main.js', workerStopMs).start();
    const api = launch('api', 'apps/api/main.js', apiStopMs);
    await api.start();
    await waitForHttp(`http://127.0.0.1:${cfg.apiPort}/ready?require=worker`, 120_000, api.process);
  } else {
    for (let i = 0; i < CLUSTER_REPLICAS; i++) {
      // Two workers on one host: each its own metrics ports (0 keeps a listener off).
      const ports = (base: number) => (base === 0 ? '0' : String(base + 2 * i));
      const ownEnv = { WORKER_METRICS_PORT: ports(cfg.workerMetricsPort), TEMPORAL_SDK_METRICS_PORT: ports(cfg.temporalSdkMetricsPort) };
      await launch(`worker-${i + 1}`, 'apps/worker/main.js', workerStopMs, undefined, ownEnv).start();
    }
    // The proxy takes PORT (on HOST) before the APIs start, so a taken port fails at once; the APIs
    // listen on loopback ports of their own behind it.
    const apiPorts: number[] = [];
    for (let i = 0; i < CLUSTER_REPLICAS; i++) apiPorts.push(await freePort());
    const upstreams = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    proxy = await startRoundRobinProxy(upstreams, { port: cfg.apiPort, host: cfg.apiHost });
    say('start', `round-robin proxy on ${cfg.apiHost}:${cfg.apiPort} → ${upstreams.join(', ')}`);
    for (const [i, port] of apiPorts.entries()) {
      const api = launch(`api-${i + 1}`, 'apps/api/main.js', apiStopMs, undefined, { PORT: String(port), HOST: '127.0.0.1' });
      await api.start();
      await waitForHttp(`http://127.0.0.1:${port}/ready?require=worker`, 120_000, api.process);
    }
  }
  for (const s of [temporal, pg, ...clusterServices, ...services]) s?.arm();

  const lines = [
    '',
    `Reauthorization engine is up${topology === 'cluster' ? ` (cluster topology: ${CLUSTER_SERVICES_LINE}, ${CLUSTER_REPLICAS} workers, ${CLUSTER_REPLICAS} APIs)` : ''}.`,
    `  API            ${cfg.publicUrl}   (OpenAPI docs: ${cfg.publicUrl}/docs)`,
    `  Temporal UI    ${temporalUiUrl ?? '(external Temporal: ' + env.TEMPORAL_ADDRESS + ')'}${uiCodec ? `   (decodes through ${uiCodec.url}, credentials redacted)` : ''}`,
    `  Sandbox CRM    ${cfg.sandboxCrmUrl}`,
    devKey ? `  Dev API key    ${devKey}   (also in ${path.relative(root, cfg.dataDir)}/dev-api-key)` : '  API keys       from BOOTSTRAP_API_KEYS',
    devOperatorKey
      ? `  Operator key   ${devOperatorKey}   (for ${cfg.publicUrl}/codec only; also in ${path.relative(root, cfg.dataDir)}/dev-operator-key)`
      : '  Operator keys  from OPERATOR_API_KEYS',
    '',
    'A process that dies is restarted. Press Ctrl-C to stop everything.',
    '',
  ];
  for (const l of lines) say('start', l);
}

main().catch((err) => {
  console.error('start failed:', err);
  if (shutdownRef) void shutdownRef(1);
  else process.exit(1);
});
