/**
 * `.data/npm-start.pid` (libs/dev/run-lock.ts) with real processes: a live `npm start` on the same
 * data is refused; the leftovers of a dead one are ended — but only processes that still run as
 * recorded, never a process that merely got a recorded pid again.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { commandLine, processAlive, RunLock } from '../../libs/dev/run-lock';

const children: ChildProcess[] = [];
function longLived(tag: string): ChildProcess {
  const p = spawn(process.execPath, ['-e', `setInterval(() => {}, 1000) /* ${tag} */`], { stdio: 'ignore' });
  children.push(p);
  return p;
}
async function started(p: ChildProcess): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const cmd = commandLine(p.pid!);
    if (cmd?.includes('setInterval')) return cmd;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('child did not start');
}
async function gone(p: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100 && processAlive(p.pid!); i++) await new Promise((r) => setTimeout(r, 50));
  return !processAlive(p.pid!);
}

describe('npm start run lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-lock-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = () => path.join(dir, 'npm-start.pid');

  test('a fresh data directory: taken, children recorded, released on a clean stop', async () => {
    const lock = await RunLock.acquire(dir, () => assert.fail('nothing to report'));
    const child = longLived('api');
    await started(child);
    lock.track('api', child);
    const record = JSON.parse(fs.readFileSync(file(), 'utf8'));
    expect(record.pid).toBe(process.pid);
    expect(record.children.api.pid).toBe(child.pid);
    lock.release();
    expect(fs.existsSync(file())).toBe(false);
  });

  test('a live npm start on the same data is refused', async () => {
    const other = longLived('start.js');
    const cmdline = await started(other);
    fs.writeFileSync(file(), JSON.stringify({ pid: other.pid, cmdline, children: {} }));
    await expect(RunLock.acquire(dir, () => undefined)).rejects.toThrow(`npm start is already running on ${dir} (pid ${other.pid})`);
  });

  test('the leftovers of a dead npm start are ended; a pid that now runs something else is left alone', async () => {
    const orphan = longLived('worker');
    const stranger = longLived('unrelated');
    const orphanCmd = await started(orphan);
    await started(stranger);
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    fs.writeFileSync(
      file(),
      JSON.stringify({
        pid: dead.pid,
        cmdline: 'node dist/scripts/start.js',
        children: { worker: { pid: orphan.pid, cmdline: orphanCmd }, api: { pid: stranger.pid, cmdline: 'node dist/apps/api/main.js' } },
      }),
    );
    const lines: string[] = [];
    const lock = await RunLock.acquire(dir, (l) => lines.push(l));
    expect(lines).toEqual([`the previous npm start (pid ${dead.pid}) did not stop cleanly; ending what it left running: worker (pid ${orphan.pid})`]);
    expect(await gone(orphan)).toBe(true);
    expect(processAlive(stranger.pid!)).toBe(true);
    expect(JSON.parse(fs.readFileSync(file(), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });
});
