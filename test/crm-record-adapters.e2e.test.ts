/**
 * The record adapters of the four catalog CRMs, end to end: an OAuth integration of each shape
 * (HubSpot, Salesforce, Pipedrive, Zoho) is re-synced against the sandbox CRM serving those CRMs'
 * real record paths, paging, rate-limit headers and error bodies. Every record arrives, over several
 * pages (Zoho past its 2,000-record `page` window, on `page_token`); a second run duplicates
 * nothing; a worker killed mid-import resumes from its cursor; a rate limit is waited out for at
 * least as long as the CRM asked; and the sandbox's request log shows the real paths were used
 * (none of the sandbox's own `/api/v1`).
 */
import assert from 'node:assert/strict';
import { api, sandboxFault, startSystem, waitFor, type TestSystem } from './support/system';
import { configureOAuthApp, connectedOAuthIntegration, type Shape } from './support/oauth';
import {
  byEntity,
  clearRecordApiFaults,
  clearSandboxFaults,
  crmAccountWithRecords,
  recordApiFault,
  recordCounts,
  resetSandboxStats,
  runResync,
  sandboxRequestLog,
  waitResync,
} from './support/resync';
import { diagnostic } from './support/diagnostic';

interface ShapeCase {
  /** Records seeded per entity type, and the contact pages they make. */
  counts: { contacts: number; companies: number; deals: number };
  contactPages: number;
  region?: string;
  /** Every record request of the shape starts with this; contact requests with `contactsPrefix`. */
  apiPrefix: string;
  contactsPrefix: string;
  /** What the CRM answers when its rate limit is reached. */
  rateLimitStatus: number;
  /** A paging parameter only the 2nd and later pages carry. */
  pagingMark: RegExp;
  /** The contact's e-mail address in the CRM's own record shape. */
  email(data: Record<string, any>): unknown;
}

const CASES: Record<Shape, ShapeCase> = {
  hubspot: {
    counts: { contacts: 450, companies: 120, deals: 30 },
    contactPages: 5, // limit 100
    apiPrefix: '/hubspot/crm/v3/',
    contactsPrefix: '/hubspot/crm/v3/objects/contacts',
    rateLimitStatus: 429,
    pagingMark: /(^|&)after=\d+/,
    email: (d) => d.email,
  },
  salesforce: {
    counts: { contacts: 450, companies: 120, deals: 30 },
    contactPages: 3, // batchSize 200
    apiPrefix: '/salesforce/services/data/',
    contactsPrefix: '/salesforce/services/data/',
    rateLimitStatus: 403, // REQUEST_LIMIT_EXCEEDED
    pagingMark: /./, // the locator is in the path; checked separately
    email: (d) => d.Email,
  },
  pipedrive: {
    counts: { contacts: 450, companies: 120, deals: 30 },
    contactPages: 3, // limit 200
    apiPrefix: '/pipedrive/api/v1/',
    contactsPrefix: '/pipedrive/api/v1/persons',
    rateLimitStatus: 429,
    pagingMark: /(^|&)start=[1-9]\d*/,
    email: (d) => d.email?.[0]?.value,
  },
  zoho: {
    // Past 2,000 records Zoho only pages on with page_token.
    counts: { contacts: 2300, companies: 120, deals: 30 },
    contactPages: 12, // per_page 200
    region: 'eu',
    apiPrefix: '/zoho/eu/api/crm/v2/',
    contactsPrefix: '/zoho/eu/api/crm/v2/Contacts',
    rateLimitStatus: 429,
    pagingMark: /(^|&)page=[2-9]/,
    email: (d) => d.Email,
  },
};

const ALL = ['contacts', 'companies', 'deals', 'users'];

describe('record adapters of the catalog CRMs, against the sandbox serving their real APIs', () => {
  let sys: TestSystem;

  beforeAll(async () => {
    sys = await startSystem();
    for (const shape of Object.keys(CASES) as Shape[]) await configureOAuthApp(sys, shape);
  });
  afterAll(async () => {
    await sys?.stop();
  });
  afterEach(async () => {
    await clearSandboxFaults(sys);
    await clearRecordApiFaults(sys);
  });

  async function integrationWith(shape: Shape, name: string, counts: Partial<ShapeCase['counts']>) {
    const acct = await crmAccountWithRecords(sys, `${name} ${shape}`, counts, CASES[shape].region);
    const integration = await connectedOAuthIntegration(sys, shape, acct.userId);
    return { ...acct, integrationId: integration.id as string };
  }

  describe.each(Object.keys(CASES) as Shape[])('%s', (shape) => {
    const c = CASES[shape];
    let integrationId: string;

    test('imports every record over several pages through the CRM\'s own API', async () => {
      ({ integrationId } = await integrationWith(shape, 'Paged', c.counts));
      await resetSandboxStats(sys);
      const t0 = Date.now();
      const { done } = await runResync(sys, integrationId, { all: true });
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const e = byEntity(done.entities as Array<{ entity: string; mode: string; imported: number; updated: number; pages: number }>);
      assert.deepEqual(Object.keys(e), ALL);
      for (const name of ALL) assert.equal(e[name].mode, 'builtin', name);
      assert.equal(e.contacts.imported, c.counts.contacts);
      assert.equal(e.companies.imported, c.counts.companies);
      assert.equal(e.deals.imported, c.counts.deals);
      assert.equal(e.users.imported, 1);
      assert.equal(e.contacts.pages, c.contactPages);
      assert.deepEqual(await recordCounts(sys, integrationId), { ...c.counts, users: 1 });
      diagnostic(`${shape}: ${c.counts.contacts + c.counts.companies + c.counts.deals + 1} records in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

      // Mapped into the engine's shape: the CRM's id, its fields, its last-modified time.
      const row = (await sys.pg.query(`SELECT external_id, data, external_updated_at FROM crm_records WHERE integration_id = $1 AND entity = 'contacts' ORDER BY external_id LIMIT 1`, [integrationId])).rows[0];
      assert.match(String(c.email(row.data)), /@example\.com$/);
      assert.ok(row.external_updated_at, 'the CRM\'s modified time is kept');
      assert.equal(row.data.attributes, undefined);

      // The request log: the CRM's own paths and paging, never the sandbox's generic API.
      const log = await sandboxRequestLog(sys);
      assert.equal(log.filter((r) => r.path.startsWith('/api/v1/')).length, 0, 'nothing through /api/v1');
      const contacts = log.filter((r) => r.path.startsWith(c.contactsPrefix) && (shape !== 'salesforce' || !/FROM\+(Account|Opportunity|User)/.test(r.query)));
      assert.ok(contacts.every((r) => r.status === 200), JSON.stringify(contacts.slice(0, 3)));
      switch (shape) {
        case 'hubspot':
          assert.equal(contacts.length, 5);
          assert.ok(contacts.every((r) => /limit=100/.test(r.query) && /properties=/.test(r.query)));
          assert.ok(log.some((r) => r.path === '/hubspot/crm/v3/objects/companies') && log.some((r) => r.path === '/hubspot/crm/v3/objects/deals') && log.some((r) => r.path === '/hubspot/crm/v3/owners'));
          break;
        case 'salesforce': {
          const first = log.find((r) => r.path === '/salesforce/services/data/v59.0/query' && /FROM\+Contact/.test(r.query));
          assert.ok(first, 'SOQL query on Contact');
          assert.ok(log.some((r) => /FROM\+Account/.test(r.query)) && log.some((r) => /FROM\+Opportunity/.test(r.query)) && log.some((r) => /FROM\+User/.test(r.query)));
          assert.ok(log.filter((r) => /^\/salesforce\/services\/data\/v59\.0\/query\/01g[A-Za-z0-9]{15}-\d+$/.test(r.path)).length >= 2, 'nextRecordsUrl followed');
          break;
        }
        case 'pipedrive':
          assert.equal(contacts.length, 3);
          assert.deepEqual(contacts.map((r) => new URLSearchParams(r.query).get('start')), ['0', '200', '400']);
          assert.ok(log.some((r) => r.path === '/pipedrive/api/v1/organizations') && log.some((r) => r.path === '/pipedrive/api/v1/deals') && log.some((r) => r.path === '/pipedrive/api/v1/users'));
          break;
        case 'zoho': {
          assert.equal(contacts.length, 12);
          const params = contacts.map((r) => new URLSearchParams(r.query));
          assert.deepEqual(params.slice(0, 10).map((p) => p.get('page')), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
          assert.ok(params.slice(10).every((p) => p.get('page_token') && !p.get('page')), 'past 2,000 records: page_token');
          assert.ok(log.some((r) => r.path === '/zoho/eu/api/crm/v2/Accounts') && log.some((r) => r.path === '/zoho/eu/api/crm/v2/Deals') && log.some((r) => r.path === '/zoho/eu/api/crm/v2/users'));
          assert.equal(log.filter((r) => r.path.startsWith('/zoho/us/')).length, 0, 'the data center\'s API domain only');
          break;
        }
      }
    });

    test('a second run duplicates nothing', async () => {
      assert.ok(integrationId, 'needs the previous test');
      const { done } = await runResync(sys, integrationId, { all: true });
      assert.equal(done.status, 'completed');
      for (const e of done.entities as Array<{ entity: string; imported: number; updated: number }>) {
        assert.deepEqual({ entity: e.entity, imported: e.imported, updated: e.updated }, { entity: e.entity, imported: 0, updated: 0 });
      }
      assert.deepEqual(await recordCounts(sys, integrationId), { ...c.counts, users: 1 });
    });

    test('a worker killed mid-import: resumed from the cursor, every record once', async () => {
      const n = shape === 'hubspot' ? 600 : 1000;
      const pages = shape === 'hubspot' ? 6 : 5;
      const { integrationId: id } = await integrationWith(shape, 'Crashy', { contacts: n, companies: 0, deals: 0 });
      await resetSandboxStats(sys);
      await sandboxFault(sys, { pathPrefix: c.contactsPrefix, delayMs: 500, count: 1000 });
      const started = await api(sys, 'POST', `/v1/integrations/${id}/resyncs`, { key: sys.keyA, body: { entities: ['contacts'] } });
      assert.equal(started.status, 202, started.text);
      await waitFor('two committed pages', async () => {
        const r = await sys.pg.query(`SELECT pages FROM resync_entities WHERE resync_id = $1 AND entity = 'contacts'`, [started.body.id]);
        return r.rows[0]?.pages >= 2;
      }, 60_000);
      await new Promise((r) => setTimeout(r, 200)); // the next page is in flight
      await sys.killWorker();
      await sys.startWorker();
      const done = await waitResync(sys, started.body.id, 120_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.entities[0].imported, n, 'every record counted once');
      assert.equal(done.entities[0].pages, pages);
      assert.deepEqual(await recordCounts(sys, id), { contacts: n });
      const fetched = (await sandboxRequestLog(sys, c.contactsPrefix)).length;
      diagnostic(`${shape}: crash mid-import → ${fetched} contact page requests for ${pages} pages`);
      assert.ok(fetched - pages <= 2, `re-fetched ${fetched - pages} pages`);
    });

    test('a rate limit is waited out as long as the CRM asks, then the import completes', async () => {
      const { integrationId: id } = await integrationWith(shape, 'Throttled', { contacts: 450, companies: 0, deals: 0 });
      await resetSandboxStats(sys);
      const hint = 3;
      await recordApiFault(sys, { shape, kind: 'rate_limit', entity: 'contacts', afterRequests: 1, count: 1, retryAfterSeconds: hint });
      const { done } = await runResync(sys, id, { entities: ['contacts'] });
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.entities[0].imported, 450);
      assert.deepEqual(await recordCounts(sys, id), { contacts: 450 });
      const log = await sandboxRequestLog(sys, c.contactsPrefix);
      const limited = log.findIndex((r) => r.status === c.rateLimitStatus);
      assert.ok(limited > 0, `a ${c.rateLimitStatus} in ${JSON.stringify(log.map((r) => r.status))}`);
      const next = log[limited + 1];
      assert.ok(next, 'the page was asked for again');
      const waitedMs = Date.parse(next.at) - Date.parse(log[limited].at);
      diagnostic(`${shape}: ${c.rateLimitStatus} asking for ${hint} s → next request after ${waitedMs} ms`);
      assert.ok(waitedMs >= hint * 1000, `waited ${waitedMs} ms, the CRM asked for ${hint} s`);
      assert.equal(next.query, log[limited].query, 'the same page again');
    });
  });

  test('Salesforce INVALID_SESSION_ID: refreshed once, then the page is retried', async () => {
    const { integrationId: id } = await integrationWith('salesforce', 'Session', { contacts: 250, companies: 0, deals: 0 });
    const before = (await api(sys, 'GET', `/v1/integrations/${id}`, { key: sys.keyA })).body.credentials.version;
    await resetSandboxStats(sys);
    await recordApiFault(sys, { shape: 'salesforce', kind: 'unauthorized', entity: 'contacts', afterRequests: 1, count: 1 });
    const { done } = await runResync(sys, id, { entities: ['contacts'] });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.entities[0].imported, 250);
    const after = (await api(sys, 'GET', `/v1/integrations/${id}`, { key: sys.keyA })).body.credentials.version;
    assert.ok(after > before, `refreshed: version ${before} → ${after}`);
    const log = await sandboxRequestLog(sys, '/salesforce/services/');
    const refused = log.findIndex((r) => r.status === 401);
    const token = log.findIndex((r, i) => i > refused && r.path === '/salesforce/services/oauth2/token');
    assert.ok(refused > 0 && token > refused, 'a refresh after the refused page');
    assert.equal(log[log.length - 1].status, 200);

    // Refused again after the refresh: the integration needs a re-authorization; one refresh only.
    await resetSandboxStats(sys);
    await recordApiFault(sys, { shape: 'salesforce', kind: 'unauthorized', entity: 'contacts', count: 20 });
    const { done: failed } = await runResync(sys, id, { entities: ['contacts'] });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.entities[0].error.code, 'invalid_credentials');
    const refreshes = (await sandboxRequestLog(sys, '/salesforce/services/oauth2/token')).length;
    assert.equal(refreshes, 1, 'refreshed once, not in a loop');
  });
});
