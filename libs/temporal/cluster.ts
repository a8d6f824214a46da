import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import type { ClusterBinaries } from './cluster-binaries';
import { stopChild, waitForPort } from './dev-server';
import { SEARCH_ATTRIBUTES } from './search-attributes';

/**
 * A real Temporal cluster on this machine: the four Temporal services (frontend, history, matching,
 * worker), each its own `temporal-server` process as in a deployment, on Postgres (persistence and
 * SQL visibility), plus the Temporal UI server. Used by `npm run start:cluster`, the cluster e2e
 * suite and `npm run bench -- --topology=cluster`.
 */

/** Where the cluster keeps its state: a Postgres server it may create two databases on. */
export interface ClusterPostgres {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** Names of its two databases (persistence, visibility); created and given their schema when missing. */
  database: string;
  visibilityDatabase: string;
}

/** Postgres's longest identifier (NAMEDATALEN − 1 bytes); a longer database name would be cut silently. */
const POSTGRES_MAX_IDENTIFIER = 63;

/**
 * The cluster's state on the engine's own Postgres server, named after the engine's database
 * (`<db>_temporal`, `<db>_temporal_visibility`): two deployments sharing one server, each with its
 * own engine database, never share (or drop) each other's Temporal databases. Refuses a name that
 * is not plain letters, digits and underscores or that would pass Postgres's identifier limit, since
 * it goes into `CREATE DATABASE` and onto the schema tool's command line.
 */
export function clusterPostgresFor(databaseUrl: string): ClusterPostgres {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error('DATABASE_URL is not a URL (postgres://user:password@host:port/database)');
  }
  const engineDatabase = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
  const database = `${engineDatabase}_temporal`;
  const visibilityDatabase = `${database}_visibility`;
  if (!/^[A-Za-z0-9_]+$/.test(engineDatabase) || Buffer.byteLength(visibilityDatabase) > POSTGRES_MAX_IDENTIFIER) {
    throw new Error(
      `the cluster names its Temporal databases after DATABASE_URL's database (${JSON.stringify(engineDatabase)} → ${database}, ${visibilityDatabase}); ` +
        `that needs a name of letters, digits and underscores, at most ${POSTGRES_MAX_IDENTIFIER - '_temporal_visibility'.length} characters`,
    );
  }
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
    visibilityDatabase,
  };
}

export interface ClusterOptions {
  binaries: ClusterBinaries;
  postgres: ClusterPostgres;
  /** Config files and one log per process go here. */
  dataDir: string;
  /** The frontend's gRPC port (what workers and clients dial); default a free one. */
  frontendPort?: number;
  /** The UI's HTTP port; default a free one. */
  uiPort?: number;
  /** Omit the UI server (tests that do not look at it). */
  headless?: boolean;
  namespace?: string;
  /** Remote codec the UI decodes payloads with. */
  uiCodecEndpoint?: string;
  /** Progress lines (what is being created, started, registered). */
  log?: (line: string) => void;
}

/** The Temporal services, started in this order (history and matching before the frontend routes to them). */
export const CLUSTER_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;

/** How many workers and API processes the cluster topology runs (`npm run start:cluster`). */
export const CLUSTER_REPLICAS = 2;
export type ClusterService = (typeof CLUSTER_SERVICES)[number] | 'ui';

export interface ClusterProcess {
  service: ClusterService;
  process: ChildProcess;
}

export interface TemporalCluster {
  address: string;
  uiUrl: string | null;
  namespace: string;
  processes: ClusterProcess[];
  /** Starts `service` again after it died or was killed (same config, same ports). */
  restart(service: ClusterService): Promise<ClusterProcess>;
  stop(): Promise<void>;
}

const SQL_PLUGIN = 'postgres12';

/** Runs the schema tool; resolves with its output, rejects with it on a non-zero exit. */
function sqlTool(bin: string, pg: ClusterPostgres, database: string, args: string[]): Promise<string> {
  const common = ['--plugin', SQL_PLUGIN, '--ep', pg.host, '--port', String(pg.port), '--user', pg.user, '--db', database];
  return new Promise((resolve, reject) => {
    // The password goes in the tool's environment (SQL_PASSWORD), never on its command line, which
    // every local user can read in `ps`.
    const env = { ...process.env, SQL_PASSWORD: pg.password ?? '' };
    const child = spawn(bin, [...common, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`temporal-sql-tool ${args[0]} on ${database} exited ${code}:\n${out.trim().split('\n').slice(-10).join('\n')}`)),
    );
  });
}

/**
 * Creates the cluster's two databases when missing and brings their schema to the version this
 * server build embeds (`update-schema` is a no-op on an up-to-date database, so restarts are cheap).
 */
export async function prepareClusterDatabases(bin: string, pg: ClusterPostgres, log: (line: string) => void = () => undefined): Promise<void> {
  const admin = new PgClient({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: 'postgres' });
  await admin.connect();
  try {
    for (const [database, schema] of [
      [pg.database, 'postgresql/v12/temporal'],
      [pg.visibilityDatabase, 'postgresql/v12/visibility'],
    ] as const) {
      const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount;
      if (!exists) {
        log(`Temporal cluster: creating database ${database} and its schema`);
        await sqlTool(bin, pg, database, ['create-database']);
      }
      // The version table comes first (a no-op when there), then every versioned step not yet applied.
      const versioned = await hasVersionTable(pg, database);
      if (!versioned) await sqlTool(bin, pg, database, ['setup-schema', '-v', '0.0']);
      await sqlTool(bin, pg, database, ['update-schema', '--schema-name', schema]);
    }
  } finally {
    await admin.end();
  }
}

async function hasVersionTable(pg: ClusterPostgres, database: string): Promise<boolean> {
  const c = new PgClient({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database });
  await c.connect();
  try {
    return !!(await c.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version'`)).rowCount;
  } finally {
    await c.end();
  }
}

/** Drops the cluster's databases (tests clean up after themselves). */
export async function dropClusterDatabases(pg: ClusterPostgres): Promise<void> {
  const admin = new PgClient({ host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: 'postgres' });
  await admin.connect();
  try {
    for (const db of [pg.database, pg.visibilityDatabase]) await admin.query(`DROP DATABASE IF EXISTS "${db.replace(/"/g, '')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

interface Ports {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  membership: Record<(typeof CLUSTER_SERVICES)[number], number>;
}

/**
 * The server's configuration (YAML is a superset of JSON, so it is written as JSON). Every service
 * binds to loopback; membership goes through the cluster_membership table of the persistence store.
 */
export function clusterServerConfig(pg: ClusterPostgres, ports: Ports, dynamicConfigFile: string): object {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: SQL_PLUGIN,
      databaseName,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password ?? '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, extra: object = {}) => ({ rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra } });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      // Shards are fixed for the life of the cluster's data: 4 is plenty for one machine.
      numHistoryShards: 4,
      datastores: { default: store(pg.database, 20), visibility: store(pg.visibilityDatabase, 5) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
    },
    services: {
      frontend: rpc(ports.frontend, ports.membership.frontend, { httpPort: ports.frontendHttp }),
      history: rpc(ports.history, ports.membership.history),
      matching: rpc(ports.matching, ports.membership.matching),
      worker: rpc(ports.worker, ports.membership.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Dynamic configuration: what the dev server gets by flag, and what one machine needs. */
export const CLUSTER_DYNAMIC_CONFIG: Record<string, unknown> = {
  // An activity scheduled on the worker's own task queue comes back with the workflow task's completion.
  'system.enableActivityEagerExecution': true,
  // A newly registered search attribute is usable at once (not after the cache's next refresh).
  'system.forceSearchAttributesCacheRefreshOnRead': true,
};

function dynamicConfigYaml(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n`)
    .join('');
}

function uiServerConfig(opts: { frontend: number; port: number; namespace: string; codecEndpoint?: string }): object {
  return {
    temporalGrpcAddress: `127.0.0.1:${opts.frontend}`,
    host: '127.0.0.1',
    port: opts.port,
    publicPath: '',
    enableUi: true,
    defaultNamespace: opts.namespace,
    showTemporalSystemNamespace: false,
    disableNewsFetch: true,
    notifyOnNewVersion: false,
    refreshInterval: '1m',
    cors: { cookieInsecure: true, allowOrigins: [`http://localhost:${opts.port}`, `http://127.0.0.1:${opts.port}`] },
    auth: { enabled: false },
    codec: { endpoint: opts.codecEndpoint ?? '', passAccessToken: false, includeCredentials: false },
  };
}


function tail(file: string, lines = 15): string {
  try {
    // Server lines are JSON with long stack traces: the message and error are what a reader needs.
    return fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(-lines)
      .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
      .join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * A free TCP port under `limit`: the cluster_membership table keeps a service's membership port in a
 * smallint, so the kernel's ephemeral ports (32768 and up, what port 0 gives) are refused there.
 */
export async function freePortBelow(limit: number, from = 20_000): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (limit - from));
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port between ${from} and ${limit}`);
}

async function portIsFree(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `fn` until it succeeds (every 500 ms, for up to a minute); then its last error. */
async function retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what} not usable after 60 s: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Registers the namespace (when missing) and the search attributes (those missing), then waits until both serve. */
async function prepareNamespace(address: string, namespace: string, log: (line: string) => void): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const svc = connection.workflowService;
    // A frontend that listens may not serve yet: both calls are retried until it does.
    const known = await retrying(`the frontend`, () =>
      svc.describeNamespace({ namespace }).then(
        () => true,
        (err: { code?: number }) => {
          if (err.code === 5 /* NOT_FOUND */) return false;
          throw err;
        },
      ),
    );
    if (!known) {
      log(`Temporal cluster: registering namespace ${namespace}`);
      await retrying(`registering namespace ${namespace}`, () =>
        svc.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') }).catch((err: { code?: number }) => {
          if (err.code !== 6 /* ALREADY_EXISTS */) throw err;
        }),
      );
    }
    // The frontend learns of a new namespace on its cache's next refresh (up to 10 s).
    const existing = await retrying(`namespace ${namespace}`, () => connection.operatorService.listSearchAttributes({ namespace }));
    const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (existing.customAttributes ?? {})));
    if (missing.length) {
      log(`Temporal cluster: registering search attributes ${missing.map(([n]) => n).join(', ')}`);
      const types = temporal.api.enums.v1.IndexedValueType;
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, types[`INDEXED_VALUE_TYPE_${type.toUpperCase()}` as keyof typeof types]])),
      });
    }
    // Ready when a visibility query by them is answered, as the Temporal UI and the API ask it.
    const query = Object.keys(SEARCH_ATTRIBUTES).map((name) => `${name} = 'probe'`).join(' AND ');
    await retrying(`search attributes of ${namespace}`, () => svc.countWorkflowExecutions({ namespace, query }));
  } finally {
    await connection.close();
  }
}

/** Starts the cluster: databases and schema, the four services, namespace and search attributes, the UI. */
export async function startTemporalCluster(opts: ClusterOptions): Promise<TemporalCluster> {
  const log = opts.log ?? (() => undefined);
  const namespace = opts.namespace ?? 'default';
  fs.mkdirSync(path.join(opts.dataDir, 'logs'), { recursive: true });
  await prepareClusterDatabases(opts.binaries.sqlTool, opts.postgres, log);

  const free = async () => freePortBelow(32_768);
  const ports: Ports = {
    frontend: opts.frontendPort ?? (await free()),
    frontendHttp: await free(),
    history: await free(),
    matching: await free(),
    worker: await free(),
    membership: { history: await free(), matching: await free(), frontend: await free(), worker: await free() },
  };
  const dynamicConfigFile = path.join(opts.dataDir, 'dynamicconfig.yaml');
  fs.writeFileSync(dynamicConfigFile, dynamicConfigYaml(CLUSTER_DYNAMIC_CONFIG));
  const configFile = path.join(opts.dataDir, 'temporal-server.yaml');
  // It holds the database password: readable by us only.
  fs.writeFileSync(configFile, JSON.stringify(clusterServerConfig(opts.postgres, ports, dynamicConfigFile), null, 2), { mode: 0o600 });
  fs.chmodSync(configFile, 0o600); // `mode` applies only when the file is created; an older one may be wider


  const uiPort = opts.uiPort ?? (await free());
  // A port asked for must be ours: another Temporal listening there would answer our readiness
  // checks and take our namespace and search attributes.
  for (const [what, port] of [
    ['TEMPORAL_PORT (the frontend)', opts.frontendPort],
    ['TEMPORAL_UI_PORT', opts.headless ? undefined : opts.uiPort],
  ] as const) {
    if (port !== undefined && !(await portIsFree(port))) throw new Error(`Temporal cluster: port ${port} (${what}) is in use, by another Temporal perhaps; stop it or choose another port`);
  }
  const uiRoot = path.join(opts.dataDir, 'ui');
  if (!opts.headless) {
    fs.mkdirSync(path.join(uiRoot, 'config'), { recursive: true });
    const cfg = uiServerConfig({ frontend: ports.frontend, port: uiPort, namespace, codecEndpoint: opts.uiCodecEndpoint });
    fs.writeFileSync(path.join(uiRoot, 'config', 'base.yaml'), JSON.stringify(cfg, null, 2));
  }

  const processes: ClusterProcess[] = [];
  const grpcPort = (service: (typeof CLUSTER_SERVICES)[number]) => ports[service];
  const launch = async (service: ClusterService): Promise<ClusterProcess> => {
    const logFile = path.join(opts.dataDir, 'logs', `temporal-${service}.log`);
    const out = fs.openSync(logFile, 'a');
    const [bin, args, port] =
      service === 'ui'
        ? [opts.binaries.uiServer, ['--root', uiRoot, '--config', 'config', '--env', 'cluster', 'start'], uiPort]
        : [opts.binaries.server, ['--config-file', configFile, '--allow-no-auth', 'start', '--service', service], grpcPort(service)];
    const child = spawn(bin, args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    // A binary that cannot be run (removed from the cache, say) fails the start, not the process.
    const spawnFailed = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`cannot run ${bin}: ${err.message}`))));
    const entry = { service, process: child };
    const at = processes.findIndex((p) => p.service === service);
    if (at >= 0) processes[at] = entry;
    else processes.push(entry);
    try {
      await Promise.race([waitForPort(port, 90_000, child, `Temporal ${service}`, () => `; see ${logFile}:\n${tail(logFile)}`), spawnFailed]);
    } catch (err) {
      // Nothing left behind a start that failed (the supervisor may try again on the same ports).
      await stopChild(child, 5_000);
      throw err;
    }
    return entry;
  };
  const stop = async () => {
    for (const p of [...processes].reverse()) await stopChild(p.process, 10_000);
  };
  try {
    for (const service of CLUSTER_SERVICES) {
      log(`Temporal cluster: starting ${service}`);
      await launch(service);
    }
    const address = `127.0.0.1:${ports.frontend}`;
    await prepareNamespace(address, namespace, log);
    if (!opts.headless) {
      log('Temporal cluster: starting the UI server');
      await launch('ui');
    }
    return {
      address,
      uiUrl: opts.headless ? null : `http://localhost:${uiPort}`,
      namespace,
      processes,
      restart: launch,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
