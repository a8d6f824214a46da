/**
 * The egress policy end to end: check() on every spelling of a non-public host (no connection),
 * and fetch() against a real local server on 127.0.0.1 for what the allow-list lets through,
 * redirects, DNS rebinding, the size cap, timeouts and https-only mode. Name resolution is an
 * injected resolver (the network is closed); the only address any test connects to is 127.0.0.1.
 * The server counts connections and requests, so "refused before connecting" is observed, not assumed.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import * as oauth from 'oauth4webapi';
import { createEgressPolicy, EgressRefused, type EgressPolicyOptions, type EgressRefusalCode, type HostResolver } from '../../libs/http/egress-policy';

// ---------------------------------------------------------------------------------------------
// A local server that counts what reaches it.

const hits = new Map<string, number>();
let connections = 0;
let lastEcho: { method?: string; headers: http.IncomingHttpHeaders; body: string } | undefined;
let server: http.Server;
let port: number;
/** A port nothing listens on. */
let closedPort: number;

function route(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const n = Number(url.searchParams.get('n') ?? '0');
  switch (url.pathname) {
    case '/ok':
      res.writeHead(200, { 'content-type': 'text/plain', 'x-answer': 'yes' }).end('hello');
      return;
    case '/json':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ a: 1, nested: { b: [1, 2] } }));
      return;
    case '/echo':
      lastEcho = { method: req.method, headers: req.headers, body };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, body, contentType: req.headers['content-type'] ?? null }));
      return;
    case '/missing':
      res.writeHead(404, { 'content-type': 'text/plain' }).end('nope');
      return;
    case '/no-content':
      res.writeHead(204).end();
      return;
    case '/redirect':
      res.writeHead(Number(url.searchParams.get('status') ?? '302'), { location: url.searchParams.get('to') ?? '/' }).end('SECRET-REDIRECT-BODY');
      return;
    case '/secret':
      res.writeHead(200).end('the secret');
      return;
    case '/big':
      res.writeHead(200, { 'content-length': String(n) }).end(Buffer.alloc(n, 0x78));
      return;
    case '/chunked': {
      // No content-length: the cap must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x79);
      let left = n;
      while (left > 0) {
        res.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
        left -= chunk.length;
      }
      res.end();
      return;
    }
    case '/gzip':
      // A few KiB on the wire, n bytes decoded: the cap counts what the caller would get.
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(Buffer.alloc(n)));
      return;
    case '/hang':
      return; // never answers
    case '/slow-body':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the beginning');
      return; // never ends
    case '/oidc/.well-known/openid-configuration': {
      const issuer = `http://127.0.0.1:${port}/oidc`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` }));
      return;
    }
    case '/oidc/token':
      lastEcho = { method: req.method, headers: req.headers, body };
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ access_token: 'new-access-token', token_type: 'Bearer', expires_in: 3600, refresh_token: 'new-refresh-token' }));
      return;
    default:
      res.writeHead(500).end();
  }
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => route(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  hits.clear();
  connections = 0;
  lastEcho = undefined;
});

const local = (path: string, host = '127.0.0.1', p = port) => `http://${host}:${p}${path}`;

// ---------------------------------------------------------------------------------------------
// Resolvers and helpers.

/** A resolver answering from a table; names not in it do not resolve. Records every question. */
function tableResolver(table: Record<string, readonly string[]>): { resolver: HostResolver; asked: string[] } {
  const asked: string[] = [];
  const resolver: HostResolver = async (hostname) => {
    asked.push(hostname);
    const answer = table[hostname];
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answer;
  };
  return { resolver, asked };
}

/** A resolver giving the answers in turn (the last one from then on): a name that changes its mind. */
function sequenceResolver(...answers: Array<readonly string[] | 'hang'>): { resolver: HostResolver; asked: string[] } {
  const asked: string[] = [];
  const resolver: HostResolver = (hostname) => {
    asked.push(hostname);
    const answer = answers[Math.min(asked.length, answers.length) - 1];
    return answer === 'hang' ? new Promise<never>(() => undefined) : Promise.resolve(answer);
  };
  return { resolver, asked };
}

const PUBLIC_ADDRESS = '93.184.216.34';
const names = tableResolver({
  'localtest.me': ['127.0.0.1'],
  'sub.localtest.me': ['127.0.0.1', '::1'],
  'metadata.cloud.internal': ['169.254.169.254'],
  'mixed.example': [PUBLIC_ADDRESS, '10.0.0.7'],
  'mapped.example': ['::ffff:127.0.0.1'],
  'nat64.example': ['64:ff9b::a00:1'],
  'ula.example': ['fd00::1'],
  'cgnat.example': ['100.64.1.2'],
  'public.example': [PUBLIC_ADDRESS],
  'public6.example': ['2606:2800:220:1:248:1893:25c8:1946'],
  'garbage.example': ['not-an-address'],
  'crm.internal': ['127.0.0.1'],
  'v6crm.internal': ['::ffff:127.0.0.1'],
});

function policyWith(options: Partial<EgressPolicyOptions> = {}) {
  return createEgressPolicy({ httpsOnly: false, resolver: names.resolver, ...options });
}

async function refusalOf(work: Promise<unknown>): Promise<EgressRefused> {
  try {
    await work;
  } catch (error) {
    if (error instanceof EgressRefused) return error;
    throw error;
  }
  throw new Error('the request was allowed');
}

async function expectRefused(work: Promise<unknown>, code: EgressRefusalCode): Promise<EgressRefused> {
  const refusal = await refusalOf(work);
  expect(refusal.code).toBe(code);
  return refusal;
}

// ---------------------------------------------------------------------------------------------

describe('check(): non-public hosts in every spelling are refused, without connecting', () => {
  const policy = policyWith();

  const spellings = [
    'localhost',
    'LOCALHOST.',
    'LocalHost',
    'foo.localhost',
    'a.b.localhost.',
    '[::1]',
    '[0:0:0:0:0:0:0:1]',
    '[::]',
    '0.0.0.0',
    '0',
    '2130706433',
    '0x7f.1',
    '0x7f000001',
    '127.1',
    '127.0.0.1.',
    '127.000.000.001',
    '017700000001',
    '0177.0.0.1',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '[::127.0.0.1]',
    '[64:ff9b::127.0.0.1]',
    '[64:ff9b::a00:1]',
    '[2002:7f00:1::1]',
    '[2002:c0a8:101::1]',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.0.1',
    '169.254.169.254',
    '0251.0376.0251.0376',
    '0xa9.0xfe.0xa9.0xfe',
    '2852039166',
    '[::ffff:169.254.169.254]',
    '100.64.0.1',
    '[fc00::1]',
    '[fd12:3456::1]',
    '[fe80::1]',
    '224.0.0.1',
    '[ff02::1]',
    '255.255.255.255',
    '240.0.0.1',
    '192.0.2.1',
    '198.51.100.1',
    '203.0.113.1',
    '[2001:db8::1]',
    'localtest.me',
    'LOCALTEST.ME.',
    'sub.localtest.me',
    'metadata.cloud.internal',
    'mixed.example',
    'mapped.example',
    'nat64.example',
    'ula.example',
    'cgnat.example',
  ];
  test.each(spellings)('%s', async (host) => {
    for (const url of [`http://${host}/`, `https://${host}:8443/path?q=1`]) {
      const refusal = await expectRefused(policy.check(url), 'url_not_allowed');
      expect(refusal.message).toBe('the URL is not allowed: its host is not a public address (EGRESS_ALLOWLIST lists the exceptions)');
    }
  });

  test('localhost names are refused without asking the resolver; literal addresses are never resolved', async () => {
    const { resolver, asked } = tableResolver({});
    const strict = createEgressPolicy({ httpsOnly: false, resolver });
    for (const host of ['localhost', 'LOCALHOST.', 'foo.localhost', '127.0.0.1', '0x7f.1', '[::1]', '[::ffff:127.0.0.1]']) {
      await expectRefused(strict.check(`http://${host}/`), 'url_not_allowed');
    }
    expect(asked).toEqual([]);
  });

  test('a public address, or a name resolving only to public addresses, passes (nothing is connected to)', async () => {
    await expect(policy.check(`https://${PUBLIC_ADDRESS}/`)).resolves.toBeUndefined();
    await expect(policy.check('https://public.example/api')).resolves.toBeUndefined();
    await expect(policy.check('https://PUBLIC.example.:443/api')).resolves.toBeUndefined();
    await expect(policy.check('https://public6.example/')).resolves.toBeUndefined();
    await expect(policy.check('https://[2606:2800:220:1:248:1893:25c8:1946]/')).resolves.toBeUndefined();
    await expect(policy.check(`https://[::ffff:${PUBLIC_ADDRESS}]/`)).resolves.toBeUndefined();
  });

  test('a name that does not resolve (now) is not known to be disallowed: check() passes it', async () => {
    await expect(policy.check('https://not-yet.example/')).resolves.toBeUndefined();
    await expect(policy.check('https://garbage.example/')).resolves.toBeUndefined();
  });

  test('only http and https; no credentials in the URL; malformed URLs', async () => {
    const cases: Array<[url: string, message: string]> = [
      ['ftp://public.example/file', 'the URL is not allowed: only http and https URLs are'],
      ['file:///etc/passwd', 'the URL is not allowed: only http and https URLs are'],
      ['javascript:alert(1)', 'the URL is not allowed: only http and https URLs are'],
      ['data:text/plain,hello', 'the URL is not allowed: only http and https URLs are'],
      ['gopher://127.0.0.1:6379/_INFO', 'the URL is not allowed: only http and https URLs are'],
      ['https://user:hunter2@public.example/', 'the URL is not allowed: it carries a user name or password'],
      ['not a url', 'the URL is not allowed: it is not a valid absolute URL'],
      ['/relative/path', 'the URL is not allowed: it is not a valid absolute URL'],
      ['http://[::1', 'the URL is not allowed: it is not a valid absolute URL'],
      ['http://999.0.0.1/', 'the URL is not allowed: it is not a valid absolute URL'],
    ];
    for (const [url, message] of cases) {
      const refusal = await expectRefused(policy.check(url), 'url_not_allowed');
      expect(refusal.message).toBe(message);
      expect(refusal.message).not.toContain('hunter2');
    }
  });

  test('https-only mode refuses http, even for a public host', async () => {
    const httpsOnly = policyWith({ httpsOnly: true });
    const refusal = await expectRefused(httpsOnly.check('http://public.example/'), 'url_not_allowed');
    expect(refusal.message).toBe('the URL is not allowed: only https URLs are');
    await expect(httpsOnly.check('https://public.example/')).resolves.toBeUndefined();
  });

  test('an allow-listed host passes check() whatever it resolves to', async () => {
    const allowing = policyWith({ allowlist: 'crm.internal,127.0.0.1:8080,10.0.0.0/8' });
    await expect(allowing.check('http://crm.internal/')).resolves.toBeUndefined();
    await expect(allowing.check('http://127.0.0.1:8080/')).resolves.toBeUndefined();
    await expect(allowing.check('http://2130706433:8080/')).resolves.toBeUndefined();
    await expect(allowing.check('http://10.1.2.3/')).resolves.toBeUndefined();
    await expectRefused(allowing.check('http://127.0.0.1:8081/'), 'url_not_allowed');
    // Every address of the answer is public or inside the CIDR.
    await expect(allowing.check('http://mixed.example/')).resolves.toBeUndefined();
  });
});

describe('fetch(): what is refused never reaches the network', () => {
  test('a refused host gives the same answer whether its port is open or closed, and no connection is made', async () => {
    const policy = policyWith();
    const open = await expectRefused(policy.fetch(local('/ok')), 'url_not_allowed');
    const closed = await expectRefused(policy.fetch(local('/ok', '127.0.0.1', closedPort)), 'url_not_allowed');
    expect(closed.message).toBe(open.message);
    await expectRefused(policy.fetch(local('/ok', 'localtest.me')), 'url_not_allowed');
    await expectRefused(policy.fetch(local('/ok', '0x7f.1')), 'url_not_allowed');
    await expectRefused(policy.fetch(local('/ok', 'localhost')), 'url_not_allowed');
    expect(connections).toBe(0);
  });

  test('https-only mode refuses http before connecting, even to an allow-listed host', async () => {
    const policy = policyWith({ httpsOnly: true, allowlist: '127.0.0.1' });
    const refusal = await expectRefused(policy.fetch(local('/ok')), 'url_not_allowed');
    expect(refusal.message).toBe('the URL is not allowed: only https URLs are');
    expect(connections).toBe(0);
    // https to the same allow-listed host is attempted (and fails: the local server speaks plain http).
    await expectRefused(policy.fetch(`https://127.0.0.1:${port}/ok`), 'egress_unreachable');
    expect(connections).toBe(1);
    expect(hits.size).toBe(0);
  });

  test('DNS rebinding: a name that answered "public" at the check and "127.0.0.1" at connect time never reaches 127.0.0.1', async () => {
    const { resolver, asked } = sequenceResolver([PUBLIC_ADDRESS], ['127.0.0.1']);
    const policy = createEgressPolicy({ httpsOnly: false, resolver });
    const refusal = await expectRefused(policy.fetch(`http://rebind.example:${port}/secret`), 'url_not_allowed');
    expect(refusal.message).toBe('the URL is not allowed: its host is not a public address (EGRESS_ALLOWLIST lists the exceptions)');
    // fetch()'s early check (public: passed), then the connection's own lookup (127.0.0.1: refused).
    expect(asked).toEqual(['rebind.example', 'rebind.example']);
    expect(connections).toBe(0);
    expect(hits.get('/secret')).toBeUndefined();
  });

  test('DNS rebinding to a mixed answer (public and loopback) is refused as a whole', async () => {
    const { resolver, asked } = sequenceResolver([PUBLIC_ADDRESS], [PUBLIC_ADDRESS, '127.0.0.1']);
    const policy = createEgressPolicy({ httpsOnly: false, resolver });
    await expectRefused(policy.fetch(`http://rebind.example:${port}/secret`), 'url_not_allowed');
    expect(asked).toHaveLength(2);
    expect(connections).toBe(0);
  });

  test('a name that does not resolve is unreachable, not refused', async () => {
    const refusal = await expectRefused(policyWith().fetch('http://not-yet.example/'), 'egress_unreachable');
    expect(refusal.message).toBe('the server could not be reached: its name does not resolve');
    expect(refusal.retryable).toBe(true);
    expect(connections).toBe(0);
  });
});

describe('fetch(): the allow-list lets a local server through', () => {
  test('a host entry (an address, in any spelling of it)', async () => {
    const policy = policyWith({ allowlist: '127.0.0.1' });
    for (const host of ['127.0.0.1', '2130706433', '0x7f.1', '127.0.0.1.']) {
      const res = await policy.fetch(local('/ok', host));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('hello');
    }
    // Without an injected resolver too: literal addresses are never resolved.
    expect((await createEgressPolicy({ httpsOnly: false, allowlist: '127.0.0.1' }).fetch(local('/ok'))).status).toBe(200);
    expect(hits.get('/ok')).toBe(5);
  });

  test('a host entry (a name): resolved at connect time, wherever it points', async () => {
    const policy = policyWith({ allowlist: 'CRM.internal' });
    const res = await policy.fetch(local('/ok', 'crm.internal'));
    expect(await res.text()).toBe('hello');
    // Other names resolving to the same address are not the listed host.
    await expectRefused(policy.fetch(local('/ok', 'localtest.me')), 'url_not_allowed');
    expect(hits.get('/ok')).toBe(1);
  });

  test('a host:port entry lets only that port through', async () => {
    const policy = policyWith({ allowlist: `crm.internal:${port}` });
    expect((await policy.fetch(local('/ok', 'crm.internal'))).status).toBe(200);
    // The other port is refused before connecting: not "unreachable", which would tell it is closed.
    await expectRefused(policy.fetch(local('/ok', 'crm.internal', closedPort)), 'url_not_allowed');
    await expectRefused(policy.fetch(local('/ok', '127.0.0.1')), 'url_not_allowed');
    expect(connections).toBe(1);
  });

  test('an IPv4 CIDR entry: any name or spelling whose addresses are inside it', async () => {
    const policy = policyWith({ allowlist: '127.0.0.0/8' });
    for (const host of ['localtest.me', '127.0.0.1', '0x7f.1', 'crm.internal']) {
      expect((await policy.fetch(local('/ok', host))).status).toBe(200);
    }
    expect(hits.get('/ok')).toBe(4);
    // The CIDR lets 127.0.0.1 through, but not the other half of an answer, nor localhost names.
    await expectRefused(policy.fetch(local('/ok', 'sub.localtest.me')), 'url_not_allowed');
    await expectRefused(policy.fetch(local('/ok', 'localhost')), 'url_not_allowed');
    await expectRefused(policy.fetch(local('/ok', 'metadata.cloud.internal')), 'url_not_allowed');
  });

  test('an IPv6 CIDR entry: a name answering an IPv4-mapped address inside it, and the IPv4 address it maps', async () => {
    const policy = policyWith({ allowlist: '::ffff:127.0.0.0/104' });
    expect(await (await policy.fetch(local('/ok', 'v6crm.internal'))).text()).toBe('hello');
    expect(await (await policy.fetch(local('/ok', 'crm.internal'))).text()).toBe('hello');
    expect(hits.get('/ok')).toBe(2);
    // An IPv6 CIDR elsewhere lets nothing local through.
    await expectRefused(policyWith({ allowlist: 'fd00::/8' }).fetch(local('/ok')), 'url_not_allowed');
    await expect(policyWith({ allowlist: 'fd00::/8' }).check('http://ula.example/')).resolves.toBeUndefined();
  });

  test('a CIDR entry not containing the address does not help', async () => {
    await expectRefused(policyWith({ allowlist: '10.0.0.0/8,fd00::/8,crm.internal' }).fetch(local('/ok')), 'url_not_allowed');
    expect(connections).toBe(0);
  });

  test('an allow-listed host that does not answer is unreachable, with a message of ours', async () => {
    const refusal = await expectRefused(policyWith({ allowlist: '127.0.0.1' }).fetch(local('/ok', '127.0.0.1', closedPort)), 'egress_unreachable');
    expect(refusal.message).toBe('the server could not be reached');
    expect(refusal.retryable).toBe(true);
  });
});

describe('fetch(): redirects are never followed', () => {
  const policy = policyWith({ allowlist: '127.0.0.1' });

  test.each([301, 302, 303, 307, 308])('HTTP %i from an allowed host to loopback is refused; the target is never asked', async (status) => {
    const to = local('/secret');
    const refusal = await expectRefused(policy.fetch(local(`/redirect?status=${status}&to=${encodeURIComponent(to)}`), { redirect: 'follow' }), 'redirect_not_allowed');
    expect(refusal.status).toBe(status);
    expect(refusal.message).toBe(`the server answered with a redirect (HTTP ${status}); redirects are not followed`);
    expect(refusal.message).not.toContain('SECRET');
    expect(refusal.message).not.toContain('/secret');
    expect(hits.get('/secret')).toBeUndefined();
    expect(refusal.retryable).toBe(false);
  });

  test('a redirect to another origin on the same address is refused the same way', async () => {
    await expectRefused(policy.fetch(local(`/redirect?to=${encodeURIComponent(local('/secret', '127.0.0.1', closedPort))}`)), 'redirect_not_allowed');
    await expectRefused(policy.fetch(local(`/redirect?to=${encodeURIComponent(local('/secret', 'localhost'))}`)), 'redirect_not_allowed');
    expect(hits.get('/secret')).toBeUndefined();
  });
});

describe('fetch(): the size cap', () => {
  const policy = policyWith({ allowlist: '127.0.0.1' });
  const MiB = 1024 * 1024;

  test('1 MiB by default: exactly 1 MiB is read, one byte more is refused', async () => {
    expect((await (await policy.fetch(local(`/big?n=${MiB}`))).arrayBuffer()).byteLength).toBe(MiB);
    const refusal = await expectRefused(policy.fetch(local(`/big?n=${MiB + 1}`)), 'response_too_large');
    expect(refusal.message).toBe(`the answer is larger than ${MiB} bytes`);
  });

  test('an answer without content-length is cut off while streaming', async () => {
    await expectRefused(policy.fetch(local(`/chunked?n=${MiB + 1}`)), 'response_too_large');
    expect((await (await policy.fetch(local(`/chunked?n=${MiB}`))).arrayBuffer()).byteLength).toBe(MiB);
  });

  test('the cap counts decoded bytes: a small gzip that inflates past it is refused', async () => {
    await expectRefused(policy.fetch(local(`/gzip?n=${8 * MiB}`)), 'response_too_large');
    expect(await (await policy.fetch(local('/gzip?n=1000'))).text()).toBe('\0'.repeat(1000));
  });

  test('per policy and per call', async () => {
    const small = policyWith({ allowlist: '127.0.0.1', maxBytes: 4 });
    await expectRefused(small.fetch(local('/ok')), 'response_too_large');
    expect(await (await small.fetch(local('/ok'), { maxBytes: 5 })).text()).toBe('hello');
    await expectRefused(policy.fetch(local('/ok'), { maxBytes: 4 }), 'response_too_large');
    expect(() => createEgressPolicy({ httpsOnly: false, maxBytes: 0 })).toThrow(RangeError);
    await expect(policy.fetch(local('/ok'), { maxBytes: -1 })).rejects.toThrow(RangeError);
  });
});

describe('fetch(): time limits', () => {
  test('no answer within the total time limit: egress_timeout', async () => {
    const policy = policyWith({ allowlist: '127.0.0.1', timeoutMs: 300 });
    const started = Date.now();
    const refusal = await expectRefused(policy.fetch(local('/hang')), 'egress_timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(refusal.message).toBe('no complete answer within 300 ms');
    expect(refusal.retryable).toBe(true);
  });

  test('an answer whose body never ends: egress_timeout (per-call limit)', async () => {
    const policy = policyWith({ allowlist: '127.0.0.1' });
    await expectRefused(policy.fetch(local('/slow-body'), { timeoutMs: 300 }), 'egress_timeout');
  });

  test('a connection that cannot be made in time (the connect-time lookup hangs): egress_timeout after the connect limit', async () => {
    const { resolver } = sequenceResolver(['127.0.0.1'], 'hang');
    const policy = createEgressPolicy({ httpsOnly: false, allowlist: '127.0.0.0/8', resolver, connectTimeoutMs: 200, timeoutMs: 10_000 });
    const started = Date.now();
    await expectRefused(policy.fetch(local('/ok', 'slow.example')), 'egress_timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(connections).toBe(0);
  });

  test('a resolver that hangs at the early check is bounded by the total limit (check() lets such a name pass)', async () => {
    const { resolver } = sequenceResolver('hang');
    const policy = createEgressPolicy({ httpsOnly: false, resolver, timeoutMs: 200 });
    await expectRefused(policy.fetch('http://slow.example/'), 'egress_timeout');
    await expect(policy.check('http://slow.example/')).resolves.toBeUndefined();
  });

  test("the caller's own signal: its reason, as fetch gives it (cancellation is not a timeout of ours)", async () => {
    const policy = policyWith({ allowlist: '127.0.0.1' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(policy.fetch(local('/hang'), { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(policy.fetch(local('/hang'), { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const aborted = new AbortController();
    aborted.abort(new Error('cancelled by the activity'));
    await expect(policy.fetch(local('/ok'), { signal: aborted.signal })).rejects.toThrow('cancelled by the activity');
    await expect(policyWith().fetch('http://public.example/', { signal: aborted.signal })).rejects.toThrow('cancelled by the activity');
  });
});

describe('fetch(): the answer is a standard Response, as callers of fetch use it', () => {
  const policy = policyWith({ allowlist: '127.0.0.1' });

  test('status, ok, headers, url, text(), json() (objects of this realm), body', async () => {
    const res = await policy.fetch(local('/ok'));
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-answer')).toBe('yes');
    expect(res.url).toBe(local('/ok'));
    expect(await res.text()).toBe('hello');

    const json = await policy.fetch(local('/json'));
    assert.deepStrictEqual(await json.json(), { a: 1, nested: { b: [1, 2] } });

    const missing = await policy.fetch(local('/missing'));
    expect([missing.status, missing.ok, await missing.text()]).toEqual([404, false, 'nope']);

    const empty = await policy.fetch(local('/no-content'));
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();

    const cancelled = await policy.fetch(local('/ok'));
    await cancelled.body?.cancel();
  });

  test('method, headers (object or Headers), string and URLSearchParams bodies, as the webhook delivery and CRM clients send them', async () => {
    const posted = await policy.fetch(local('/echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test': 'one' },
      body: '{"event":"x"}',
      redirect: 'manual',
      signal: AbortSignal.timeout(5_000),
    });
    expect(await posted.json()).toEqual({ method: 'POST', body: '{"event":"x"}', contentType: 'application/json' });
    expect(lastEcho?.headers['x-test']).toBe('one');

    const form = await policy.fetch(local('/echo'), { method: 'POST', headers: new Headers({ 'x-test': 'two' }), body: new URLSearchParams({ a: '1', b: 'two words' }) });
    expect(await form.json()).toEqual({ method: 'POST', body: 'a=1&b=two+words', contentType: 'application/x-www-form-urlencoded;charset=UTF-8' });
    expect(lastEcho?.headers['x-test']).toBe('two');
  });

  test("a header value fetch cannot send rejects with fetch's own TypeError (not a network failure)", async () => {
    const error = await policy.fetch(local('/ok'), { headers: { authorization: 'Bearer a\nb' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).not.toBeInstanceOf(EgressRefused);
    expect((error as Error).name).toBe('TypeError');
    expect(hits.size).toBe(0);
  });

  test("oauth4webapi's customFetch: discovery and a token request go through the policy", async () => {
    // Type-level: the policy's fetch is what oauth4webapi's customFetch option expects.
    const customFetch: NonNullable<oauth.TokenEndpointRequestOptions[typeof oauth.customFetch]> = policy.fetch;
    const discoveryFetch: NonNullable<oauth.DiscoveryRequestOptions[typeof oauth.customFetch]> = policy.fetch;
    const issuer = new URL(`http://127.0.0.1:${port}/oidc`);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.customFetch]: discoveryFetch, [oauth.allowInsecureRequests]: true }));
    expect(as.token_endpoint).toBe(`${issuer.href}/token`);

    const client: oauth.Client = { client_id: 'app' };
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretPost('s3cret'), 'old-refresh-token', {
      [oauth.customFetch]: customFetch,
      [oauth.allowInsecureRequests]: true,
    });
    const tokens = await oauth.processRefreshTokenResponse(as, client, response);
    expect(tokens.access_token).toBe('new-access-token');
    expect(Object.fromEntries(new URLSearchParams(lastEcho?.body))).toEqual({ grant_type: 'refresh_token', refresh_token: 'old-refresh-token', client_id: 'app', client_secret: 's3cret' });

    // And a token endpoint elsewhere is refused by the same policy.
    await expectRefused(customFetch('http://169.254.169.254/token', { method: 'POST', headers: {}, body: new URLSearchParams(), redirect: 'manual' }), 'url_not_allowed');
  });
});
