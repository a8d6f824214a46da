import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `.data/npm-start.pid`: which `npm start` owns a data directory and which processes it started.
 * A clean stop removes it. Found at start, it is either a running `npm start` (a second one on the
 * same data would share Temporal's SQLite file: refused) or the leftover of one that did not stop —
 * killed, or a power cut. Then every process it recorded that still runs as recorded (same pid,
 * same command line: a reused pid is left alone) is an orphan holding ports and files: it is ended.
 */
interface RunRecord {
  pid: number;
  cmdline: string;
  children: Record<string, { pid: number; cmdline: string }>;
}

/** Whether a process runs (a zombie — dead, not yet reaped — does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** The command line of a running process (Linux /proc), or undefined. */
export function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RunLock {
  private readonly record: RunRecord;

  private constructor(
    private readonly file: string,
    pid: number,
  ) {
    this.record = { pid, cmdline: commandLine(pid) ?? '', children: {} };
    this.write();
  }

  /** Takes the data directory, ending the orphans of an `npm start` that did not stop. */
  static async acquire(dataDir: string, log: (line: string) => void): Promise<RunLock> {
    const file = path.join(dataDir, 'npm-start.pid');
    const previous = readRecord(file);
    if (previous && previous.pid !== process.pid) {
      if (processAlive(previous.pid) && commandLine(previous.pid) === previous.cmdline) {
        throw new Error(`npm start is already running on ${dataDir} (pid ${previous.pid}); stop it first, or use another DATA_DIR`);
      }
      const orphans = Object.entries(previous.children).filter(([, c]) => processAlive(c.pid) && commandLine(c.pid) === c.cmdline);
      log(
        `the previous npm start (pid ${previous.pid}) did not stop cleanly` +
          (orphans.length ? `; ending what it left running: ${orphans.map(([n, c]) => `${n} (pid ${c.pid})`).join(', ')}` : ''),
      );
      await endAll(orphans.map(([name, c]) => ({ name, pid: c.pid })));
    }
    return new RunLock(file, process.pid);
  }

  /** Records a child (again after each restart). */
  track(name: string, child: ChildProcess): void {
    if (child.pid === undefined) return;
    this.record.children[name] = { pid: child.pid, cmdline: commandLine(child.pid) ?? '' };
    this.write();
  }

  /** After a clean stop. */
  release(): void {
    fs.rmSync(this.file, { force: true });
  }

  private write(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(this.record)}\n`);
    fs.renameSync(tmp, this.file);
  }
}

function readRecord(file: string): RunRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
    return typeof r.pid === 'number' && typeof r.children === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** SIGQUIT for Postgres (immediate shutdown: its backends go too), SIGKILL for the rest; waits until all are gone. */
async function endAll(processes: { name: string; pid: number }[]): Promise<void> {
  for (const p of processes) {
    try {
      process.kill(p.pid, p.name === 'postgres' ? 'SIGQUIT' : 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const killAt = Date.now() + 10_000;
  const giveUpAt = killAt + 5_000;
  while (processes.some((p) => processAlive(p.pid)) && Date.now() < giveUpAt) {
    if (Date.now() > killAt) {
      for (const p of processes) if (processAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
    }
    await sleep(100);
  }
}
