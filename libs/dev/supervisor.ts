import type { ChildProcess } from 'node:child_process';

/** How `npm start` restarts a child that died: exponential backoff, capped, forgotten after a stable run. */
export interface RestartPolicy {
  /** Delay before the first restart. */
  initialDelayMs: number;
  /** The delay doubles with each restart in a row up to this. */
  maxDelayMs: number;
  /** A child that ran at least this long before it died starts again from `initialDelayMs`. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, stableAfterMs: 60_000 };

/** The delay before restart number `attempt` (1, 2, …) in a row. */
export function restartDelayMs(policy: RestartPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** One running instance of a child: its process and how to stop it in order. */
export interface Running {
  process: ChildProcess;
  stop(): Promise<void>;
}

/** How a child ended, for log lines: `exit code 1`, `signal SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/** A child exiting on SIGINT/SIGTERM (or with the codes shells use for them) was asked to stop. */
export function exitedOnStopSignal(code: number | null, signal: NodeJS.Signals | null): boolean {
  return signal === 'SIGINT' || signal === 'SIGTERM' || code === 130 || code === 143;
}

export interface SupervisedOptions {
  name: string;
  /** Starts an instance; resolves once it is up (rejects, having cleaned up, when it could not start). */
  launch: () => Promise<Running>;
  log: (line: string) => void;
  policy?: RestartPolicy;
  /**
   * While the system is still coming up, a death is not restarted but handed here (`npm start`
   * stops: a child that cannot even start is a setting or a taken port, not a crash).
   */
  onExitBeforeArmed: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** Called with each new process (to record its pid). */
  onStarted?: (process: ChildProcess) => void;
}

/**
 * One child of `npm start`, restarted when it dies unexpectedly once `arm()` was called. A child
 * that exits on SIGINT/SIGTERM is given a moment first: Ctrl-C in a terminal reaches the whole
 * process group, so the child may exit before our own handler has called `stop()` — that exit is
 * part of the stop, not a crash.
 */
export class Supervised {
  private current?: Running;
  private startedAt = 0;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  /** A restart under way. */
  private launching?: Promise<Running>;
  private stopped = false;
  private armed = false;
  private readonly policy: RestartPolicy;

  constructor(private readonly opts: SupervisedOptions) {
    this.policy = opts.policy ?? DEFAULT_RESTART_POLICY;
  }

  get name(): string {
    return this.opts.name;
  }

  /** The process of the instance running now (undefined while waiting to restart). */
  get process(): ChildProcess | undefined {
    const p = this.current?.process;
    return p && p.exitCode === null && p.signalCode === null ? p : undefined;
  }

  async start(): Promise<void> {
    this.adopt(await this.opts.launch());
  }

  /** From now on a death is restarted. */
  arm(): void {
    this.armed = true;
  }

  /**
   * From now on an exit is part of the stop: called for every child as soon as the stop begins, so
   * that one ending on the Ctrl-C before its turn (Postgres exits 0 on SIGINT) is not restarted.
   */
  stopping(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Stops the running instance (or the pending restart, or the one being started) for good. */
  async stop(): Promise<void> {
    this.stopping();
    await this.current?.stop();
    // A Ctrl-C during a restart: wait for that start to end, and stop what it started.
    const run = await this.launching?.catch(() => undefined);
    await run?.stop();
  }

  private adopt(run: Running): void {
    this.current = run;
    this.startedAt = Date.now();
    this.opts.onStarted?.(run.process);
    run.process.once('exit', (code, signal) => {
      // Look a moment later when it may have been the Ctrl-C (a signal, or a clean exit): the
      // signal may still be on its way to our own handler.
      setTimeout(() => this.onExit(run, code, signal), exitedOnStopSignal(code, signal) || code === 0 ? 300 : 0);
    });
  }

  private onExit(run: Running, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopped || run !== this.current) return;
    if (!this.armed) {
      this.opts.onExitBeforeArmed(code, signal);
      return;
    }
    const upMs = Date.now() - this.startedAt;
    // A child that had been running steadily starts the backoff over.
    if (upMs >= this.policy.stableAfterMs) this.attempt = 0;
    this.scheduleRestart(`exited unexpectedly (${describeExit(code, signal)}) after ${(upMs / 1000).toFixed(1)} s`);
  }

  private scheduleRestart(why: string): void {
    this.attempt += 1;
    const delay = restartDelayMs(this.policy, this.attempt);
    this.opts.log(`${this.name} ${why}; restarting in ${delay} ms (attempt ${this.attempt})`);
    this.timer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    let run: Running;
    try {
      this.launching = this.opts.launch();
      run = await this.launching;
    } catch (err) {
      this.launching = undefined;
      if (this.stopped) return;
      this.scheduleRestart(`could not start (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    if (this.stopped) return; // Ctrl-C came while it was starting: stop() stops it.
    this.launching = undefined;
    this.adopt(run);
    this.opts.log(`${this.name} restarted (pid ${run.process.pid}, attempt ${this.attempt})`);
  }
}
