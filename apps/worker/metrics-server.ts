import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics } from 'prom-client';
import { workerRegistry } from '../../activities/metrics';

/** How long a scrape waits for the Temporal SDK's exporter before answering without its metrics. */
const SDK_SCRAPE_TIMEOUT_MS = 2000;

export interface WorkerMetricsLog {
  log(message: string, context?: string): void;
  warn(message: string, context?: string): void;
}

export interface WorkerMetricsOptions {
  host: string;
  port: number;
  /** The Temporal SDK's Prometheus exporter (Runtime telemetry), merged into every scrape; null: none. */
  sdkMetricsUrl: string | null;
  logger: WorkerMetricsLog;
  /** The state of each Temporal worker of the process, by task queue (`GET /health`); unset: always healthy. */
  workerStates?: () => Record<string, string>;
}

export interface WorkerMetricsServer {
  /** Where it listens (`http://host:port/metrics`). */
  url: string;
  close(): Promise<void>;
}

const LOG_CONTEXT = 'WorkerMetrics';

/** The SDK exporter's text, or a comment saying why it is missing (the scrape still answers). */
async function sdkMetrics(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!res.ok) return `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
    const text = await res.text();
    return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  } catch (err) {
    return `# Temporal SDK metrics unavailable: ${(err as Error).name}\n`;
  }
}

/**
 * The worker's Prometheus endpoint, `GET /metrics`: the business counters the activities increment
 * (activities/metrics.ts), the Node runtime metrics (`reauth_worker_*`) and the Temporal SDK's own
 * worker metrics (`temporal_*`, fetched from its exporter on the loopback interface), in one scrape,
 * and `GET /health` for a liveness probe. Nothing else is served. A port that is taken costs the
 * metrics, not the worker: it logs a warning and keeps working without them.
 */
let runtimeMetricsCollected = false;

export async function startWorkerMetricsServer(options: WorkerMetricsOptions): Promise<WorkerMetricsServer | null> {
  if (!runtimeMetricsCollected) {
    collectDefaultMetrics({ register: workerRegistry, prefix: 'reauth_worker_' });
    runtimeMetricsCollected = true;
  }
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      // For a liveness probe: healthy while every worker of the process polls (not before it has
      // started, nor once it failed or is draining for a stop).
      const workers = options.workerStates?.() ?? {};
      const healthy = Object.values(workers).every((state) => state === 'RUNNING');
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ status: healthy ? 'ok' : 'unavailable', workers }));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the worker serves GET /metrics and GET /health only\n');
      return;
    }
    Promise.all([workerRegistry.metrics(), options.sdkMetricsUrl ? sdkMetrics(options.sdkMetricsUrl) : Promise.resolve('')]).then(
      ([own, sdk]) => res.writeHead(200, { 'content-type': workerRegistry.contentType }).end(own + sdk),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (err) {
    options.logger.warn(`worker metrics not served on ${options.host}:${options.port}: ${(err as Error).message}`, LOG_CONTEXT);
    return null;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/metrics`;
  options.logger.log(`worker metrics on ${url}`, LOG_CONTEXT);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
