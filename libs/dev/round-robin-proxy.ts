import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The load balancer in front of several API processes on one machine (`npm run start:cluster`, the
 * cluster tests): each request goes to the next upstream in turn; one that refuses the connection
 * is skipped for the next (a request whose body was already being sent gets a 502 instead).
 * A deployment uses its platform's balancer (a Kubernetes Service) instead.
 */
export interface RoundRobinProxy {
  url: string;
  port: number;
  /** Requests sent to each upstream so far, by its URL. */
  counts: Map<string, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(upstreams: readonly string[], port = 0, host = '127.0.0.1'): Promise<RoundRobinProxy> {
  if (!upstreams.length) throw new Error('round-robin proxy: no upstreams');
  const targets = upstreams.map((u) => new URL(u));
  const counts = new Map(upstreams.map((u) => [u, 0]));
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, tried: number) => {
    const target = targets[next++ % targets.length];
    const key = upstreams[targets.indexOf(target)];
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        agent,
        headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '', 'x-forwarded-host': req.headers.host ?? '' },
      },
      (answer) => {
        counts.set(key, (counts.get(key) ?? 0) + 1);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      // Refused before anything was sent: that process is down (restarting); the next one takes it.
      if (err.code === 'ECONNREFUSED' && tried + 1 < targets.length && !req.readableDidRead) return forward(req, res, tried + 1);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'bad_gateway', message: 'no API process answered' } }));
      } else res.destroy();
    });
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => forward(req, res, 0));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
