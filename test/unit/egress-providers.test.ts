/**
 * The egress policy as the provider clients use it: which policy a provider's URL gets (the
 * catalog's configured origin for catalog providers only), what an answer may contribute (account
 * ids that look like ids, scopes that look like scopes, API URLs under a trusted prefix and allowed
 * by the policy), and that failures carry our words, never the remote body or error description.
 * A local server on 127.0.0.1 plays the CRM; nothing here connects anywhere else.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEgressAllowlist } from '../../libs/http/egress-allowlist';
import { EgressRefused, type EgressPolicy } from '../../libs/http/egress-policy';
import { getCrmJson, whoAmIWithApiToken } from '../../libs/providers/api-token-client';
import type { OAuth2Definition } from '../../libs/providers/catalog';
import { accountIdFromAnswer, CrmError, idFromAnswer, requestFailure } from '../../libs/providers/errors';
import { refreshAccessToken, whoAmIWithAccessToken } from '../../libs/providers/oauth-client';
import { createProcessEgress } from '../../libs/providers/provider-egress';
import { parseScopes } from '../../libs/providers/scopes';

const MARKER = 'MARKER-7f3a-do-not-echo';

let server: http.Server;
let port: number;
let base: string;
/** What the token endpoint answers next (JSON body and status). */
let tokenAnswer: { status: number; body: unknown } = { status: 200, body: {} };
const hits: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.push(path);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    req.resume();
    req.on('end', () => {
      if (path === '/token') return json(tokenAnswer.status, tokenAnswer.body);
      if (path === '/boom') return res.writeHead(500, { 'content-type': 'text/plain' }).end(`internal error ${MARKER}`);
      if (path === '/denied') return json(401, { error: { code: 'nope', message: MARKER } });
      if (path === '/moved') return res.writeHead(302, { location: 'http://169.254.169.254/' }).end(MARKER);
      if (path === '/me-long') return json(200, { account: { id: 'x'.repeat(129) }, user: { id: 'u1' } });
      if (path === '/me-unsafe') return json(200, { account: { id: `${MARKER} <script>` } });
      if (path === '/me-object') return json(200, { account: { id: { secret: MARKER } } });
      if (path === '/me-missing') return json(200, { account: {} });
      if (path === '/me') return json(200, { account: { id: 'acc_42' }, user: { id: `bad user ${MARKER}` }, scopes: ['read', `bad scope`, 'a"b', 7, { x: 1 }] });
      if (path === '/userinfo') return json(200, { sub: 'auth0|5f7c', org: { id: 'org:acme@eu' }, scope: 'openid profile' });
      json(404, { message: MARKER });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  hits.length = 0;
});

/** A sandbox-mode process whose sandbox CRM is the local server; EGRESS_ALLOWLIST as given. */
function sandboxEgress(allowlist = '') {
  return createProcessEgress({ egressAllowlist: parseEgressAllowlist(allowlist), crmMode: 'sandbox', sandboxCrmUrl: base });
}

async function refusalCode(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (err instanceof EgressRefused) return err.code;
    throw err;
  }
  return 'passed';
}

describe('which policy a provider URL gets', () => {
  test("a catalog provider reaches exactly the configured sandbox origin; a custom provider, or any other loopback origin, does not", async () => {
    const egress = sandboxEgress();
    const catalog = egress.forProvider({ custom: false });
    const custom = egress.forProvider({ custom: true });
    expect([...egress.catalogOrigins]).toEqual([base]);

    await catalog.check(`${base}/api/v1/me`);
    expect((await catalog.fetch(`${base}/me`)).status).toBe(200);

    // The same host on another port, another spelling of the host, another scheme: not the catalog's origin.
    for (const url of [`http://127.0.0.1:${port + 1}/x`, `http://localhost:${port}/x`, `http://[::1]:${port}/x`, `http://127.0.0.2:${port}/x`, `https://127.0.0.1:${port}/x`]) {
      expect([url, await refusalCode(catalog.check(url))]).toEqual([url, 'url_not_allowed']);
    }
    // Custom providers and tenant URLs: the sandbox is just another loopback address.
    expect(await refusalCode(custom.check(`${base}/admin/oauth/clients`))).toBe('url_not_allowed');
    expect(await refusalCode(custom.fetch(`${base}/admin/oauth/clients`))).toBe('url_not_allowed');
    expect(await refusalCode(egress.tenantUrls.fetch(`${base}/admin/reset`, { method: 'POST' }))).toBe('url_not_allowed');
    expect(hits).toEqual(['/me']);
  });

  test('EGRESS_ALLOWLIST applies to both; production mode trusts no origin and requires https', async () => {
    const allowed = sandboxEgress(`127.0.0.1:${port}`);
    expect((await allowed.forProvider({ custom: true }).fetch(`${base}/me`)).status).toBe(200);

    const production = createProcessEgress({ egressAllowlist: [], crmMode: 'production', sandboxCrmUrl: base });
    expect(production.catalogOrigins.size).toBe(0);
    expect(production.forProvider({ custom: false })).toBe(production.tenantUrls);
    expect(await refusalCode(production.forProvider({ custom: false }).check(`${base}/api/v1/me`))).toBe('url_not_allowed');
    expect(await refusalCode(production.tenantUrls.check('http://93.184.215.14/hook'))).toBe('url_not_allowed');
    await production.tenantUrls.check('https://93.184.215.14/hook');
    // Metadata and private ranges: refused by what they are, before any connection.
    for (const url of ['http://169.254.169.254/computeMetadata/v1/', 'http://10.0.0.1/', 'http://192.168.1.1/', 'http://[fd00::1]/']) {
      expect(await refusalCode(sandboxEgress().tenantUrls.check(url))).toBe('url_not_allowed');
    }
  });
});

describe('what a CRM answer may contribute', () => {
  test('account ids: at most 128 of [A-Za-z0-9._:@|-]; anything else is refused without repeating it', () => {
    for (const id of ['42', 'acc_42', 'org:acme@eu', 'auth0|5f7c', '00D5g000004XyzA', 'a-b.c', 'x'.repeat(128)]) expect(accountIdFromAnswer(id, 'id')).toBe(id);
    expect(accountIdFromAnswer(12345, 'id')).toBe('12345');
    for (const bad of ['x'.repeat(129), `${MARKER} <script>`, 'a b', 'ünïcode', 'a/b', { id: 1 }, ['1'], true, Number.NaN]) {
      assert.throws(
        () => accountIdFromAnswer(bad, 'data.0.clientSecret'),
        (err: unknown) => err instanceof CrmError && err.kind === 'invalid_account_id' && !err.message.includes(MARKER) && err.message.includes('data.0.clientSecret'),
      );
    }
    for (const missing of [undefined, null, '']) {
      assert.throws(() => accountIdFromAnswer(missing, 'id'), (err: unknown) => err instanceof CrmError && err.kind === 'bad_response');
    }
    expect(idFromAnswer('bad user')).toBeNull();
  });

  test('scopes: scope-tokens only', () => {
    expect(parseScopes('openid  profile,org')).toEqual(['openid', 'profile', 'org']);
    expect(parseScopes(['read', 'bad scope', 'a"b', 'c\\d', 7, { x: 1 }, ''])).toEqual(['read', '7']);
    expect(parseScopes(undefined)).toBeNull();
    expect(parseScopes(`${'s'.repeat(201)} ok`)).toEqual(['ok']);
  });

  test('who-am-I with an API token: an unsafe account id is invalid_account_id, a bad user id or scope is dropped', async () => {
    const policy = sandboxEgress().forProvider({ custom: false });
    const spec = { validationUrl: `${base}/me`, tokenHeader: 'Authorization', tokenPrefix: 'Bearer ', accountIdField: 'account.id', userIdField: 'user.id', scopesField: 'scopes' };
    expect(await whoAmIWithApiToken(policy, spec, 't')).toEqual({ accountId: 'acc_42', userId: null, scopes: ['read', '7'] });
    for (const path of ['/me-long', '/me-unsafe', '/me-object']) {
      await assert.rejects(whoAmIWithApiToken(policy, { ...spec, validationUrl: `${base}${path}` }, 't'), (err: unknown) => {
        assert.ok(err instanceof CrmError && err.kind === 'invalid_account_id', `${path}: ${String(err)}`);
        assert.ok(!err.message.includes(MARKER) && !err.message.includes('xxxxxxxx'), err.message);
        return true;
      });
    }
    await assert.rejects(whoAmIWithApiToken(policy, { ...spec, validationUrl: `${base}/me-missing` }, 't'), (err: unknown) => err instanceof CrmError && err.kind === 'bad_response');
  });

  test('who-am-I with an access token (custom userinfo): the claim path names the account', async () => {
    const def = oauthDef();
    const policy = sandboxEgress(`127.0.0.1:${port}`).forProvider({ custom: true });
    expect(await whoAmIWithAccessToken(policy, { ...def, identityUrl: `${base}/userinfo`, accountIdClaim: 'org.id' }, { accessToken: 'a', metadata: {} })).toEqual({
      accountId: 'org:acme@eu',
      userId: 'auth0|5f7c',
      scopes: ['openid', 'profile'],
    });
  });
});

describe('failures carry our words', () => {
  const policyFor = () => sandboxEgress().forProvider({ custom: false });

  test("a CRM error answer: the status class, never the body", async () => {
    for (const [path, kind, status] of [
      ['/boom', 'transient', 500],
      ['/denied', 'invalid_credentials', 401],
      ['/nowhere', 'bad_response', 404],
    ] as const) {
      await assert.rejects(getCrmJson(policyFor(), `${base}${path}`, {}, { role: 'validation URL' }), (err: unknown) => {
        assert.ok(err instanceof CrmError, String(err));
        assert.deepEqual([err.kind, err.status, err.message], [kind, status, `the CRM answered ${status}`]);
        assert.ok(!JSON.stringify(err).includes(MARKER));
        return true;
      });
    }
  });

  test('a redirect is not followed and is a bad response; a refused URL names the role', async () => {
    await assert.rejects(getCrmJson(policyFor(), `${base}/moved`, {}, { role: 'userinfo URL' }), (err: unknown) => {
      assert.ok(err instanceof CrmError && err.kind === 'bad_response' && err.status === 302, String(err));
      assert.match(err.message, /redirects are not followed/);
      return true;
    });
    await assert.rejects(getCrmJson(sandboxEgress().forProvider({ custom: true }), `${base}/me`, {}, { role: 'validation URL' }), (err: unknown) => {
      assert.ok(err instanceof CrmError && err.kind === 'url_not_allowed', String(err));
      assert.equal(err.message, "the provider's validation URL is not allowed (egress policy)");
      return true;
    });
    expect(hits).toEqual(['/moved']);
  });

  test('requestFailure: every refusal code, an unsendable request, an interrupted one', () => {
    const kinds = (['url_not_allowed', 'redirect_not_allowed', 'response_too_large', 'egress_timeout', 'egress_unreachable'] as const).map(
      (code) => requestFailure(new EgressRefused(code, 'x', code === 'redirect_not_allowed' ? 307 : undefined), 'token URL').kind,
    );
    expect(kinds).toEqual(['url_not_allowed', 'bad_response', 'bad_response', 'transient', 'transient']);
    expect(requestFailure(new TypeError('invalid header value'), 'API URL').kind).toBe('invalid_credentials');
    expect(requestFailure(new DOMException('aborted', 'AbortError'), 'API URL').kind).toBe('transient');
  });
});

function oauthDef(overrides: Partial<OAuth2Definition> = {}): OAuth2Definition {
  return {
    authorizationUrl: `${base}/authorize`,
    tokenUrl: `${base}/token`,
    scopeSeparator: ' ',
    pkce: true,
    clientAuth: 'client_secret_post',
    defaultScopes: [],
    identity: 'userinfo',
    identityUrl: `${base}/userinfo`,
    tokenHeaderPrefix: 'Bearer ',
    ...overrides,
  };
}

describe('token responses', () => {
  const app = { clientId: 'c', clientSecret: 's' };
  const refresh = (def: OAuth2Definition, policy: EgressPolicy) => refreshAccessToken(policy, def, app, 'r', null);

  test('an instance URL under a trusted prefix is kept; one outside, or one the policy refuses, fails the refresh', async () => {
    const catalog = sandboxEgress().forProvider({ custom: false });
    const def = oauthDef({ trustedApiPrefixes: [`${base}/salesforce`] });
    tokenAnswer = { status: 200, body: { access_token: 'a', token_type: 'bearer', instance_url: `${base}/salesforce/` } };
    expect((await refresh(def, catalog)).metadata).toEqual({ apiBaseUrl: `${base}/salesforce`, instanceUrl: `${base}/salesforce` });

    for (const instance of [`${base}/salesforce/../admin`, `${base}/salesforcex`, `${base}.evil.test/salesforce`, `http://169.254.169.254/salesforce`, `${base}/salesforce?x=1`]) {
      tokenAnswer = { status: 200, body: { access_token: 'a', token_type: 'bearer', instance_url: instance } };
      await assert.rejects(refresh(def, catalog), (err: unknown) => err instanceof CrmError && err.kind === 'bad_response' && /untrusted API host/.test(err.message), instance);
    }
    // Trusted by prefix ("any https host" in production) yet not a public address: the policy refuses it.
    const anyHttp = oauthDef({ trustedApiPrefixes: ['http://'] });
    tokenAnswer = { status: 200, body: { access_token: 'a', token_type: 'bearer', instance_url: 'http://10.1.2.3/api' } };
    await assert.rejects(refresh(anyHttp, catalog), (err: unknown) => err instanceof CrmError && err.kind === 'url_not_allowed');
  });

  test("an error answer's description is kept for classification only, never in the message", async () => {
    const catalog = sandboxEgress().forProvider({ custom: false });
    tokenAnswer = { status: 400, body: { error: 'invalid_grant', error_description: `inactive user ${MARKER}` } };
    await assert.rejects(refresh(oauthDef(), catalog), (err: unknown) => {
      assert.ok(err instanceof CrmError && err.kind === 'invalid_grant', String(err));
      assert.equal(err.message, 'the token endpoint refused the grant (400, invalid_grant)');
      assert.equal(err.remoteDescription, `inactive user ${MARKER}`);
      assert.ok(!JSON.stringify(err).includes(MARKER) && !Object.values(err).some((v) => String(v).includes(MARKER)), 'not enumerable');
      return true;
    });
    tokenAnswer = { status: 400, body: { error: `weird ${MARKER}`, error_description: MARKER } };
    await assert.rejects(refresh(oauthDef(), catalog), (err: unknown) => {
      assert.ok(err instanceof CrmError && err.kind === 'bad_response', String(err));
      assert.ok(!err.message.includes(MARKER), err.message);
      return true;
    });
    // A custom provider's token URL on a refused address: never requested.
    hits.length = 0;
    await assert.rejects(refresh(oauthDef(), sandboxEgress().forProvider({ custom: true })), (err: unknown) => {
      assert.ok(err instanceof CrmError && err.kind === 'url_not_allowed', String(err));
      assert.equal(err.message, "the provider's token URL is not allowed (egress policy)");
      return true;
    });
    expect(hits).toEqual([]);
  });
});
