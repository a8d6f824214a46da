/**
 * Runs `npm start` (here `node dist/scripts/start.js`, what it runs after building) as a test
 * does: its own data directory and free ports, output collected, and the process tree it made
 * found by pid so that a test can check that nothing of it is left.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { freePort } from '../../libs/temporal/dev-server';
import { ROOT } from './paths';

/** Every descendant of `pid` (children, their children, …) that runs now. */
export function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const all: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      all.push(c);
      walk(c);
    }
  };
  walk(pid);
  return all;
}

/** Whether a process runs; a zombie (dead, not reaped yet) does not. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}

/** Whether nothing listens on the port: it can be bound again. */
export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A fresh data directory under .data/ (a fresh clone has no .data yet), removed by the caller. */
export function npmStartDataDir(prefix: string): string {
  fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, '.data', prefix));
  // The embedded Postgres runs as the postgres user and must reach its directory.
  fs.chmodSync(dir, 0o755);
  return dir;
}

export interface NpmStartPorts {
  api: number;
  crm: number;
  temporal: number;
  ui: number;
  pg: number;
}

export async function npmStartPorts(): Promise<NpmStartPorts> {
  return { api: await freePort(), crm: await freePort(), temporal: await freePort(), ui: await freePort(), pg: await freePort() };
}

/** The environment of an `npm start` on these ports and data, nothing inherited that would point it elsewhere. */
export function npmStartEnv(dataDir: string, ports: NpmStartPorts, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(ports.api),
    SANDBOX_CRM_PORT: String(ports.crm),
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    EMBEDDED_POSTGRES_PORT: String(ports.pg),
    LOG_FORMAT: 'json',
  };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'BOOTSTRAP_API_KEYS', 'CREDENTIALS_KEYS', 'PAYLOAD_CODEC_KEYS', 'SANDBOX_CRM_URL', 'PUBLIC_URL']) delete env[k];
  return { ...env, ...extra };
}

export interface NpmStart {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves with the exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  /** Waits until the output holds `what` (after `from`, an offset into the output). */
  waitForOutput(what: string | RegExp, timeoutMs: number, from?: number): Promise<void>;
}

/**
 * Spawns `npm start` (with `args`, e.g. `--topology=cluster` for `npm run start:cluster`). With `ownProcessGroup` it leads a process group of its own, which its
 * children join: `process.kill(-pid, …)` then reaches all of them at once, as a terminal's Ctrl-C
 * does (SIGINT) or a power cut (SIGKILL).
 */
export function spawnNpmStart(env: NodeJS.ProcessEnv, opts: { ownProcessGroup?: boolean; args?: string[] } = {}): NpmStart {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'start.js'), ...(opts.args ?? [])], {
    env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownProcessGroup ?? false,
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async waitForOutput(what, timeoutMs, from = 0) {
      const deadline = Date.now() + timeoutMs;
      const seen = () => (typeof what === 'string' ? output.slice(from).includes(what) : what.test(output.slice(from)));
      while (!seen()) {
        if (child.exitCode !== null || child.signalCode !== null) assert.fail(`npm start exited while waiting for ${String(what)}:\n${output.slice(-4000)}`);
        if (Date.now() > deadline) assert.fail(`npm start did not print ${String(what)} within ${timeoutMs} ms:\n${output.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}

/** Waits for `exited` up to `timeoutMs`; 'timeout' if it did not. */
export async function exitWithin(run: NpmStart, timeoutMs: number): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([run.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
  clearTimeout(timer);
  return code;
}

/** The processes `npm start` recorded in `<data>/npm-start.pid`, by name (api, worker, temporal, postgres, …). */
export function recordedChildren(dataDir: string): Record<string, number> {
  const record = JSON.parse(fs.readFileSync(path.join(dataDir, 'npm-start.pid'), 'utf8')) as { children: Record<string, { pid: number }> };
  return Object.fromEntries(Object.entries(record.children).map(([name, c]) => [name, c.pid]));
}
