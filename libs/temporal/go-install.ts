import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` in `searchPath` (the PATH's directories). */
export function onPath(name: string, tools: { searchPath: readonly string[] }): string | undefined {
  for (const dir of tools.searchPath) {
    if (isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export interface GoInstallJob {
  /** Packages with their version, e.g. `go.temporal.io/server/cmd/server@v1.31.2` (one module per job). */
  packages: readonly string[];
  /** The binaries the job leaves in `gobin`, e.g. `server`, `sql`. */
  binaries: readonly string[];
  /** What the progress lines call it, e.g. `Temporal CLI`. */
  label: string;
}

/**
 * `go install -v <packages>` with GOBIN=`gobin`. Go's own output (a line per module downloaded and
 * per package compiled) is summarized every `everyMs` rather than printed; on failure the last lines
 * that are not package names (the errors) go into the exception. Resolves with the built binaries'
 * paths, in the order of `job.binaries`.
 */
export function goInstall(go: string, job: GoInstallJob, gobin: string, log: (msg: string) => void, everyMs: number): Promise<string[]> {
  fs.mkdirSync(gobin, { recursive: true });
  const t0 = Date.now();
  let [modules, packages, lastPackage] = [0, 0, ''];
  const others: string[] = [];
  const child = spawn(go, ['install', '-v', ...job.packages], {
    cwd: os.tmpdir(),
    // The child gets our environment (go needs HOME, GOPATH, proxies…) plus where to put the binary.
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  const onData = (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (/^go: downloading /.test(line)) modules++;
      else if (/^[\w.-]+(\/[\w.~@+-]+)*$/.test(line.trim()) && line.trim()) {
        packages++;
        lastPackage = line.trim();
      } else if (line.trim()) {
        others.push(line);
        if (others.length > 40) others.shift();
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setInterval(() => {
    const s = Math.round((Date.now() - t0) / 1000);
    log(`${job.label}: still building… ${s} s (${modules} modules downloaded, ${packages} packages compiled${lastPackage ? `; last ${lastPackage}` : ''})`);
  }, everyMs);
  const what = job.packages.join(' ');
  return new Promise((resolve, reject) => {
    const fail = (why: string) =>
      reject(new Error(`go install ${what} failed (${why}) after ${Math.round((Date.now() - t0) / 1000)} s${others.length ? `:\n${others.slice(-25).join('\n')}` : ''}`));
    child.once('error', (err) => {
      clearInterval(timer);
      fail(err.message);
    });
    child.once('close', (code, signal) => {
      clearInterval(timer);
      if (pending.trim()) onData(Buffer.from('\n'));
      if (code !== 0) return fail(signal ? `killed by ${signal}` : `exit ${code}`);
      const built = job.binaries.map((b) => path.join(gobin, b));
      const missing = built.filter((b) => !isExecutable(b));
      if (missing.length) return fail(`no ${missing.join(', ')} afterwards`);
      log(`${job.label}: go install finished in ${Math.round((Date.now() - t0) / 1000)} s (${modules} modules downloaded, ${packages} packages compiled)`);
      resolve(built);
    });
  });
}

/** Copies `binary` to `target` atomically (a reader never sees half a file), executable. */
export function copyExecutable(binary: string, target: string): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.copyFileSync(binary, tmp);
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, target);
}
