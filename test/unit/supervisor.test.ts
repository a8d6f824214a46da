/**
 * The restart rule of `npm start` (libs/dev/supervisor.ts) on real, short-lived child processes:
 * exponential backoff with a cap, forgotten after a stable run; nothing restarted before `arm()`
 * or once the stop has begun.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_RESTART_POLICY, restartDelayMs, Supervised, type RestartPolicy, type Running } from '../../libs/dev/supervisor';

/** A child that lives `ms` and exits with `code`. */
function shortLived(ms: number, code = 3): () => Promise<Running> {
  return async () => {
    const p = spawn(process.execPath, ['-e', `setTimeout(() => process.exit(${code}), ${ms})`], { stdio: 'ignore' });
    return {
      process: p,
      stop: async () => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await gone;
      },
    };
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('npm start supervision', () => {
  test('the delay doubles from the initial one up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelayMs(DEFAULT_RESTART_POLICY, n))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  test('a child dying again and again is restarted with a growing, capped delay; stop() ends it for good', async () => {
    const lines: string[] = [];
    const policy: RestartPolicy = { initialDelayMs: 20, maxDelayMs: 80, stableAfterMs: 60_000 };
    let launches = 0;
    const launch = shortLived(30);
    const s = new Supervised({
      name: 'worker',
      policy,
      launch: () => (launches++, launch()),
      log: (l) => lines.push(l),
      onExitBeforeArmed: () => assert.fail('armed from the start'),
    });
    s.arm();
    await s.start();
    await until('five restarts', () => lines.filter((l) => l.includes('restarted')).length >= 5);
    await s.stop();
    const scheduled = lines.filter((l) => l.includes('restarting in'));
    expect(scheduled.slice(0, 5).map((l) => /restarting in (\d+) ms \(attempt (\d+)\)/.exec(l)!.slice(1).map(Number))).toEqual([
      [20, 1],
      [40, 2],
      [80, 3],
      [80, 4],
      [80, 5],
    ]);
    expect(scheduled[0]).toMatch(/^worker exited unexpectedly \(exit code 3\) after \d+\.\d s; restarting in 20 ms \(attempt 1\)$/);
    const after = launches;
    await sleep(300);
    expect(launches).toBe(after);
    expect(s.process).toBeUndefined();
  });

  test('a child that ran for the stable period starts the backoff over', async () => {
    const lines: string[] = [];
    const s = new Supervised({
      name: 'api',
      policy: { initialDelayMs: 20, maxDelayMs: 1000, stableAfterMs: 100 },
      launch: shortLived(200),
      log: (l) => lines.push(l),
      onExitBeforeArmed: () => assert.fail('armed from the start'),
    });
    s.arm();
    await s.start();
    await until('three restarts', () => lines.filter((l) => l.includes('restarted')).length >= 3);
    await s.stop();
    expect(lines.filter((l) => l.includes('restarting in')).every((l) => l.endsWith('restarting in 20 ms (attempt 1)'))).toBe(true);
  });

  test('a stop during a restart stops what that restart started', async () => {
    const processes: ChildProcess[] = [];
    let launches = 0;
    const s = new Supervised({
      name: 'temporal',
      policy: { initialDelayMs: 10, maxDelayMs: 10, stableAfterMs: 60_000 },
      launch: async () => {
        launches += 1;
        // The first instance dies at once; the restart takes a while to come up, then would run on.
        const run = await shortLived(launches === 1 ? 30 : 60_000)();
        processes.push(run.process);
        if (launches > 1) await sleep(300);
        return run;
      },
      log: () => undefined,
      onExitBeforeArmed: () => assert.fail('armed from the start'),
    });
    s.arm();
    await s.start();
    await until('the restart under way', () => processes.length === 2);
    await s.stop();
    const restarted = processes[1];
    expect(restarted.exitCode !== null || restarted.signalCode !== null).toBe(true);
    expect(launches).toBe(2);
  });

  test('before arm() a death is handed over, not restarted; once the stop began, an exit is not restarted either', async () => {
    const deaths: (number | null)[] = [];
    const lines: string[] = [];
    const early = new Supervised({ name: 'temporal', launch: shortLived(30, 1), log: (l) => lines.push(l), onExitBeforeArmed: (code) => deaths.push(code) });
    await early.start();
    await until('the death handed over', () => deaths.length === 1);
    expect(deaths).toEqual([1]);

    const late = new Supervised({ name: 'postgres', launch: shortLived(100, 0), log: (l) => lines.push(l), onExitBeforeArmed: (code) => deaths.push(code) });
    late.arm();
    await late.start();
    late.stopping();
    await sleep(700);
    await late.stop();
    expect(lines).toEqual([]);
    expect(deaths).toEqual([1]);
  });
});
