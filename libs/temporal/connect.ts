import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

/** Temporal may still be starting next to us (npm start, tests): retry for a while before giving up. */
async function withRetry<T>(what: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export function connectClient(address: string, timeoutMs = 60_000): Promise<Connection> {
  return withRetry(`cannot reach Temporal at ${address}`, () => Connection.connect({ address }), timeoutMs);
}

export function connectWorker(address: string, timeoutMs = 60_000): Promise<NativeConnection> {
  return withRetry(`cannot reach Temporal at ${address}`, () => NativeConnection.connect({ address }), timeoutMs);
}

export function temporalAddress(cfg: { temporalAddress?: string; temporalPort: number }): string {
  return cfg.temporalAddress ?? `127.0.0.1:${cfg.temporalPort}`;
}
