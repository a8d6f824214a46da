/**
 * The round-robin proxy in front of the cluster topology's APIs, against real HTTP servers on
 * loopback: turns, fail-over when an API refuses connections (with a body too), an upstream that
 * dies mid-answer ends the client's response, hop-by-hop headers and a forged X-Forwarded-For do not
 * pass, oversized bodies are refused.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../libs/dev/round-robin-proxy';
import { freePort } from '../../libs/temporal/dev-server';

interface Upstream {
  url: string;
  seen: Array<{ method: string; body: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

async function upstream(name: string, handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, body, headers: req.headers });
      if (handler) return handler(req, res);
      res.writeHead(200, { 'content-type': 'application/json', 'keep-alive': 'timeout=5' });
      res.end(JSON.stringify({ name, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('round-robin proxy', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });
  const start = async (urls: string[], options = {}): Promise<RoundRobinProxy> => {
    const p = await startRoundRobinProxy(urls, options);
    open.push(p);
    return p;
  };

  test('sends requests to the upstreams in turn, bodies included', async () => {
    const [a, b] = [await upstream('a'), await upstream('b')];
    open.push(a, b);
    const proxy = await start([a.url, b.url]);
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${proxy.url}/v1/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
      names.push(((await res.json()) as { name: string }).name);
    }
    expect(names).toEqual(['a', 'b', 'a', 'b']);
    expect(a.seen.map((s) => s.body)).toEqual(['{"i":0}', '{"i":2}']);
  });

  test('an upstream that refuses connections (restarting) is skipped, for POSTs with a body as for GETs', async () => {
    const a = await upstream('a');
    open.push(a);
    const down = `http://127.0.0.1:${await freePort()}`;
    const proxy = await start([down, a.url]);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${proxy.url}/v1/x`, { method: i % 2 ? 'GET' : 'POST', body: i % 2 ? undefined : `{"i":${i}}`, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
    }
    expect(a.seen.map((s) => s.body)).toEqual(['{"i":0}', '', '{"i":2}', '']);
  });

  test('no upstream answering: 502 with the API error shape', async () => {
    const proxy = await start([`http://127.0.0.1:${await freePort()}`]);
    const res = await fetch(`${proxy.url}/v1/x`);
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: { code: 'bad_gateway', message: 'no API process answered' } });
  });

  test('an upstream that dies mid-answer ends the client response with an error instead of leaving it hanging', async () => {
    const a = await upstream('a', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    open.push(a);
    const proxy = await start([a.url]);
    const res = await fetch(`${proxy.url}/slow`);
    let timer: NodeJS.Timeout | undefined;
    const hanging = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('still hanging')), 3000)));
    await expect(Promise.race([res.text(), hanging]).finally(() => clearTimeout(timer))).rejects.toThrow(/terminated|aborted|other side closed|socket/i);
  });

  test('hop-by-hop headers and a forged X-Forwarded-For do not reach the API', async () => {
    const a = await upstream('a');
    open.push(a);
    const proxy = await start([a.url]);
    // node:http, not fetch: fetch itself refuses to send Connection and TE.
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${proxy.url}/v1/x`, {
        agent: false,
        headers: { 'x-forwarded-for': '203.0.113.9', 'proxy-authorization': 'Basic c2VjcmV0', 'x-secret-hop': '1', connection: 'x-secret-hop', te: 'trailers' },
      });
      req.on('response', (r) => {
        r.resume();
        r.on('end', () => resolve(r));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    const headers = a.seen[0].headers;
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers['x-secret-hop']).toBeUndefined();
    expect(headers.te).toBeUndefined();
  });

  test('a body over the limit is refused with 413 and never forwarded', async () => {
    const a = await upstream('a');
    open.push(a);
    const proxy = await start([a.url], { maxBodyBytes: 1024 });
    const res = await fetch(`${proxy.url}/v1/x`, { method: 'POST', body: 'x'.repeat(4096) }).catch((err: Error) => err);
    if (res instanceof Error) expect(res.message).toMatch(/fetch failed/);
    else {
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    }
    expect(a.seen).toEqual([]);
  });
});
