import type { INestApplication, LoggerService } from '@nestjs/common';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ShutdownState } from './health/shutdown-state';

export interface GracefulStopOptions {
  /** `/ready` answers 503 for this long while everything is still served. */
  delayMs: number;
  /** Then no new connection is accepted, and requests in flight get this long to finish. */
  timeoutMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The API's stop on SIGTERM/SIGINT, in the order a rolling update needs:
 * 1. `/ready` turns 503 at once (the load balancer stops sending new traffic) while the API keeps
 *    serving for `delayMs` — requests that were already routed here still arrive meanwhile;
 * 2. the listener closes: new connections are refused; idle keep-alive connections are closed, and
 *    busy ones are closed as soon as their request is answered (`Connection: close`);
 * 3. once every request in flight is answered — or after `timeoutMs`, when the remaining connections
 *    are cut — Nest's shutdown hooks close Postgres and Temporal, and the process exits 0.
 * Installs the signal handlers; a second signal during the stop is ignored.
 */
export function installGracefulStop(app: INestApplication, logger: LoggerService, opts: GracefulStopOptions): void {
  const server = app.getHttpServer() as Server;
  const state = app.get(ShutdownState);
  const busy = new Map<Socket, number>();
  let closing = false;
  server.on('request', (req, res) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    // A request that arrives on a kept-alive connection after the listener closed is answered, then that connection ends.
    if (closing) res.setHeader('connection', 'close');
    res.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
    });
  });

  const stop = async (signal: string): Promise<void> => {
    if (state.stopping) return;
    state.begin();
    logger.log(`${signal}: /ready answers 503; serving for ${opts.delayMs} ms more, then no new connections`, 'Shutdown');
    await sleep(opts.delayMs);
    closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Connections that go idle from now on (their last request answered) are closed too.
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    logger.log(`listener closed; waiting up to ${opts.timeoutMs} ms for ${busy.size} connection(s) with requests in flight`, 'Shutdown');
    const finished = await Promise.race([closed.then(() => true), sleep(opts.timeoutMs).then(() => false)]);
    clearInterval(sweeper);
    if (!finished) {
      logger.warn(`requests still in flight after ${opts.timeoutMs} ms; cutting ${busy.size} connection(s)`, 'Shutdown');
      server.closeAllConnections();
    }
    await app.close();
    logger.log('API stopped', 'Shutdown');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      stop(signal).catch((err: unknown) => {
        console.error('api: graceful stop failed:', err);
        process.exit(1);
      });
    });
  }
}
