/**
 * The message of the API's request log lines (libs/nest/logger.ts requestLogMessage), through the
 * same pino-http options the API uses, on a real HTTP server: an answered request names its status;
 * one whose client went away first says so instead of the default 200 nobody was sent.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pinoHttp from 'pino-http';
import { pinoParams, requestLogMessage } from '../../libs/nest/logger';

test('answered requests name their status, with secrets in the query scrubbed', () => {
  expect(requestLogMessage({ method: 'GET', url: '/ready?require=worker' }, { statusCode: 503, writableEnded: true })).toBe('GET /ready?require=worker 503');
  expect(requestLogMessage({ method: 'GET', url: '/oauth/callback?code=abc&state=xyz' }, { statusCode: 302, writableEnded: true })).toBe(
    'GET /oauth/callback?code=[redacted]&state=[redacted] 302',
  );
});

test('a request whose client went away is logged as aborted, not as 200', () => {
  expect(requestLogMessage({ method: 'GET', url: '/ready?require=worker' }, { statusCode: 200, writableEnded: false })).toBe(
    'GET /ready?require=worker aborted: the client went away before the answer was sent',
  );
  expect(requestLogMessage({ method: 'POST', url: '/v1/x', readableAborted: true }, { statusCode: 200, writableEnded: true })).toMatch(/aborted/);
});

test('through pino-http on a real server: the aborted request and the answered one', async () => {
  const lines: Array<{ msg: string; res?: { statusCode: number | null } }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const { pinoHttp: options } = pinoParams({ logLevel: 'info', logFormat: 'json' }, 'api') as { pinoHttp: Record<string, unknown> };
  const logRequests = pinoHttp({ ...options, transport: undefined }, sink);
  const server = http.createServer((req, res) => {
    logRequests(req, res);
    // /slow answers after its client has given up; /fast at once.
    setTimeout(() => (res.writableEnded || res.destroyed ? undefined : res.end('ok')), req.url === '/slow' ? 400 : 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await fetch(`${base}/slow`, { signal: AbortSignal.timeout(100) }).catch(() => undefined);
    await fetch(`${base}/fast`).then((r) => r.text());
    const deadline = Date.now() + 5000;
    while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  const messages = lines.map((l) => l.msg);
  expect(messages).toContain('GET /slow aborted: the client went away before the answer was sent');
  expect(messages).toContain('GET /fast 200');
  expect(messages).not.toContain('GET /slow 200');
});
