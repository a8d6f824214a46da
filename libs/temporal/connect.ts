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

/** How to reach Temporal: plain gRPC (dev server, a cluster inside the network), or TLS with an API key (Temporal Cloud). */
export interface TemporalEndpoint {
  address: string;
  apiKey?: string;
}

/** Connection options of an endpoint; the key goes in a header of every call, never in a log. */
export function connectionOptions(endpoint: TemporalEndpoint): { address: string; tls?: boolean; apiKey?: string } {
  return endpoint.apiKey ? { address: endpoint.address, tls: true, apiKey: endpoint.apiKey } : { address: endpoint.address };
}

export function connectClient(endpoint: TemporalEndpoint, timeoutMs = 60_000): Promise<Connection> {
  return withRetry(`cannot reach Temporal at ${endpoint.address}`, () => Connection.connect(connectionOptions(endpoint)), timeoutMs);
}

export function connectWorker(endpoint: TemporalEndpoint, timeoutMs = 60_000): Promise<NativeConnection> {
  return withRetry(`cannot reach Temporal at ${endpoint.address}`, () => NativeConnection.connect(connectionOptions(endpoint)), timeoutMs);
}

export function temporalAddress(cfg: { temporalAddress?: string; temporalPort: number }): string {
  return cfg.temporalAddress ?? `127.0.0.1:${cfg.temporalPort}`;
}
