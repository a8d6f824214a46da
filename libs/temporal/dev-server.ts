import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDevToolsConfig, type DevToolsConfig } from '../config/config';
import { SEARCH_ATTRIBUTES } from './search-attributes';

/** The newest CLI tag that `go install` accepts (later tags carry `replace` directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export function userCachePath(tools: DevToolsConfig = loadDevToolsConfig()): string {
  return path.join(tools.cacheDir, 'reauth-engine', `temporal-${TEMPORAL_CLI_VERSION}`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, tools: DevToolsConfig): string | undefined {
  for (const dir of tools.searchPath) {
    if (isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export interface CliLocation {
  path: string;
  source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'project' | 'user-cache' | 'go-install';
}

/**
 * Finds the Temporal CLI in a fixed order without building anything.
 * Returns undefined when a build (or the SDK download) is needed.
 * `tools` (TEMPORAL_CLI_PATH, PATH, XDG_CACHE_HOME) defaults to the process's settings.
 */
export function findTemporalCli(projectRoot = process.cwd(), tools: DevToolsConfig = loadDevToolsConfig()): CliLocation | undefined {
  const explicit = tools.temporalCliPath;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return { path: explicit, source: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal', tools);
  if (fromPath) return { path: fromPath, source: 'PATH' };
  const project = path.join(projectRoot, '.temporal', 'bin', 'temporal');
  if (isExecutable(project)) return { path: project, source: 'project' };
  const cached = userCachePath(tools);
  if (isExecutable(cached)) return { path: cached, source: 'user-cache' };
  return undefined;
}

/**
 * Finds the CLI, or builds it once with `go install` into `.temporal/bin` and copies it into the
 * per-user cache so that fresh clones (and CI on the same machine) reuse it. Returns undefined
 * when Go is missing, in which case callers fall back to the SDK's own download.
 */
export function provisionTemporalCli(
  projectRoot = process.cwd(),
  log: (msg: string) => void = console.log,
  tools: DevToolsConfig = loadDevToolsConfig(),
): CliLocation | undefined {
  const found = findTemporalCli(projectRoot, tools);
  if (found) {
    // Keep the per-user cache warm whichever copy was found, so the next clone skips the build.
    if (found.source === 'project' && !isExecutable(userCachePath(tools))) copyIntoCache(found.path, tools);
    return found;
  }
  const go = onPath('go', tools) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) return undefined;
  const gobin = path.join(projectRoot, '.temporal', 'bin');
  fs.mkdirSync(gobin, { recursive: true });
  log(`building the Temporal CLI (${CLI_MODULE}) with go install; this takes a few minutes once…`);
  const res = spawnSync(go, ['install', CLI_MODULE], {
    cwd: os.tmpdir(),
    // The child gets our environment (go needs HOME, GOPATH, proxies…) plus where to put the binary.
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const built = path.join(gobin, 'temporal');
  if (res.status !== 0 || !isExecutable(built)) {
    throw new Error(`go install ${CLI_MODULE} failed (exit ${res.status}); see the output above`);
  }
  copyIntoCache(built, tools);
  return { path: built, source: 'go-install' };
}

function copyIntoCache(binary: string, tools: DevToolsConfig): void {
  const cached = userCachePath(tools);
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  fs.copyFileSync(binary, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, cached);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`temporal dev server did not listen on ${port} within ${timeoutMs} ms`);
}

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file; omitted means in-memory (tests that do not need persistence). */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  logLevel?: string;
  /** Where the server's own output goes; defaults to discarding it. */
  logFile?: string;
  /** Remote codec the UI decodes payloads with (`--ui-codec-endpoint`); ignored when headless. */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` with the search attributes of `libs/temporal/search-attributes.ts` registered and, when
 * persistent, SQLite in WAL mode (readers never block the single writer; far fewer fsyncs).
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', opts.namespace ?? 'default'];
  args.push('--log-level', opts.logLevel ?? 'warn');
  if (opts.headless) args.push('--headless');
  else {
    args.push('--ui-port', String(uiPort));
    if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  }
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  let out: number | 'ignore' = 'ignore';
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    out = fs.openSync(opts.logFile, 'a');
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', out, out], detached: false });
  if (typeof out === 'number') fs.closeSync(out);
  try {
    await waitForPort(port, 60_000, child);
  } catch (err) {
    // Not up in time: leave nothing running behind the error.
    await stopChild(child, 2000);
    throw err;
  }
  if (!opts.headless) await waitForPort(uiPort, 30_000, child).catch(() => undefined);

  return {
    address: `127.0.0.1:${port}`,
    uiUrl: opts.headless ? null : `http://localhost:${uiPort}`,
    process: child,
    stop: () => stopChild(child, 10_000),
  };
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
