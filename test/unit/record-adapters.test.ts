/**
 * The catalog CRMs' record adapters as pure clients: paging walks (property-tested against small
 * fake CRMs on 127.0.0.1 that page like the real ones), mapping into the engine's record shape,
 * rate-limit hints, error classification, and the API hosts a credential names being judged as
 * hostile input (trusted prefixes and the egress policy; 127.0.0.1, 169.254.169.254).
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { parseEgressAllowlist } from '../../libs/http/egress-allowlist';
import { createEgressPolicy } from '../../libs/http/egress-policy';
import { builtInProviders, type OAuth2Definition } from '../../libs/providers/catalog';
import { CrmError } from '../../libs/providers/errors';
import { refreshAccessToken } from '../../libs/providers/oauth-client';
import { createProcessEgress } from '../../libs/providers/provider-egress';
import { hasBuiltInImporter, type RecordsClient, recordsClientFor } from '../../libs/providers/records-client';
import { hubspotNextAfter, hubspotWaitSeconds, HubspotRecordsClient, mapHubspotObject } from '../../libs/providers/records/hubspot';
import { PipedriveRecordsClient, pipedriveNextStart, pipedriveWaitSeconds } from '../../libs/providers/records/pipedrive';
import { mapSalesforceRecord, readSalesforceFailure, salesforceLocator, salesforceQuery, SalesforceRecordsClient } from '../../libs/providers/records/salesforce';
import { ZOHO_PAGE_RECORD_LIMIT, zohoNextCursor, ZohoRecordsClient, zohoWaitSeconds } from '../../libs/providers/records/zoho';

/** What the fake CRM holds and how it answers next. */
const state = { n: 0, requests: [] as string[], answer: null as null | { status: number; headers?: Record<string, string>; body: unknown }, expiredLocators: false };

let server: http.Server;
let base: string;

function ids(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i + 1);
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    state.requests.push(`${url.pathname}?${url.searchParams.toString()}`);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (state.answer) return json(state.answer.status, state.answer.body, state.answer.headers);
    const q = url.searchParams;
    const p = url.pathname;
    if (p === '/hub/crm/v3/objects/contacts') {
      const after = Number(q.get('after') ?? 0);
      const limit = Number(q.get('limit'));
      const page = ids(after, Math.min(after + limit, state.n));
      const more = after + page.length < state.n;
      return json(200, {
        results: page.map((id) => ({ id: String(id), properties: { email: `c${id}@example.com`, lastmodifieddate: '2026-01-02T03:04:05.000Z' }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-02T03:04:05.000Z', archived: false })),
        ...(more ? { paging: { next: { after: String(page[page.length - 1]) } } } : {}),
      });
    }
    if (p === '/pd/api/v1/persons') {
      const start = Number(q.get('start'));
      const limit = Number(q.get('limit'));
      const page = ids(start, Math.min(start + limit, state.n));
      const more = start + page.length < state.n;
      return json(200, {
        success: true,
        data: page.length ? page.map((id) => ({ id, name: `P ${id}`, update_time: '2026-01-02 03:04:05' })) : null,
        additional_data: { pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + page.length } : {}) } },
      });
    }
    if (p === '/zo/crm/v2/Contacts') {
      const per = Number(q.get('per_page'));
      let offset: number;
      if (q.get('page_token')) offset = Number(q.get('page_token')!.slice(3));
      else {
        const page = Number(q.get('page'));
        if (page * per > ZOHO_PAGE_RECORD_LIMIT) return json(400, { code: 'DISCRETE_PAGINATION_LIMIT_EXCEEDED', details: {}, message: 'no', status: 'error' });
        offset = (page - 1) * per;
      }
      if (state.n === 0) return res.writeHead(204).end();
      const page = ids(offset, Math.min(offset + per, state.n));
      const more = offset + page.length < state.n;
      return json(200, { data: page.map((id) => ({ id: String(9e12 + id), Email: `z${id}@example.com`, Modified_Time: '2026-01-02T08:34:05+05:30' })), info: { more_records: more, next_page_token: more ? `tok${offset + page.length}` : null } });
    }
    const sf = /^\/sf\/services\/data\/v59\.0\/query(?:\/01gAAAAAAAAAAAAAAA-(\d+))?$/.exec(p);
    if (sf) {
      if (sf[1] && state.expiredLocators) return json(400, [{ message: 'invalid query locator', errorCode: 'INVALID_QUERY_LOCATOR' }]);
      const after = /WHERE Id > '003(\d{15})'/.exec(q.get('q') ?? '');
      const skip = after ? Number(after[1]) : 0;
      const offset = Number(sf[1] ?? 0) + skip;
      const batch = Number(/batchSize=(\d+)/.exec(String(req.headers['sforce-query-options']))?.[1] ?? 2000);
      const page = ids(offset, Math.min(offset + batch, state.n));
      const done = offset + page.length >= state.n;
      return json(200, {
        totalSize: state.n,
        done,
        ...(done ? {} : { nextRecordsUrl: `/services/data/v59.0/query/01gAAAAAAAAAAAAAAA-${offset - skip + page.length}` }),
        records: page.map((id) => ({ attributes: { type: 'Contact' }, Id: `003${String(id).padStart(15, '0')}`, Email: `s${id}@example.com`, LastModifiedDate: '2026-01-02T03:04:05.000+0000' })),
      });
    }
    json(404, { message: 'no' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  state.requests = [];
  state.answer = null;
  state.expiredLocators = false;
});

/** The fake CRM is on loopback: allow-listed for these tests, as EGRESS_ALLOWLIST would. */
const egress = () => createEgressPolicy({ allowlist: parseEgressAllowlist(new URL(base).host), httpsOnly: false });

async function walk(client: RecordsClient, entity = 'contacts'): Promise<{ ids: string[]; pages: number }> {
  const out: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await client.fetchPage(entity, cursor, {});
    pages++;
    out.push(...page.records.map((r) => r.externalId));
    cursor = page.nextCursor;
    // Cursors survive a JSON round trip (they are heartbeated and stored).
    cursor = cursor === null ? null : (JSON.parse(JSON.stringify(cursor)) as string);
  } while (cursor !== null && pages < 100);
  return { ids: out, pages };
}

async function walkFrom(client: RecordsClient, cursor: string | null): Promise<string[]> {
  const out: string[] = [];
  for (let n = 0; cursor !== null && n < 100; n++) {
    const page = await client.fetchPage('contacts', cursor, {});
    out.push(...page.records.map((r) => r.externalId));
    cursor = page.nextCursor;
  }
  return out;
}

describe('paging walks: every record once, in order, whatever the count', () => {
  const clients: Record<string, () => RecordsClient> = {
    hubspot: () => new HubspotRecordsClient(`${base}/hub`, 'tok', egress()),
    pipedrive: () => new PipedriveRecordsClient(`${base}/pd`, 'tok', egress()),
    zoho: () => new ZohoRecordsClient(`${base}/zo`, 'tok', egress()),
    salesforce: () => new SalesforceRecordsClient(`${base}/sf`, 'tok', egress()),
  };
  for (const [name, make] of Object.entries(clients)) {
    test(name, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: name === 'zoho' ? 2600 : 700 }), async (n) => {
          state.n = n;
          const { ids: got } = await walk(make());
          assert.equal(got.length, n);
          assert.equal(new Set(got).size, n, 'no duplicates');
          assert.deepEqual(got, [...got].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
        }),
        { numRuns: 15 },
      );
    });
  }

  test('Zoho: page within 2,000 records, page_token past them', async () => {
    state.n = 2300;
    const { pages } = await walk(clients.zoho());
    assert.equal(pages, 12);
    const q = state.requests.map((r) => new URLSearchParams(r.split('?')[1]));
    assert.deepEqual(q.slice(0, 10).map((p) => p.get('page')), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    assert.deepEqual(q.slice(10).map((p) => p.get('page_token')), ['tok2000', 'tok2200']);
    assert.ok(q.every((p) => p.get('fields')?.includes('Email')));
  });

  test('Salesforce: an expired query locator resumes after the last Id, nothing twice', async () => {
    state.n = 450;
    const client = clients.salesforce();
    const first = await client.fetchPage('contacts', null);
    state.expiredLocators = true;
    const rest = await walkFrom(client, first.nextCursor);
    const all = [...first.records.map((r) => r.externalId), ...rest];
    assert.equal(all.length, 450);
    assert.equal(new Set(all).size, 450);
    assert.ok(state.requests.some((r) => r.includes('WHERE+Id+%3E')), state.requests.join('\n'));
  });

  test('mapped into the engine\'s shape: the CRM id, its fields, an ISO modified time', async () => {
    state.n = 1;
    const [hub] = (await clients.hubspot().fetchPage('contacts', null)).records;
    assert.deepEqual(hub, { externalId: '1', data: { id: '1', email: 'c1@example.com', lastmodifieddate: '2026-01-02T03:04:05.000Z', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-02T03:04:05.000Z', archived: false }, updatedAt: '2026-01-02T03:04:05.000Z' });
    const [pd] = (await clients.pipedrive().fetchPage('contacts', null)).records;
    assert.equal(pd.updatedAt, '2026-01-02T03:04:05.000Z');
    const [zo] = (await clients.zoho().fetchPage('contacts', null)).records;
    assert.equal(zo.updatedAt, '2026-01-02T03:04:05.000Z', '+05:30 normalised to UTC');
    const [sf] = (await clients.salesforce().fetchPage('contacts', null)).records;
    assert.equal(sf.updatedAt, '2026-01-02T03:04:05.000Z');
    assert.equal((sf.data as { attributes?: unknown }).attributes, undefined);
  });
});

describe('what an answer may steer', () => {
  test('paging tokens and next URLs that are not what the CRM issues are refused', () => {
    assert.throws(() => hubspotNextAfter({ paging: { next: { after: '../../admin' } } }, 'contacts'), CrmError);
    assert.throws(() => salesforceLocator('https://169.254.169.254/services/data/v59.0/query/01gAAAAAAAAAAAAAAA-200', 'contacts'), CrmError);
    assert.throws(() => salesforceLocator('/services/data/v59.0/query/../../../x', 'contacts'), CrmError);
    assert.equal(salesforceLocator('/services/data/v59.0/query/01gD0000002HU6KIAW-2000', 'contacts'), '01gD0000002HU6KIAW-2000');
    assert.throws(() => pipedriveNextStart({ additional_data: { pagination: { more_items_in_collection: true, next_start: 0 } } }, 0, 'contacts'), CrmError, 'a next_start that does not advance');
    assert.throws(() => zohoNextCursor({ more_records: true }, 10, 200, 'contacts'), CrmError, 'past 2,000 without a page token');
    assert.throws(() => salesforceQuery('contacts', "x' OR Name != '"), CrmError, 'no SOQL from a cursor');
    assert.throws(() => mapHubspotObject({ id: { $gt: 1 } }, 'contacts'), CrmError);
    assert.throws(() => mapSalesforceRecord({ Name: 'no id' }, 'contacts'), CrmError);
  });

  test('a page that is not a list is a bad response, never a crash', async () => {
    state.answer = { status: 200, body: { results: 'nope' } };
    await assert.rejects(new HubspotRecordsClient(`${base}/hub`, 't', egress()).fetchPage('contacts', null), (e: CrmError) => e.kind === 'bad_response');
    state.answer = { status: 200, body: { success: false, data: [] } };
    await assert.rejects(new PipedriveRecordsClient(`${base}/pd`, 't', egress()).fetchPage('contacts', null), (e: CrmError) => e.kind === 'bad_response');
  });
});

describe('errors, classified per CRM', () => {
  const cases: Array<[string, () => RecordsClient, number, unknown, Record<string, string>, CrmError['kind'], number | undefined]> = [
    ['HubSpot 401', () => new HubspotRecordsClient(`${base}/hub`, 't', egress()), 401, { status: 'error', category: 'EXPIRED_AUTHENTICATION' }, {}, 'invalid_credentials', undefined],
    ['HubSpot 403 MISSING_SCOPES', () => new HubspotRecordsClient(`${base}/hub`, 't', egress()), 403, { status: 'error', category: 'MISSING_SCOPES' }, {}, 'invalid_credentials', undefined],
    ['HubSpot 429 interval headers', () => new HubspotRecordsClient(`${base}/hub`, 't', egress()), 429, { errorType: 'RATE_LIMIT' }, { 'x-hubspot-ratelimit-remaining': '0', 'x-hubspot-ratelimit-interval-milliseconds': '10000' }, 'transient', 10],
    ['HubSpot 400', () => new HubspotRecordsClient(`${base}/hub`, 't', egress()), 400, { category: 'VALIDATION_ERROR' }, {}, 'bad_response', undefined],
    ['Salesforce INVALID_SESSION_ID', () => new SalesforceRecordsClient(`${base}/sf`, 't', egress()), 401, [{ errorCode: 'INVALID_SESSION_ID' }], {}, 'invalid_credentials', undefined],
    ['Salesforce REQUEST_LIMIT_EXCEEDED', () => new SalesforceRecordsClient(`${base}/sf`, 't', egress()), 403, [{ errorCode: 'REQUEST_LIMIT_EXCEEDED' }], { 'retry-after': '7' }, 'transient', 7],
    ['Salesforce MALFORMED_QUERY', () => new SalesforceRecordsClient(`${base}/sf`, 't', egress()), 400, [{ errorCode: 'MALFORMED_QUERY' }], {}, 'bad_response', undefined],
    ['Salesforce 503', () => new SalesforceRecordsClient(`${base}/sf`, 't', egress()), 503, [{ errorCode: 'SERVER_UNAVAILABLE' }], { 'retry-after': '2' }, 'transient', 2],
    ['Pipedrive 401', () => new PipedriveRecordsClient(`${base}/pd`, 't', egress()), 401, { success: false, errorCode: 401 }, {}, 'invalid_credentials', undefined],
    ['Pipedrive 429 x-ratelimit-reset', () => new PipedriveRecordsClient(`${base}/pd`, 't', egress()), 429, { success: false }, { 'x-ratelimit-reset': '4' }, 'transient', 4],
    ['Pipedrive 404', () => new PipedriveRecordsClient(`${base}/pd`, 't', egress()), 404, { success: false }, {}, 'bad_response', undefined],
    ['Zoho INVALID_TOKEN', () => new ZohoRecordsClient(`${base}/zo`, 't', egress()), 401, { code: 'INVALID_TOKEN', status: 'error' }, {}, 'invalid_credentials', undefined],
    ['Zoho 429', () => new ZohoRecordsClient(`${base}/zo`, 't', egress()), 429, { code: 'TOO_MANY_REQUESTS' }, { 'retry-after': '5' }, 'transient', 5],
    ['Zoho 500', () => new ZohoRecordsClient(`${base}/zo`, 't', egress()), 500, { code: 'INTERNAL_ERROR' }, {}, 'transient', undefined],
  ];
  test.each(cases)('%s', async (_name, make, status, body, headers, kind, wait) => {
    state.answer = { status, body, headers };
    const err = await make().fetchPage('contacts', null).then(() => null, (e: unknown) => e as CrmError);
    assert.ok(err instanceof CrmError, String(err));
    assert.equal(err.kind, kind);
    assert.equal(err.retryAfterSeconds, wait);
    assert.doesNotMatch(err.message, /127\.0\.0\.1/, 'no URL in the message');
  });

  test('rate-limit hints', () => {
    const now = 1_800_000_000_000;
    assert.equal(zohoWaitSeconds(new Headers({ 'x-ratelimit-reset': String(now + 2500) }), now), 3);
    assert.equal(zohoWaitSeconds(new Headers({ 'x-ratelimit-reset': '6' }), now), 6);
    assert.equal(pipedriveWaitSeconds(new Headers({ 'retry-after': '9', 'x-ratelimit-reset': '2' })), 9);
    assert.equal(hubspotWaitSeconds(new Headers({ 'x-hubspot-ratelimit-secondly-remaining': '0' })), 1);
    assert.equal(hubspotWaitSeconds(new Headers({ 'x-hubspot-ratelimit-remaining': '5' })), undefined);
    assert.equal(hubspotWaitSeconds(new Headers({ 'retry-after': '999999' })), 3600, 'capped');
    assert.equal(readSalesforceFailure({ status: 403, headers: new Headers(), body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED' }] }).waitSeconds, 300);
    fc.assert(fc.property(fc.string(), (v) => {
      const w = zohoWaitSeconds(new Headers({ 'x-ratelimit-reset': v.replace(/[^\x20-\x7e]/g, '') }));
      return w === undefined || (w >= 0 && w <= 3600);
    }));
  });
});

describe('the API host a credential names is hostile input', () => {
  const production = builtInProviders({ sandboxCrmUrl: 'http://127.0.0.1:4010', crmMode: 'production' });
  const sandboxMode = builtInProviders({ sandboxCrmUrl: 'http://127.0.0.1:4010', crmMode: 'sandbox' });
  const prodEgress = createProcessEgress({ egressAllowlist: [], crmMode: 'production', sandboxCrmUrl: 'http://127.0.0.1:4010' });
  const sbxEgress = createProcessEgress({ egressAllowlist: [], crmMode: 'sandbox', sandboxCrmUrl: 'http://127.0.0.1:4010' });
  const provider = (list: typeof production, key: string) => list.find((p) => p.key === key)!;
  const refused = (e: unknown) => e instanceof CrmError && e.kind === 'url_not_allowed';

  test('every catalog CRM has an importer in both modes; custom providers do not', () => {
    for (const key of ['hubspot', 'salesforce', 'pipedrive', 'zoho']) {
      assert.ok(hasBuiltInImporter(provider(production, key), { sandboxCrmUrl: 'x', crmMode: 'production' }), key);
      assert.ok(hasBuiltInImporter(provider(sandboxMode, key), { sandboxCrmUrl: 'x', crmMode: 'sandbox' }), key);
    }
    assert.equal(hasBuiltInImporter({ ...provider(production, 'hubspot'), custom: true }, { sandboxCrmUrl: 'x', crmMode: 'sandbox' }), false);
  });

  test.each(['https://169.254.169.254', 'https://127.0.0.1', 'https://[::1]', 'https://10.0.0.7/services', 'https://2130706433'])('production: instance_url %s is refused before anything is sent', async (url) => {
    for (const key of ['salesforce', 'pipedrive']) {
      const p = provider(production, key);
      let client: RecordsClient | null;
      try {
        client = recordsClientFor(p, { sandboxCrmUrl: 'x', crmMode: 'production' }, { bearer: 't', apiBaseUrl: url }, prodEgress.forProvider(p));
      } catch (e) {
        assert.ok(refused(e), String(e));
        continue;
      }
      await assert.rejects(client!.fetchPage('contacts', null), refused);
    }
  });

  test('production: plain http, credentials in the URL, or a query are not trusted API hosts', () => {
    const p = provider(production, 'salesforce');
    for (const url of ['http://na1.salesforce.com', 'https://user:pw@na1.salesforce.com', 'https://na1.salesforce.com/?x=1', 'javascript:alert(1)']) {
      assert.throws(() => recordsClientFor(p, { sandboxCrmUrl: 'x', crmMode: 'production' }, { bearer: 't', apiBaseUrl: url }, prodEgress.forProvider(p)), refused, url);
    }
  });

  test('sandbox mode: only the sandbox\'s own prefix; another loopback port or the metadata service is refused', () => {
    const sf = provider(sandboxMode, 'salesforce');
    for (const url of ['http://127.0.0.1:4011/salesforce', 'http://169.254.169.254/salesforce', 'http://127.0.0.1:4010/pipedrive', 'http://127.0.0.1:4010/salesforce/../admin']) {
      assert.throws(() => recordsClientFor(sf, { sandboxCrmUrl: 'x', crmMode: 'sandbox' }, { bearer: 't', apiBaseUrl: url }, sbxEgress.forProvider(sf)), refused, url);
    }
    const zoho = provider(sandboxMode, 'zoho');
    assert.throws(
      () => recordsClientFor(zoho, { sandboxCrmUrl: 'x', crmMode: 'sandbox' }, { bearer: 't', apiBaseUrl: 'http://127.0.0.1:4010/zoho/us/api', region: 'eu' }, sbxEgress.forProvider(zoho)),
      refused,
      'another data center than the credential\'s',
    );
    assert.ok(recordsClientFor(sf, { sandboxCrmUrl: 'x', crmMode: 'sandbox' }, { bearer: 't', apiBaseUrl: 'http://127.0.0.1:4010/salesforce' }, sbxEgress.forProvider(sf)));
  });

  test('a token response naming 127.0.0.1 or 169.254.169.254 as instance_url is refused before it is stored', async () => {
    const policy = createEgressPolicy({ allowlist: parseEgressAllowlist(new URL(base).host), httpsOnly: false });
    const def: OAuth2Definition = {
      authorizationUrl: `${base}/authorize`,
      tokenUrl: `${base}/token`,
      scopeSeparator: ' ',
      pkce: true,
      clientAuth: 'client_secret_post',
      defaultScopes: [],
      identity: 'salesforce_userinfo',
      trustedApiPrefixes: ['http://', 'https://'],
      tokenHeaderPrefix: 'Bearer ',
    };
    for (const instance of ['http://169.254.169.254', 'http://127.0.0.1:1', 'https://169.254.169.254/services', 'http://[::ffff:127.0.0.1]:9']) {
      state.answer = { status: 200, body: { access_token: 'a', token_type: 'Bearer', refresh_token: 'r', instance_url: instance } };
      await assert.rejects(refreshAccessToken(policy, def, { clientId: 'c', clientSecret: 's' }, 'r', null), refused, instance);
    }
  });
});
