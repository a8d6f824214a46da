import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { stopChild } from '../temporal/dev-server';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  stop(graceMs?: number): Promise<void>;
}

/** Runs one of our Node apps as a child process, each output line handed to `onLine`. */
export function spawnService(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  onLine: (name: string, line: string, stream: 'stdout' | 'stderr') => void,
): ServiceProcess {
  const child = spawn(process.execPath, ['--enable-source-maps', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  readline.createInterface({ input: child.stdout! }).on('line', (l) => onLine(name, l, 'stdout'));
  readline.createInterface({ input: child.stderr! }).on('line', (l) => onLine(name, l, 'stderr'));
  return { name, child, stop: (graceMs = 10_000) => stopChild(child, graceMs) };
}

/** Polls a URL until it answers 2xx (or the process dies, or time runs out). */
export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process exited (code ${child.exitCode}) before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
}
