/**
 * Egress against the running system: URLs that a tenant supplies (custom providers' endpoints,
 * webhook receivers) or that a CRM's answer supplies reach public addresses and EGRESS_ALLOWLIST
 * only. Every attack below was found with one ordinary tenant key; each must now get nothing:
 * refused with a 4xx in the error shape, nothing stored, nothing sent, and the same answer whether
 * anything listens at the target or not.
 *
 * The network of this test:
 * - the tests' own servers listen on 127.10.0.1, allow-listed by system.ts (test-network.ts);
 * - the TARGET plays every internal service: it listens on 127.0.0.1:<port> and [::1]:<port>,
 *   which are not allow-listed, and counts what reaches it (it must stay at 0); a CLOSED port next
 *   to it tells whether errors differ between open and closed ports (they must not);
 * - the sandbox CRM (127.0.0.1) is reached by catalog providers only, as configuration; aimed at
 *   by a custom provider or a webhook, it is one more internal service.
 * No test sends anything outside 127.0.0.0/8: the metadata service (169.254.169.254) and private
 * ranges are refused before any connection, by what the address is (asserted through the refusal
 * code, without ever letting a request out).
 */
import assert from 'node:assert/strict';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEgressAllowlist } from '../libs/http/egress-allowlist';
import { EgressRefused } from '../libs/http/egress-policy';
import { createProcessEgress } from '../libs/providers/provider-egress';
import { freePort } from '../libs/temporal/dev-server';
import { api, connectedIntegration, sandboxToken, startSystem, waitFor, type ApiResponse, type TestSystem } from './support/system';
import { TEST_PEER_ALLOWLIST } from './support/test-network';
import { Receiver } from './support/webhook-receiver';

/** Must never come back from the API, a delivery log or a log line. */
const MARKER = 'egress-marker-3b9d1f';

/** Every way of writing "this machine" that a URL parser accepts (the port is appended). */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]', '0.0.0.0', '2130706433', '127.1', '0x7f000001', '[::ffff:127.0.0.1]', 'foo.localhost'];
/**
 * Hosts the DTO's URL validator already refuses as "not a URL" (400 validation_error): refused all
 * the same, before the egress policy is asked. At call time (URLs stored before the policy) the
 * policy refuses them like the others.
 */
const NOT_URLS_FOR_THE_VALIDATOR = new Set(['2130706433', '127.1']);
/** Never connected to by anything here: refused by what they are. */
const NON_LOOPBACK_INTERNAL = ['169.254.169.254', '10.0.0.1', '192.168.1.1', '[fd00::1]'];

/** A server that plays every internal service and counts what reaches it, on 127.0.0.1 and ::1. */
class Target {
  readonly requests: string[] = [];
  connections = 0;
  port = 0;
  private readonly servers: http.Server[] = [];

  async start(): Promise<this> {
    const first = await this.listen('127.0.0.1', 0);
    this.port = (first.address() as AddressInfo).port;
    await this.listen('::1', this.port).catch(() => undefined); // no IPv6 loopback: nothing to count there
    return this;
  }

  private listen(host: string, port: number): Promise<http.Server> {
    const server = http.createServer((req, res) => {
      this.requests.push(`${req.method} ${req.headers.host} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [{ clientSecret: MARKER }] }));
    });
    server.on('connection', () => this.connections++);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        this.servers.push(server);
        resolve(server);
      });
    });
  }

  async stop(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }
}

/**
 * A real name that the system resolver answers with a loopback address without any network (an
 * /etc/hosts entry other than localhost, such as the machine's own name). When there is none, a
 * `.localhost` name stands in (loopback by definition, refused unresolved).
 */
async function nameResolvingToLoopback(): Promise<{ name: string; resolved: boolean }> {
  const candidates = new Set<string>();
  try {
    for (const line of fs.readFileSync('/etc/hosts', 'utf8').split('\n')) {
      const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (address && /^127\./.test(address)) for (const n of names) if (n && !/(^|\.)localhost$/i.test(n) && /^[a-z0-9.-]+$/i.test(n)) candidates.add(n);
    }
  } catch {
    // no /etc/hosts
  }
  for (const name of candidates) {
    const addresses = await dns.promises.lookup(name, { all: true }).catch(() => []);
    if (addresses.length > 0 && addresses.every((a) => a.address.startsWith('127.') || a.address === '::1')) return { name, resolved: true };
  }
  return { name: 'resolves-nowhere.localhost', resolved: false };
}

describe('egress: tenant- and CRM-supplied URLs reach public addresses and EGRESS_ALLOWLIST only', () => {
  let sys: TestSystem;
  let target: Target;
  let closedPort: number;
  let peer: Receiver;
  let loopbackName: { name: string; resolved: boolean };

  beforeAll(async () => {
    target = await new Target().start();
    closedPort = await freePort();
    peer = await new Receiver().start();
    loopbackName = await nameResolvingToLoopback();
    if (!loopbackName.resolved) console.warn(`no /etc/hosts name resolves to loopback here; "${loopbackName.name}" stands in for one`);
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
    await peer?.stop();
    await target?.stop();
  });

  /** Every spelling of the target, on its open port and on the closed one, plus the sandbox CRM seen as a tenant URL. */
  function attackUrls(path: string): Array<{ host: string; open: string; closed: string }> {
    const hosts = [...LOOPBACK_HOSTS, loopbackName.name];
    return hosts.map((host) => ({ host, open: `http://${host}:${target.port}${path}`, closed: `http://${host}:${closedPort}${path}` }));
  }

  /** What a refused request must leave: these tables of tenant A exactly as they were. */
  async function rows() {
    const q = async (sql: string) => (await sys.pg.query(sql)).rows;
    return {
      providers: await q(`SELECT p.* FROM provider_configs p JOIN tenants t ON t.id = p.tenant_id WHERE t.name = 'tenant-a' ORDER BY provider_key`),
      integrations: await q(`SELECT i.* FROM integrations i JOIN tenants t ON t.id = i.tenant_id WHERE t.name = 'tenant-a' ORDER BY i.id`),
      credentials: await q(`SELECT id, integration_id, version, state FROM credential_versions ORDER BY id`),
      endpoints: await q(`SELECT e.* FROM webhook_endpoints e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = 'tenant-a' ORDER BY e.id`),
    };
  }

  function assertRefused(what: string, r: ApiResponse, allowed: Array<[number, string]>) {
    assert.ok(
      allowed.some(([status, code]) => r.status === status && r.body?.error?.code === code),
      `${what}: expected ${allowed.map(([s, c]) => `${s} ${c}`).join(' or ')}, got ${r.status} ${r.text}`,
    );
    assert.deepEqual(Object.keys(r.body), ['error'], what);
    assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message'], what);
    assert.equal(r.text.includes(MARKER), false, `${what}: the target's answer came back`);
  }

  /** Refused with 422 url_not_allowed, or (for hosts the DTO validator does not take as a URL) 400 validation_error. */
  const refusedCodes = (host: string): Array<[number, string]> => (NOT_URLS_FOR_THE_VALIDATOR.has(host) ? [[400, 'validation_error']] : [[422, 'url_not_allowed']]);

  function assertNothingReachedTheTarget(what: string) {
    assert.deepEqual(target.requests, [], `${what}: requests reached the target`);
    assert.equal(target.connections, 0, `${what}: connections reached the target`);
  }

  const sandboxStats = async (): Promise<Record<string, number>> => ((await (await fetch(`${sys.sandboxUrl}/admin/stats`)).json()) as { requests: Record<string, number> }).requests;

  test('custom provider URLs on loopback, metadata and private addresses are refused at PUT: 422 url_not_allowed, nothing stored, nothing sent', async () => {
    const before = await rows();
    const put = (key: string, body: unknown) => api(sys, 'PUT', `/v1/providers/${key}`, { key: sys.keyA, body });

    // The attack as found: a validation URL at an internal admin API, its secret as the "account id".
    const probe = { authType: 'api_token', accountIdField: 'data.0.clientSecret' };
    for (const { host, open, closed } of attackUrls('/admin/oauth/clients')) {
      const atOpen = await put('probe', { ...probe, validationUrl: open });
      const atClosed = await put('probe', { ...probe, validationUrl: closed });
      assertRefused(`validationUrl ${open}`, atOpen, refusedCodes(host));
      assert.deepEqual(atClosed.body, atOpen.body, `${host}: an open and a closed port get the same answer`);
      if (atOpen.status === 422) assert.match(atOpen.body.error.message, /^validationUrl: the URL is not allowed/);
    }
    // The sandbox CRM's admin API (the attack's real target) and its Temporal neighbour.
    for (const url of [`${sys.sandboxUrl}/admin/oauth/clients`, `http://${sys.temporalAddress}/api/v1/namespaces`]) {
      assertRefused(url, await put('probe', { ...probe, validationUrl: url }), [[422, 'url_not_allowed']]);
    }
    // The metadata service, with the header it asks for, and private ranges: refused by what they are.
    for (const host of NON_LOOPBACK_INTERNAL) {
      const r = await put('probe', {
        ...probe,
        validationUrl: `http://${host}/computeMetadata/v1/instance/service-accounts/default/token`,
        tokenHeader: 'Metadata-Flavor',
        tokenPrefix: 'Google',
      });
      assertRefused(`validationUrl on ${host}`, r, [[422, 'url_not_allowed']]);
    }
    // OAuth2 endpoints: each URL field is checked and named.
    const oauthBody = { authType: 'oauth2', clientId: 'c', clientSecret: 's', authorizationUrl: peer.url('/auth'), tokenUrl: peer.url('/token'), userInfoUrl: peer.url('/me') };
    for (const field of ['authorizationUrl', 'tokenUrl', 'userInfoUrl'] as const) {
      for (const url of [`http://127.0.0.1:${target.port}/x`, `http://[::1]:${target.port}/x`, 'http://169.254.169.254/latest/meta-data/']) {
        const r = await put('probe-oauth', { ...oauthBody, [field]: url });
        assertRefused(`${field} ${url}`, r, [[422, 'url_not_allowed']]);
        assert.match(r.body.error.message, new RegExp(`^${field}: `));
      }
    }

    assert.deepEqual(await rows(), before, 'nothing stored');
    assertNothingReachedTheTarget('PUT');
  });

  test('webhook endpoint URLs on loopback, metadata and private addresses are refused at POST', async () => {
    const before = await rows();
    const post = (url: string) => api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url } });
    for (const { host, open, closed } of attackUrls('/admin/reset')) {
      const atOpen = await post(open);
      const atClosed = await post(closed);
      assertRefused(`webhook ${open}`, atOpen, refusedCodes(host));
      assert.deepEqual(atClosed.body, atOpen.body, `${host}: an open and a closed port get the same answer`);
    }
    for (const url of [`${sys.sandboxUrl}/admin/reset`, ...NON_LOOPBACK_INTERNAL.map((h) => `http://${h}/hook`)]) {
      const r = await post(url);
      assertRefused(`webhook ${url}`, r, [[422, 'url_not_allowed']]);
      assert.match(r.body.error.message, /^url: the URL is not allowed/);
    }
    assert.deepEqual(await rows(), before, 'nothing stored');
    assertNothingReachedTheTarget('POST webhook');
  });

  test("the process's policy refuses the metadata service and private ranges before any connection, and lets the catalog reach only its own origin", async () => {
    // The same policy the API and worker build from their configuration (system.ts's settings).
    const egress = createProcessEgress({ egressAllowlist: parseEgressAllowlist(TEST_PEER_ALLOWLIST), crmMode: 'sandbox', sandboxCrmUrl: sys.sandboxUrl });
    const code = async (work: Promise<unknown>) => work.then(() => 'passed', (err: unknown) => (err instanceof EgressRefused ? err.code : String(err)));
    for (const host of NON_LOOPBACK_INTERNAL) {
      // check() never connects: it judges the address.
      assert.equal(await code(egress.tenantUrls.check(`http://${host}/latest/meta-data/`)), 'url_not_allowed', host);
      assert.equal(await code(egress.forProvider({ custom: false }).check(`http://${host}/`)), 'url_not_allowed', host);
    }
    for (const { open } of attackUrls('/x')) assert.equal(await code(egress.tenantUrls.fetch(open)), 'url_not_allowed', open);
    assert.equal(await code(egress.forProvider({ custom: true }).fetch(`${sys.sandboxUrl}/health`)), 'url_not_allowed');
    assert.equal(await code(egress.forProvider({ custom: false }).check(`${sys.sandboxUrl}/api/v1/me`)), 'passed');
    assert.equal(await code(egress.forProvider({ custom: false }).fetch(`http://127.0.0.1:${target.port}/api/v1/me`)), 'url_not_allowed');
    assert.equal(await code(egress.tenantUrls.check(peer.url('/hook'))), 'passed');
    assertNothingReachedTheTarget('policy');
  });

  test('URLs stored before the policy (or moved since) are checked again at every call: 422 url_not_allowed, nothing created, nothing sent', async () => {
    // A custom provider on the allow-listed peer, whose stored URL is then changed underneath.
    const created = await api(sys, 'PUT', '/v1/providers/stored-probe', {
      key: sys.keyA,
      body: { authType: 'api_token', validationUrl: peer.url('/whoami'), accountIdField: 'data.0.clientSecret' },
    });
    assert.equal(created.status, 201, created.text);
    const storeUrl = (field: string, url: string) =>
      sys.pg.query(
        `UPDATE provider_configs SET settings = jsonb_set(settings, $2, to_jsonb($3::text))
          WHERE provider_key = $1 AND tenant_id = (SELECT id FROM tenants WHERE name = 'tenant-a')`,
        ['stored-probe', `{${field}}`, url],
      );
    const statsBefore = await sandboxStats();
    const sandboxPath = '/egress-probe-from-a-custom-provider';
    const connect = () => api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'stored-probe', credentials: { apiToken: 'x' } } });
    const before = await rows();
    const expectRefusedAtCall = async (url: string) => {
      await storeUrl('validationUrl', url);
      const r = await connect();
      assertRefused(`stored validationUrl ${url}`, r, [[422, 'url_not_allowed']]);
      assert.equal(r.body.error.message, "the provider's validation URL is not allowed (egress policy)");
      return r.body;
    };
    for (const { open, closed } of attackUrls('/admin/oauth/clients')) {
      assert.deepEqual(await expectRefusedAtCall(closed), await expectRefusedAtCall(open), `${open}: an open and a closed port get the same answer`);
    }
    // The sandbox CRM, which catalog providers reach: not through a custom provider.
    await expectRefusedAtCall(`${sys.sandboxUrl}${sandboxPath}`);
    await expectRefusedAtCall(`${sys.sandboxUrl}/admin/oauth/clients`);
    assert.deepEqual((await rows()).integrations, before.integrations, 'no integration created');
    assert.equal((await sandboxStats())[`GET ${sandboxPath}`], statsBefore[`GET ${sandboxPath}`], 'the sandbox was not reached through a custom provider');

    // The same for an OAuth2 provider's userinfo URL (who-am-I of a connection made with an access token).
    const oauthPut = await api(sys, 'PUT', '/v1/providers/stored-oauth', {
      key: sys.keyA,
      body: { authType: 'oauth2', clientId: 'c', clientSecret: 's', authorizationUrl: peer.url('/auth'), tokenUrl: peer.url('/token'), userInfoUrl: peer.url('/me') },
    });
    assert.equal(oauthPut.status, 201, oauthPut.text);
    await sys.pg.query(
      `UPDATE provider_configs SET settings = jsonb_set(settings, '{userInfoUrl}', to_jsonb($1::text)) WHERE provider_key = 'stored-oauth'`,
      [`http://0x7f000001:${target.port}/userinfo`],
    );
    const viaUserinfo = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'stored-oauth', credentials: { accessToken: 'at' } } });
    assertRefused('stored userInfoUrl', viaUserinfo, [[422, 'url_not_allowed']]);
    assert.equal(viaUserinfo.body.error.message, "the provider's userinfo URL is not allowed (egress policy)");

    assert.deepEqual(peer.requests.filter((r) => r.path === '/whoami' || r.path === '/me'), [], 'not even the old URL was asked');
    assertNothingReachedTheTarget('stored URLs');
  });

  /** An API-token reauthorization of a fresh sandbox integration: emits `integrated_account:reauthorized`. */
  async function reauthorize(): Promise<string> {
    const acct = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${acct.integration.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: await sandboxToken(sys, acct.accountId) } });
    assert.equal(submitted.status, 200, submitted.text);
    return acct.integration.id as string;
  }

  const deliveries = async (endpointId: string) => {
    const r = await api(sys, 'GET', `/v1/webhook-endpoints/${endpointId}/deliveries`, { key: sys.keyA });
    assert.equal(r.status, 200, r.text);
    return r.body.data as Array<{ status: string; attempts: number; lastStatusCode: number | null; lastError: string | null }>;
  };

  async function endpoint(url: string): Promise<string> {
    const r = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url, events: ['integrated_account:reauthorized'] } });
    assert.equal(r.status, 201, r.text);
    return r.body.id as string;
  }

  test('a stored webhook URL on loopback is refused at delivery: failed for good with our reason, nothing sent', async () => {
    const id = await endpoint(peer.url('/moved-away'));
    await sys.pg.query('UPDATE webhook_endpoints SET url = $2 WHERE id = $1', [id, `http://127.0.0.1:${target.port}/admin/reset`]);
    await reauthorize();
    const failed = await waitFor('the refused delivery', async () => {
      const d = (await deliveries(id))[0];
      return d?.status === 'failed' ? d : undefined;
    });
    assert.equal(failed.attempts, 1, 'refused for good: not retried');
    assert.equal(failed.lastStatusCode, null);
    assert.equal(failed.lastError, 'delivery failed for good (url_not_allowed); last error: the endpoint URL is not allowed (egress policy)');
    assert.deepEqual(peer.requests.filter((r) => r.path === '/moved-away'), []);
    assertNothingReachedTheTarget('stored webhook URL');
    assert.equal((await api(sys, 'DELETE', `/v1/webhook-endpoints/${id}`, { key: sys.keyA })).status, 200);
  });

  test('a redirect from an allow-listed server to loopback is never followed (custom provider, webhook)', async () => {
    peer.answer.set('/redirect', () => ({ status: 302, headers: { location: `http://127.0.0.1:${target.port}/admin/oauth/clients` }, body: MARKER }));
    const put = await api(sys, 'PUT', '/v1/providers/redirecting', {
      key: sys.keyA,
      body: { authType: 'api_token', validationUrl: peer.url('/redirect'), accountIdField: 'data.0.clientSecret' },
    });
    assert.equal(put.status, 201, put.text);
    const before = await rows();
    const r = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'redirecting', credentials: { apiToken: 'x' } } });
    assertRefused('validation through a redirect', r, [[422, 'invalid_credentials']]);
    assert.match(r.body.error.message, /redirects are not followed/);
    assert.deepEqual((await rows()).integrations, before.integrations);
    assert.equal(peer.requests.filter((x) => x.path === '/redirect').length, 1, 'a redirect is final: asked once');

    const id = await endpoint(peer.url('/redirect'));
    await reauthorize();
    const attempted = await waitFor('a delivery attempt', async () => {
      const d = (await deliveries(id))[0];
      return d && d.attempts >= 1 ? d : undefined;
    });
    assert.equal(attempted.status, 'pending');
    assert.equal(attempted.lastStatusCode, 302);
    assert.equal(attempted.lastError, 'receiver answered HTTP 302 (a redirect; redirects are not followed)');
    assert.equal((await api(sys, 'DELETE', `/v1/webhook-endpoints/${id}`, { key: sys.keyA })).status, 200);
    assertNothingReachedTheTarget('redirect');
  });

  test('a name that resolves to loopback is refused like the address', async () => {
    const { name, resolved } = loopbackName;
    for (const r of [
      await api(sys, 'PUT', '/v1/providers/by-name', { key: sys.keyA, body: { authType: 'api_token', validationUrl: `http://${name}:${target.port}/x`, accountIdField: 'id' } }),
      await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url: `http://${name}:${target.port}/hook` } }),
    ]) {
      assertRefused(`${name} (${resolved ? 'resolves to loopback' : 'a .localhost name'})`, r, [[422, 'url_not_allowed']]);
    }
    assertNothingReachedTheTarget('name');
  });

  test('an account id that is not an id (a secret, a long text) is refused: 422 invalid_account_id, nothing stored or shown', async () => {
    const longSecret = `cs_${MARKER}_${'s'.repeat(200)}`;
    let answer: unknown = { data: [{ clientSecret: longSecret }] };
    peer.answer.set('/clients', () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) }));
    const put = await api(sys, 'PUT', '/v1/providers/secret-as-id', {
      key: sys.keyA,
      body: { authType: 'api_token', validationUrl: peer.url('/clients'), accountIdField: 'data.0.clientSecret' },
    });
    assert.equal(put.status, 201, put.text);
    const connect = () => api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'secret-as-id', credentials: { apiToken: 'x' } } });
    const before = await rows();
    for (const value of [longSecret, `${MARKER} <b>not an id</b>`, { nested: MARKER }]) {
      answer = { data: [{ clientSecret: value }] };
      const r = await connect();
      assertRefused(`account id ${JSON.stringify(value).slice(0, 40)}`, r, [[422, 'invalid_account_id']]);
      assert.match(r.body.error.message, /data\.0\.clientSecret/);
    }
    assert.deepEqual((await rows()).integrations, before.integrations, 'no integration created');

    // An id-like value connects; a reauthorization whose answer turns into a secret is refused the same way.
    answer = { data: [{ clientSecret: 'acct-42' }] };
    const ok = await connect();
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.credentials.accountId, 'acct-42');
    const started = await api(sys, 'POST', `/v1/integrations/${ok.body.id}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    answer = { data: [{ clientSecret: longSecret }] };
    const reauth = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: 'y' } });
    assertRefused('reauthorization', reauth, [[422, 'invalid_account_id']]);
    const status = await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA });
    assert.equal(status.body.error.code, 'invalid_account_id');
    assert.equal(status.text.includes(MARKER), false);
    await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/cancel`, { key: sys.keyA, body: {} });

    // OAuth2: the accountIdClaim of a userinfo answer.
    peer.answer.set('/userinfo', () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'u1', org: longSecret }) }));
    const oauthPut = await api(sys, 'PUT', '/v1/providers/claim-probe', {
      key: sys.keyA,
      body: { authType: 'oauth2', clientId: 'c', clientSecret: 's', authorizationUrl: peer.url('/auth'), tokenUrl: peer.url('/token'), userInfoUrl: peer.url('/userinfo'), accountIdClaim: 'org' },
    });
    assert.equal(oauthPut.status, 201, oauthPut.text);
    const viaClaim = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'claim-probe', credentials: { accessToken: 'at' } } });
    assertRefused('accountIdClaim', viaClaim, [[422, 'invalid_account_id']]);

    const stored = await sys.pg.query('SELECT account_id FROM credential_versions');
    assert.equal(JSON.stringify(stored.rows).includes(MARKER), false, 'the secret is stored nowhere as an account id');
    assert.equal(sys.logs.join('\n').includes(MARKER), false, 'the secret reached a log line');
  });

  test("a server's error answer comes back nowhere: not in the API's answer, the delivery log or the logs", async () => {
    const body = `<html>stack trace ${MARKER} DB_PASSWORD=hunter2</html>`;
    peer.answer.set('/boom', () => ({ status: 500, headers: { 'content-type': 'text/html' }, body }));
    const put = await api(sys, 'PUT', '/v1/providers/failing', { key: sys.keyA, body: { authType: 'api_token', validationUrl: peer.url('/boom'), accountIdField: 'id' } });
    assert.equal(put.status, 201, put.text);
    const r = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'failing', credentials: { apiToken: 'x' } } });
    assertRefused('a 500 of the validation URL', r, [[503, 'crm_unavailable']]);

    const id = await endpoint(peer.url('/boom'));
    await reauthorize();
    const attempted = await waitFor('a failed delivery attempt', async () => {
      const d = (await deliveries(id))[0];
      return d && d.attempts >= 1 ? d : undefined;
    });
    assert.equal(attempted.lastStatusCode, 500);
    assert.equal(attempted.lastError, 'receiver answered HTTP 500');
    const log = await api(sys, 'GET', `/v1/webhook-endpoints/${id}/deliveries`, { key: sys.keyA });
    assert.equal(log.text.includes(MARKER), false);
    const row = await sys.pg.query('SELECT last_error FROM webhook_deliveries WHERE endpoint_id = $1', [id]);
    assert.equal(JSON.stringify(row.rows).includes(MARKER), false);
    assert.equal((await api(sys, 'DELETE', `/v1/webhook-endpoints/${id}`, { key: sys.keyA })).status, 200);
    assert.equal(sys.logs.join('\n').includes(MARKER), false, 'an answer body reached a log line');
  });
});
