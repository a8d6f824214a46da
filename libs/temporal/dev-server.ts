import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadDevToolsConfig, type DevToolsConfig } from '../config/config';
import { copyExecutable, goInstall, isExecutable, onPath } from './go-install';
import { SEARCH_ATTRIBUTES } from './search-attributes';

/** The newest CLI tag that `go install` accepts (later tags carry `replace` directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export function userCachePath(tools: DevToolsConfig = loadDevToolsConfig()): string {
  return path.join(tools.cacheDir, 'reauth-engine', `temporal-${TEMPORAL_CLI_VERSION}`);
}

export interface CliLocation {
  path: string;
  source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'project' | 'user-cache' | 'sdk-download' | 'go-install';
}

/** Where the Temporal SDK's own download of the dev server (`@temporalio/testing`) is kept. */
export function sdkDownloadDir(tools: DevToolsConfig = loadDevToolsConfig()): string {
  return path.join(tools.cacheDir, 'reauth-engine', 'sdk-download');
}

/** The newest CLI the SDK downloaded earlier (it names the file `temporal-<sdk>-<version>`), if any. */
function sdkDownloadedCli(tools: DevToolsConfig): string | undefined {
  const dir = sdkDownloadDir(tools);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  return names
    .filter((n) => n.startsWith('temporal') && !n.endsWith('.downloading'))
    .map((n) => path.join(dir, n))
    .filter(isExecutable)
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}

/**
 * Finds the Temporal CLI in a fixed order without building or downloading anything:
 * TEMPORAL_CLI_PATH, PATH, the project's `.temporal/bin`, the per-user cache (a CLI built by
 * `go install`, then one the SDK downloaded). Returns undefined when a build or download is needed.
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
  const downloaded = sdkDownloadedCli(tools);
  if (downloaded) return { path: downloaded, source: 'sdk-download' };
  return undefined;
}

export interface ProvisionOptions {
  /** Where Go may be when it is not on PATH (default: the official tarball's /usr/local/go/bin/go). */
  goLocations?: readonly string[];
  /** Fetches the dev server into `dir` (default: the Temporal SDK's cached download, `@temporalio/testing`). */
  download?: (dir: string) => Promise<void>;
  /** How often a build or download in progress says it is still going (default 15 s). */
  progressEveryMs?: number;
}

/**
 * Finds the CLI; or builds it once with `go install` into `.temporal/bin` and copies it into the
 * per-user cache so that fresh clones (and CI on the same machine) reuse it; or, without Go, has the
 * Temporal SDK download its dev server build into the per-user cache. It says what it tries at each
 * step, and a build or download in progress reports every `progressEveryMs`. Throws, naming every
 * place it tried and what to do, when none of that gives a CLI.
 */
export async function provisionTemporalCli(
  projectRoot = process.cwd(),
  log: (msg: string) => void = console.log,
  tools: DevToolsConfig = loadDevToolsConfig(),
  options: ProvisionOptions = {},
): Promise<CliLocation> {
  const found = findTemporalCli(projectRoot, tools);
  if (found) {
    // Keep the per-user cache warm whichever copy was found, so the next clone skips the build.
    if (found.source === 'project' && !isExecutable(userCachePath(tools))) copyIntoCache(found.path, tools);
    return found;
  }
  const everyMs = options.progressEveryMs ?? 15_000;
  const looked = ['TEMPORAL_CLI_PATH (unset)', 'PATH', path.join(projectRoot, '.temporal', 'bin'), userCachePath(tools), sdkDownloadDir(tools)];
  log(`Temporal CLI: not found (looked at ${looked.join(', ')})`);

  const goLocations = options.goLocations ?? ['/usr/local/go/bin/go'];
  const go = onPath('go', tools) ?? goLocations.find(isExecutable);
  if (go) {
    log(`Temporal CLI: Go found at ${go}; building ${CLI_MODULE} with go install (a few minutes, once; then cached in ${userCachePath(tools)})…`);
    const [built] = await goInstall(go, { packages: [CLI_MODULE], binaries: ['temporal'], label: 'Temporal CLI' }, path.join(projectRoot, '.temporal', 'bin'), log, everyMs);
    copyIntoCache(built, tools);
    log(`Temporal CLI: built ${built}`);
    return { path: built, source: 'go-install' };
  }

  const dir = sdkDownloadDir(tools);
  log(`Temporal CLI: Go not found (PATH, ${goLocations.join(', ') || 'no other place'}); trying the Temporal SDK's download of the dev server into ${dir}…`);
  fs.mkdirSync(dir, { recursive: true });
  const download = options.download ?? sdkDownload;
  try {
    await withProgress(download(dir), everyMs, (s) => log(`Temporal CLI: still downloading… ${s} s${downloadedSoFar(dir)}`));
  } catch (error) {
    throw new Error(
      [
        'No Temporal CLI, and none could be built or downloaded:',
        `  - not found at TEMPORAL_CLI_PATH (unset), on PATH, in ${path.join(projectRoot, '.temporal', 'bin')} or in ${path.dirname(userCachePath(tools))}`,
        `  - Go is not installed (not on PATH nor at ${goLocations.join(', ') || '-'}), so it cannot be built`,
        `  - the Temporal SDK's download of the dev server failed: ${(error as Error).message}`,
        'Do one of: install Go >= 1.25 and run `npm run temporal:cli`; install the Temporal CLI yourself and set TEMPORAL_CLI_PATH (or put `temporal` on PATH);',
        'retry when the download service is reachable (a proxy goes in HTTPS_PROXY); or point TEMPORAL_ADDRESS at a running Temporal server.',
      ].join('\n'),
      { cause: error },
    );
  }
  const downloaded = sdkDownloadedCli(tools);
  if (!downloaded) throw new Error(`the Temporal SDK reported a download, but ${dir} holds no executable temporal file`);
  log(`Temporal CLI: downloaded ${downloaded}`);
  return { path: downloaded, source: 'sdk-download' };
}

/** Runs `work`, calling `report(seconds)` every `everyMs` until it settles. */
async function withProgress<T>(work: Promise<T>, everyMs: number, report: (seconds: number) => void): Promise<T> {
  const t0 = Date.now();
  const timer = setInterval(() => report(Math.round((Date.now() - t0) / 1000)), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

function downloadedSoFar(dir: string): string {
  try {
    const partial = fs.readdirSync(dir).find((n) => n.endsWith('.downloading'));
    return partial ? ` (${(fs.statSync(path.join(dir, partial)).size / 1024 / 1024).toFixed(1)} MiB so far)` : '';
  } catch {
    return '';
  }
}

/**
 * The Temporal SDK's own download of the dev server: `TestWorkflowEnvironment.createLocal` fetches the
 * CLI build that matches the SDK version into `dir` (kept there for the next time), starts it once,
 * and we stop it again: what we keep is the binary.
 */
async function sdkDownload(dir: string): Promise<void> {
  let testing: typeof import('@temporalio/testing');
  try {
    testing = await import('@temporalio/testing');
  } catch (error) {
    throw new Error('@temporalio/testing is not installed (it is a dev dependency: run `npm ci`, not `npm ci --omit=dev`)', { cause: error });
  }
  const env = await testing.TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: dir, ttl: '3650d' }, ip: '127.0.0.1', log: { format: 'json', level: 'error' } },
  });
  await env.teardown();
}

function copyIntoCache(binary: string, tools: DevToolsConfig): void {
  copyExecutable(binary, userCachePath(tools));
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

/**
 * Resolves once something accepts connections on 127.0.0.1:`port`; rejects when `child` exits first
 * or time runs out. `what` names the process in the error, `hint` (where its log is, say) ends it.
 */
export async function waitForPort(port: number, timeoutMs: number, child: ChildProcess, what = 'temporal dev server', hint: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before listening on ${port}${hint()}`);
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
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms${hint()}`);
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
  /** Told why, when a server that exited while starting is started again. */
  onRestart?: (reason: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  /** The last lines the server printed (from its log file when it has one): what to show when it dies. */
  recentOutput(): string;
  stop(): Promise<void>;
}

/** How many times a server that exits while starting is started again. */
const START_ATTEMPTS = 3;
/** Lines of output kept for recentOutput() when the server has no log file, each cut to OUTPUT_LINE_CHARS. */
const OUTPUT_LINES_KEPT = 40;
const OUTPUT_LINE_CHARS = 2000;

/** The last `lines` lines of a file (reading at most its last 64 KiB); '' when it cannot be read. */
function tailOfFile(file: string, lines: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      return buf.toString('utf8').split('\n').filter(Boolean).slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Starts `temporal server start-dev` with the search attributes of `libs/temporal/search-attributes.ts` registered and, when
 * persistent, SQLite in WAL mode (readers never block the single writer; far fewer fsyncs).
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  // The CLI picks its internal ports (history, matching, HTTP, metrics) by binding port 0 and
  // letting go, as freePort does; another process can take one in between, and the server then
  // exits while starting. That is a lost race, not a broken server: it is started again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(opts);
    } catch (err) {
      if (!(err instanceof DevServerExitedError) || attempt >= START_ATTEMPTS) throw err;
      opts.onRestart?.(`${err.message}; starting it again (attempt ${attempt + 1} of ${START_ATTEMPTS})`);
    }
  }
}

/** The server process ended before it was ready; `message` ends with its last output. */
export class DevServerExitedError extends Error {}

async function startDevServerOnce(opts: DevServerOptions): Promise<DevServer> {
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
  // Eager activities: an activity a workflow task schedules on the worker's own task queue comes
  // back with that task's completion, instead of through another poll (one round trip less per
  // activity; the worker asks for it, the server must allow it).
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');

  let out: number | 'pipe' = 'pipe';
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    out = fs.openSync(opts.logFile, 'a');
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', out, out], detached: false });
  if (typeof out === 'number') fs.closeSync(out);
  // Without a log file the output is kept in memory, its last lines only, for recentOutput().
  const kept: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    // Bounded however the server writes: a line without an end cannot grow without limit either.
    partial = (lines.pop() ?? '').slice(0, OUTPUT_LINE_CHARS);
    kept.push(...lines.filter(Boolean).map((line) => line.slice(0, OUTPUT_LINE_CHARS)));
    if (kept.length > OUTPUT_LINES_KEPT) kept.splice(0, kept.length - OUTPUT_LINES_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const recentOutput = () => (opts.logFile ? tailOfFile(opts.logFile, OUTPUT_LINES_KEPT) : [...kept, partial].filter(Boolean).join('\n'));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const exitedError = () => {
    const output = recentOutput().trim();
    return new DevServerExitedError(`temporal dev server exited (${child.exitCode ?? child.signalCode}) while starting${output ? `; its last output:\n${output}` : '; it printed nothing'}`);
  };
  try {
    await waitForPort(port, 60_000, child);
    if (!opts.headless) await waitForPort(uiPort, 30_000, child).catch(() => undefined);
  } catch (err) {
    const exitedByItself = exited();
    // Not up in time: leave nothing running behind the error.
    await stopChild(child, 2000);
    if (exitedByItself) throw exitedError();
    throw err;
  }
  if (exited()) throw exitedError();

  return {
    address: `127.0.0.1:${port}`,
    uiUrl: opts.headless ? null : `http://localhost:${uiPort}`,
    process: child,
    recentOutput,
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
