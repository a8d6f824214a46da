/**
 * Rate limits of the running API, with small budgets so that the tests reach them: the public pages
 * per client IP, failed API-key authentication per client IP (valid keys are never slowed by it) and
 * failed operator authentication on /codec against the same budget,
 * requests per API key on /v1; every 429 with `Retry-After` and the one error shape; `/health`,
 * `/ready` and `/metrics` never limited. Distinct clients are distinct loopback source addresses
 * (127.0.0.x); 127.0.0.9 plays the one trusted proxy (TRUST_PROXY), whose X-Forwarded-For counts.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { api, startSystem, type TestSystem } from './support/system';

const WINDOW_SECONDS = 10;
const PUBLIC_PAGES = 20;
const AUTH_FAILURES = 20;
const PER_KEY = 30;
const PROXY = '127.0.0.9';
const OPERATOR_KEY = `op_rate_test_${randomBytes(18).toString('base64url')}`;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** One request from the loopback address `from` (the client's IP as the API sees it without a proxy). */
function send(
  sys: TestSystem,
  method: string,
  path: string,
  opts: { from: string; key?: string; headers?: Record<string, string>; body?: unknown },
): Promise<Answer> {
  const url = new URL(path, sys.apiUrl);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: opts.from, agent },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A 429 as every limit answers it: Retry-After in whole seconds, the same seconds in the message. */
function assertRateLimited(res: Answer, context: string): number {
  assert.equal(res.status, 429, `${context}: ${res.status} ${res.text.slice(0, 200)}`);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `${context}: Retry-After ${res.headers['retry-after']}`);
  assert.deepEqual(res.body, { error: { code: 'rate_limited', message: `Too many requests; retry after ${retryAfter} s.` } }, context);
  assert.match(String(res.headers['content-type']), /^application\/json/, context);
  return retryAfter;
}

function tally(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

async function sequentially(n: number, one: (i: number) => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) answers.push(await one(i));
  return answers;
}

const unknownLinkToken = () => randomBytes(32).toString('base64url');

describe('rate limits', () => {
  let sys: TestSystem;

  beforeAll(async () => {
    sys = await startSystem({
      extraEnv: {
        RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
        RATE_LIMIT_PUBLIC_PAGES: String(PUBLIC_PAGES),
        RATE_LIMIT_AUTH_FAILURES: String(AUTH_FAILURES),
        RATE_LIMIT_API_KEY: String(PER_KEY),
        TRUST_PROXY: PROXY,
        OPERATOR_API_KEYS: OPERATOR_KEY,
      },
    });
  });
  afterAll(async () => {
    agent.destroy();
    await sys?.stop();
  });

  test('300 unknown link tokens from one address: the budget answers 404, then 429 with Retry-After; other clients are not affected', async () => {
    const from = '127.0.0.2';
    const answers = await sequentially(300, () => send(sys, 'GET', `/connect/${unknownLinkToken()}`, { from }));
    assert.deepEqual(tally(answers), { 404: PUBLIC_PAGES, 429: 300 - PUBLIC_PAGES });
    assert.ok(answers.slice(0, PUBLIC_PAGES).every((a) => a.status === 404), 'the first requests are answered');
    for (const a of answers.slice(PUBLIC_PAGES)) assertRateLimited(a, 'GET /connect/<unknown>');

    // One budget for all public pages of that address: the callback, the link's own routes, the SDK.
    for (const [method, path] of [
      ['GET', '/oauth/callback?state=forged&code=x'],
      ['GET', `/oauth/callback/status/${randomUUID()}`],
      ['GET', `/oauth/callback/retry/${randomUUID()}`],
      ['GET', `/connect/${unknownLinkToken()}/authorize`],
      ['POST', `/connect/${unknownLinkToken()}`],
      ['GET', '/sdk/reauth-link.js'],
    ]) {
      assertRateLimited(await send(sys, method, path, { from, body: method === 'POST' ? { apiToken: 'x' } : undefined }), `${method} ${path}`);
    }
    // Without TRUST_PROXY naming it, a client's X-Forwarded-For is ignored: it cannot pick a fresh address.
    assertRateLimited(await send(sys, 'GET', '/sdk/reauth-link.js', { from, headers: { 'x-forwarded-for': '203.0.113.50' } }), 'spoofed X-Forwarded-For');

    // Another address has its own budget.
    const other = await send(sys, 'GET', '/sdk/reauth-link.js', { from: '127.0.0.3' });
    assert.equal(other.status, 200);
    assert.equal((await send(sys, 'GET', `/connect/${unknownLinkToken()}`, { from: '127.0.0.3' })).status, 404);
  });

  test('each request counts once: the OAuth callback and the SDK have the same budget as the connect pages', async () => {
    for (const [from, path] of [
      ['127.0.0.11', () => '/oauth/callback?state=forged-state&code=x'],
      ['127.0.0.12', () => `/oauth/callback/status/${randomUUID()}`],
      ['127.0.0.13', () => '/sdk/reauth-link.js'],
      ['127.0.0.14', () => `/connect/${unknownLinkToken()}/authorize`],
    ] as const) {
      const answers = await sequentially(PUBLIC_PAGES + 3, () => send(sys, 'GET', path(), { from }));
      const counts = tally(answers);
      assert.equal(counts[429], 3, `${path()}: ${JSON.stringify(counts)}`);
      assert.ok(answers.slice(0, PUBLIC_PAGES).every((a) => a.status !== 429), path());
    }
  });

  test('200 wrong API keys from one address: 401 up to the budget, then 429; a valid key from that address still works', async () => {
    const from = '127.0.0.4';
    const answers = await sequentially(200, (i) => send(sys, 'GET', '/v1/integrations', { from, key: `rk_wrong_${i}_${randomBytes(12).toString('hex')}` }));
    assert.deepEqual(tally(answers), { 401: AUTH_FAILURES, 429: 200 - AUTH_FAILURES });
    for (const a of answers.slice(0, AUTH_FAILURES)) assert.equal(a.body?.error?.code, 'unauthorized');
    const retryAfter = assertRateLimited(answers[answers.length - 1], 'wrong key');
    // No key at all is a failure too, on any route.
    assertRateLimited(await send(sys, 'POST', '/v1/integrations', { from, body: { provider: 'sandbox' } }), 'no key');

    // The valid key is checked first and is never refused for its address's failures.
    for (let i = 0; i < 5; i++) {
      const ok = await send(sys, 'GET', '/v1/integrations', { from, key: sys.keyA });
      assert.equal(ok.status, 200, ok.text);
      assertRateLimited(await send(sys, 'GET', '/v1/integrations', { from, key: 'rk_still_wrong_0123456789' }), 'wrong key between valid ones');
    }
    // Failed authentication and public pages are separate budgets.
    assert.equal((await send(sys, 'GET', `/connect/${unknownLinkToken()}`, { from })).status, 404);
    // Another address is not limited by these failures.
    const elsewhere = await send(sys, 'GET', '/v1/integrations', { from: '127.0.0.5', key: 'rk_wrong_elsewhere_0123456789' });
    assert.equal(elsewhere.status, 401);

    // Retry-After is honest: once it has passed, the address is answered again.
    await new Promise((r) => setTimeout(r, (retryAfter + 1) * 1000));
    const after = await send(sys, 'GET', '/v1/integrations', { from, key: 'rk_wrong_after_0123456789' });
    assert.equal(after.status, 401, after.text);
  });

  test('/codec: missing or wrong operator credentials from one address are 401/403 up to the same budget, then 429; the operator key still works', async () => {
    const from = '127.0.0.15';
    const codec = (authorization?: string) =>
      send(sys, 'POST', '/codec/decode', { from, body: { payloads: [] }, headers: authorization ? { authorization, 'x-namespace': 'default' } : { 'x-namespace': 'default' } });
    const answers = await sequentially(AUTH_FAILURES + 10, (i) => codec(i % 3 === 0 ? undefined : i % 3 === 1 ? `Bearer ${sys.keyA}` : `Bearer op_guess_${i}_0123456789`));
    const counts = tally(answers);
    assert.equal((counts[401] ?? 0) + (counts[403] ?? 0), AUTH_FAILURES, JSON.stringify(counts));
    assert.equal(counts[429], 10, JSON.stringify(counts));
    for (const a of answers.slice(AUTH_FAILURES)) assertRateLimited(a, 'codec over the budget');
    // One budget per address for every door: a wrong API key from there is over it too.
    assertRateLimited(await send(sys, 'GET', '/v1/integrations', { from, key: 'rk_wrong_after_codec_0123456789' }), 'API after codec failures');
    // The operator key is checked first: never refused for its address's failures.
    const ok = await codec(`Bearer ${OPERATOR_KEY}`);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { payloads: [] });
    // Another address is not affected.
    assert.equal((await send(sys, 'POST', '/codec/decode', { from: '127.0.0.16', body: { payloads: [] } })).status, 401);
  });

  test('a trusted proxy (TRUST_PROXY) names the client in X-Forwarded-For; what a client prepends to it is ignored', async () => {
    const viaProxy = (client: string) => ({ from: PROXY, headers: { 'x-forwarded-for': client } });
    const answers = await sequentially(AUTH_FAILURES + 5, () => send(sys, 'GET', '/v1/providers', { ...viaProxy('198.51.100.1'), key: 'rk_wrong_via_proxy_0123456789' }));
    assert.deepEqual(tally(answers), { 401: AUTH_FAILURES, 429: 5 });
    // The client prepends an address of its choice; the proxy appends the real one, which is what counts.
    const spoofed = await send(sys, 'GET', '/v1/providers', { ...viaProxy('10.9.9.9, 198.51.100.1'), key: 'rk_wrong_via_proxy_0123456789' });
    assertRateLimited(spoofed, 'prepended X-Forwarded-For');
    // Another client behind the same proxy has its own budget, and so has the proxy's own address.
    assert.equal((await send(sys, 'GET', '/v1/providers', { ...viaProxy('198.51.100.2'), key: 'rk_wrong_via_proxy_0123456789' })).status, 401);
    assert.equal((await send(sys, 'GET', '/v1/providers', { from: PROXY, key: 'rk_wrong_via_proxy_0123456789' })).status, 401);
  });

  test('per API key on /v1: a tiny budget is reached with 429 and Retry-After; the tenant\'s other keys keep their own', async () => {
    const created = await api(sys, 'POST', '/v1/api-keys', { key: sys.keyB, body: { name: 'budget probe' } });
    assert.equal(created.status, 201, created.text);
    const probe: string = created.body.key;
    const from = '127.0.0.6';
    const answers = await sequentially(PER_KEY + 10, () => send(sys, 'GET', '/v1/providers', { from, key: probe }));
    assert.deepEqual(tally(answers), { 200: PER_KEY, 429: 10 });
    for (const a of answers.slice(PER_KEY)) assertRateLimited(a, 'over the key budget');
    // From any address: the budget is the key's.
    assertRateLimited(await send(sys, 'GET', '/v1/integrations', { from: '127.0.0.7', key: probe }), 'same key, other address');
    // Another key of the same tenant, from the same address, is not limited.
    const other = await send(sys, 'GET', '/v1/providers', { from, key: sys.keyB });
    assert.equal(other.status, 200, other.text);
    // A key over its budget is not an authentication failure: the address is not charged for it.
    for (let i = 0; i < AUTH_FAILURES + 5; i++) assertRateLimited(await send(sys, 'GET', '/v1/providers', { from: '127.0.0.8', key: probe }), 'over budget');
    assert.equal((await send(sys, 'GET', '/v1/providers', { from: '127.0.0.8', key: 'rk_wrong_0123456789abcdef' })).status, 401);
  });

  test('/health, /ready and /metrics are never limited, even for an address over every budget', async () => {
    const from = '127.0.0.10';
    await sequentially(PUBLIC_PAGES, () => send(sys, 'GET', `/connect/${unknownLinkToken()}`, { from }));
    await sequentially(AUTH_FAILURES, () => send(sys, 'GET', '/v1/integrations', { from }));
    assertRateLimited(await send(sys, 'GET', `/connect/${unknownLinkToken()}`, { from }), 'public pages');
    assertRateLimited(await send(sys, 'GET', '/v1/integrations', { from }), 'failed authentication');
    const health = await sequentially(300, () => send(sys, 'GET', '/health', { from }));
    assert.deepEqual(tally(health), { 200: 300 });
    for (let i = 0; i < 5; i++) {
      assert.equal((await send(sys, 'GET', '/ready', { from })).status, 200);
      assert.equal((await send(sys, 'GET', '/metrics', { from })).status, 200);
    }
  });
});
