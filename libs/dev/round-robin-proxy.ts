import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

/**
 * The load balancer in front of several API processes on one machine (`npm run start:cluster`, the
 * cluster tests): each request goes to the next upstream in turn. The request body is read first
 * (up to `maxBodyBytes`, the API's own JSON limit), so a request that an upstream refuses to connect
 * for (it is down, being restarted) is sent to the next one instead, whatever its method. A
 * deployment uses its platform's balancer (a Kubernetes Service) instead.
 */
export interface RoundRobinProxy {
  url: string;
  port: number;
  /** Requests sent to each upstream so far, by its URL. */
  counts: Map<string, number>;
  close(): Promise<void>;
}

export interface RoundRobinProxyOptions {
  port?: number;
  host?: string;
  /** Larger bodies are answered 413 without being forwarded (default 1 MiB, the API's JSON limit). */
  maxBodyBytes?: number;
}

/** Headers of one hop only (RFC 9110 §7.6.1): never forwarded, in either direction. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.includes(name) && !named.includes(name)) out[name] = value;
  }
  return out;
}

function answer(res: http.ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message } }));
}

export async function startRoundRobinProxy(upstreams: readonly string[], options: RoundRobinProxyOptions = {}): Promise<RoundRobinProxy> {
  if (!upstreams.length) throw new Error('round-robin proxy: no upstreams');
  const targets = upstreams.map((u) => new URL(u));
  const counts = new Map(upstreams.map((u) => [u, 0]));
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, tried: number) => {
    const index = next++ % targets.length;
    const target = targets[index];
    const headers = endToEnd(req.headers);
    // The client's address as this proxy saw it (never a value the client sent).
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    if (body.length || req.headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, agent, headers }, (reply) => {
      counts.set(upstreams[index], (counts.get(upstreams[index]) ?? 0) + 1);
      res.writeHead(reply.statusCode ?? 502, endToEnd(reply.headers));
      // An upstream that dies mid-answer ends the client's response too (pipeline destroys both).
      pipeline(reply, res, () => undefined);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      // Refused: nothing reached that process (it is down or restarting); the next one takes it.
      if (err.code === 'ECONNREFUSED' && tried + 1 < targets.length) return forward(req, res, body, tried + 1);
      answer(res, 502, 'bad_gateway', 'no API process answered');
    });
    // A client that goes away stops the upstream request as well.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body.length ? body : undefined);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        answer(res, 413, 'payload_too_large', `request bodies are limited to ${maxBodyBytes} bytes`);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size <= maxBodyBytes) forward(req, res, Buffer.concat(chunks), 0);
    });
    req.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    url: `http://${shownHost}:${bound}`,
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
