/**
 * The sandbox CRM's record APIs in the four CRM shapes, in-process over HTTP: each CRM's paths,
 * paging and error bodies, one account never seeing another's records (nor resuming another's
 * paging token or query locator), empty collections as the real CRMs answer them, and a request
 * log that keeps no secret.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSandboxCrm, SandboxCrm } from '../apps/sandbox-crm/sandbox-crm';

type Shape = 'hubspot' | 'salesforce' | 'pipedrive' | 'zoho';
const REDIRECT_URI = 'https://app.example.test/oauth/callback';
const AUTH: Record<Shape, { authorize: string; token: string; basic: boolean; scheme: string }> = {
  hubspot: { authorize: '/hubspot/oauth/authorize', token: '/hubspot/oauth/v1/token', basic: false, scheme: 'Bearer' },
  salesforce: { authorize: '/salesforce/services/oauth2/authorize', token: '/salesforce/services/oauth2/token', basic: false, scheme: 'Bearer' },
  pipedrive: { authorize: '/pipedrive/oauth/authorize', token: '/pipedrive/oauth/token', basic: true, scheme: 'Bearer' },
  zoho: { authorize: '/zoho/us/accounts/oauth/v2/auth', token: '/zoho/us/accounts/oauth/v2/token', basic: false, scheme: 'Zoho-oauthtoken' },
};

describe('sandbox CRM record APIs (HubSpot, Salesforce, Pipedrive, Zoho shapes)', () => {
  let sandbox: SandboxCrm;
  beforeAll(async () => {
    sandbox = await createSandboxCrm({ port: 0 });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  async function call(path: string, init: { method?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(sandbox.url + path, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  }

  /** An account with records and an access token of `shape` for its first user. */
  async function tokenFor(shape: Shape, records: Record<string, number>): Promise<string> {
    const acct = (await call('/admin/accounts', { json: { records } })).json;
    const client = (await call('/admin/oauth/clients', { json: { provider: shape, redirectUris: [REDIRECT_URI] } })).json;
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(sandbox.url + AUTH[shape].authorize);
    url.search = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: 's1',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(shape === 'zoho' ? { access_type: 'offline', scope: 'ZohoCRM.modules.ALL' } : {}),
    }).toString();
    const { redirectTo } = (await call('/admin/oauth/authorize', { json: { authorizeUrl: url.toString(), userId: acct.user.id } })).json;
    const code = new URL(redirectTo).searchParams.get('code')!;
    const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const headers: Record<string, string> = {};
    if (AUTH[shape].basic) headers.authorization = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    else Object.assign(form, { client_id: client.clientId, client_secret: client.clientSecret });
    const token = await call(AUTH[shape].token, { form, headers });
    assert.ok(token.json?.access_token, JSON.stringify(token.json));
    return token.json.access_token as string;
  }

  const bearer = (shape: Shape, token: string) => ({ authorization: `${AUTH[shape].scheme} ${token}` });

  test('HubSpot: objects and owners, paging.next.after, properties, its 401 and 400 bodies, rate-limit headers', async () => {
    const a = await tokenFor('hubspot', { contacts: 15, companies: 0, deals: 0 });
    const b = await tokenFor('hubspot', { contacts: 3, companies: 0, deals: 0 });
    const p1 = await call('/hubspot/crm/v3/objects/contacts?limit=10&properties=email,firstname', { headers: bearer('hubspot', a) });
    assert.equal(p1.status, 200);
    assert.equal(p1.json.results.length, 10);
    assert.deepEqual(Object.keys(p1.json.results[0].properties).sort(), ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate']);
    assert.equal(p1.headers.get('x-hubspot-ratelimit-max'), '110');
    const p2 = await call(`/hubspot/crm/v3/objects/contacts?limit=10&after=${p1.json.paging.next.after}`, { headers: bearer('hubspot', a) });
    assert.equal(p2.json.results.length, 5);
    assert.equal(p2.json.paging, undefined);
    assert.equal((await call('/hubspot/crm/v3/objects/contacts?limit=100', { headers: bearer('hubspot', b) })).json.results.length, 3, 'another portal, its own records');
    const owners = await call('/hubspot/crm/v3/owners?limit=100', { headers: bearer('hubspot', a) });
    assert.equal(owners.json.results.length, 1);
    const denied = await call('/hubspot/crm/v3/objects/contacts', { headers: { authorization: 'Bearer nope' } });
    assert.equal(denied.status, 401);
    assert.equal(denied.json.category, 'INVALID_AUTHENTICATION');
    assert.equal((await call('/hubspot/crm/v3/objects/contacts?limit=101', { headers: bearer('hubspot', a) })).json.category, 'VALIDATION_ERROR');
    assert.equal((await call('/hubspot/crm/v3/objects/tickets', { headers: bearer('hubspot', a) })).status, 400);
  });

  test('Salesforce: SOQL query and locators, no other account\'s locator, its error bodies', async () => {
    const a = await tokenFor('salesforce', { contacts: 450, companies: 0, deals: 0 });
    const b = await tokenFor('salesforce', { contacts: 1, companies: 0, deals: 0 });
    const q = encodeURIComponent('SELECT Id, Email, LastModifiedDate FROM Contact ORDER BY Id');
    const h = { ...bearer('salesforce', a), 'sforce-query-options': 'batchSize=200' };
    const first = await call(`/salesforce/services/data/v59.0/query?q=${q}`, { headers: h });
    assert.equal(first.status, 200);
    assert.equal(first.json.totalSize, 450);
    assert.equal(first.json.done, false);
    assert.equal(first.json.records.length, 200);
    assert.deepEqual(Object.keys(first.json.records[0]), ['attributes', 'Id', 'Email', 'LastModifiedDate']);
    assert.match(first.json.nextRecordsUrl, /^\/services\/data\/v59\.0\/query\/01g[A-Za-z0-9]{15}-200$/);
    const ids = first.json.records.map((r: { Id: string }) => r.Id);
    assert.deepEqual(ids, [...ids].sort(), 'Id order');
    assert.equal((await call(`/salesforce${first.json.nextRecordsUrl}`, { headers: bearer('salesforce', b) })).json[0].errorCode, 'INVALID_QUERY_LOCATOR', 'not another org\'s locator');
    const second = await call(`/salesforce${first.json.nextRecordsUrl}`, { headers: h });
    assert.equal(second.json.records.length, 200);
    const resumed = await call(`/salesforce/services/data/v59.0/query?q=${encodeURIComponent(`SELECT Id FROM Contact WHERE Id > '${ids[199]}' ORDER BY Id`)}`, { headers: h });
    assert.equal(resumed.json.totalSize, 250);
    assert.equal((await call(`/salesforce/services/data/v59.0/query?q=${encodeURIComponent('SELECT Password FROM Contact')}`, { headers: h })).json[0].errorCode, 'INVALID_FIELD');
    assert.equal((await call(`/salesforce/services/data/v59.0/query?q=${encodeURIComponent('DELETE FROM Contact')}`, { headers: h })).json[0].errorCode, 'MALFORMED_QUERY');
    const denied = await call(`/salesforce/services/data/v59.0/query?q=${q}`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(denied.status, 401);
    assert.deepEqual(denied.json, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    assert.match(second.headers.get('sforce-limit-info') ?? '', /^api-usage=\d+\/15000$/);
  });

  test('Pipedrive: start/limit pagination, data:null when empty, users, its 401 body and 429 headers', async () => {
    const a = await tokenFor('pipedrive', { contacts: 5, companies: 0, deals: 0 });
    const p = await call('/pipedrive/api/v1/persons?start=0&limit=3', { headers: bearer('pipedrive', a) });
    assert.deepEqual(p.json.additional_data.pagination, { start: 0, limit: 3, more_items_in_collection: true, next_start: 3 });
    assert.equal(p.json.data[0].email[0].primary, true);
    const last = await call('/pipedrive/api/v1/persons?start=3&limit=3', { headers: bearer('pipedrive', a) });
    assert.equal(last.json.additional_data.pagination.more_items_in_collection, false);
    const empty = await call('/pipedrive/api/v1/organizations', { headers: bearer('pipedrive', a) });
    assert.equal(empty.json.data, null);
    assert.equal((await call('/pipedrive/api/v1/users', { headers: bearer('pipedrive', a) })).json.data.length, 1);
    const denied = await call('/pipedrive/api/v1/deals', { headers: { authorization: 'Bearer nope' } });
    assert.deepEqual([denied.status, denied.json.success, denied.json.errorCode], [401, false, 401]);
    await call('/admin/record-api/faults', { json: { shape: 'pipedrive', kind: 'rate_limit', retryAfterSeconds: 7 } });
    const limited = await call('/pipedrive/api/v1/persons', { headers: bearer('pipedrive', a) });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(limited.headers.get('x-ratelimit-reset'), '7');
    assert.equal((await call('/pipedrive/api/v1/persons', { headers: bearer('pipedrive', a) })).status, 200, 'the fault was used up');
  });

  test('Zoho: page within 2,000 records, then only page_token; 204 for an empty module; its error bodies', async () => {
    const a = await tokenFor('zoho', { contacts: 2100, companies: 0, deals: 0 });
    const b = await tokenFor('zoho', { contacts: 2100, companies: 0, deals: 0 });
    const page10 = await call('/zoho/us/api/crm/v2/Contacts?page=10&per_page=200&fields=Email', { headers: bearer('zoho', a) });
    assert.equal(page10.status, 200);
    assert.equal(page10.json.info.more_records, true);
    assert.deepEqual(Object.keys(page10.json.data[0]).sort(), ['Email', 'id']);
    const page11 = await call('/zoho/us/api/crm/v2/Contacts?page=11&per_page=200', { headers: bearer('zoho', a) });
    assert.equal(page11.status, 400);
    assert.equal(page11.json.code, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED');
    const token = page10.json.info.next_page_token as string;
    assert.equal((await call(`/zoho/us/api/crm/v2/Contacts?page_token=${token}&per_page=200`, { headers: bearer('zoho', b) })).json.code, 'INVALID_DATA', 'not another org\'s page token');
    const next = await call(`/zoho/us/api/crm/v2/Contacts?page_token=${token}&per_page=200`, { headers: bearer('zoho', a) });
    assert.equal(next.json.data.length, 100);
    assert.equal(next.json.info.more_records, false);
    assert.equal((await call('/zoho/us/api/crm/v2/Deals', { headers: bearer('zoho', a) })).status, 204);
    assert.equal((await call('/zoho/eu/api/crm/v2/Contacts', { headers: bearer('zoho', a) })).json.code, 'INVALID_TOKEN', 'another data center does not know the token');
    await call('/admin/record-api/faults', { json: { shape: 'zoho', kind: 'rate_limit', entity: 'contacts', retryAfterSeconds: 5 } });
    const before = Date.now();
    const limited = await call('/zoho/us/api/crm/v2/Contacts', { headers: bearer('zoho', a) });
    assert.equal(limited.json.code, 'TOO_MANY_REQUESTS');
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    assert.ok(reset >= before + 5000 && reset < before + 7000, `reset ${reset - before} ms ahead`);
  });

  test('the request log: in order, with status and query, secrets masked; admin input validated', async () => {
    await call('/admin/stats', { method: 'DELETE' });
    await call('/zoho/us/accounts/oauth/v2/token/revoke?token=sbx_rt_abcdef123', { method: 'POST' });
    await call('/pipedrive/api/v1/persons?start=0&limit=5', { headers: { authorization: 'Bearer nope' } });
    const log = (await call('/admin/stats/requests')).json.requests as Array<{ path: string; query: string; status: number; at: string }>;
    assert.deepEqual(log.map((r) => [r.path, r.status]), [['/zoho/us/accounts/oauth/v2/token/revoke', 200], ['/pipedrive/api/v1/persons', 401]]);
    assert.equal(log[0].query, 'token=%3Asecret');
    assert.equal(log[1].query, 'start=0&limit=5');
    assert.ok(!JSON.stringify(log).includes('sbx_rt_abcdef123'));
    assert.equal((await call('/admin/stats/requests?pathPrefix=/pipedrive')).json.requests.length, 1);
    for (const bad of [{ shape: 'acme', kind: 'rate_limit' }, { shape: 'zoho', kind: 'explode' }, { shape: 'zoho', kind: 'rate_limit', count: 0 }, { shape: 'zoho', kind: 'rate_limit', retryAfterSeconds: 99999 }]) {
      assert.equal((await call('/admin/record-api/faults', { json: bad })).status, 400, JSON.stringify(bad));
    }
  });
});
