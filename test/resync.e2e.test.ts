/**
 * Opt-in full entity re-sync end to end: real Temporal dev server, Postgres, sandbox CRM over HTTP,
 * worker and API processes. Covers the opt-in after a re-authorization, a ≥ 5,000-record import,
 * duplicate-free re-runs, crash recovery from the heartbeated/committed cursor, delegated entities
 * completed by signal, long-polling, partial failures and their retry, one re-sync at a time.
 */
import assert from 'node:assert/strict';
import { api, sandboxAccount, sandboxFault, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';
import {
  byEntity,
  clearSandboxFaults,
  patchSandboxRecord,
  recordCounts,
  resetSandboxStats,
  sandboxAccountWithRecords,
  sandboxIntegration,
  sandboxStats,
  waitResync,
} from './support/resync';
import { diagnostic } from './support/diagnostic';

const ALL = ['contacts', 'companies', 'deals', 'users'];

describe('full entity re-sync', () => {
  let sys: TestSystem;
  /** The big account of the opt-in test, reused by later tests. */
  const big: { accountId?: string; integrationId?: string; resyncId?: string } = {};

  beforeAll(async () => {
    // The custom provider of the delegated test uses the sandbox CRM as its CRM.
    sys = await startSystem({ sandboxForCustomProviders: true });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  /** Re-authorizes an API-token integration with a fresh token of the same account. */
  async function reauthorize(integrationId: string, accountId: string, body: Record<string, unknown>) {
    const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body });
    assert.equal(started.status, 201, started.text);
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, {
      key: sys.keyA,
      body: { apiToken: await sandboxToken(sys, accountId) },
    });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    // The reauthorization workflow closes after its follow-ups (the opt-in re-sync start among them).
    await sys.client.workflow.getHandle(`reauth:${integrationId}`).result();
    return (await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA })).body;
  }

  test('without the opt-in, a re-authorization starts no re-sync and writes no record', async () => {
    const acct = await sandboxAccount(sys, 'No Resync Inc');
    const integration = await sandboxIntegration(sys, acct.token);
    const reauth = await reauthorize(integration.id, acct.accountId, {});
    assert.equal(reauth.fullResync, false);
    assert.equal(reauth.resyncId, null);
    const resyncs = await sys.pg.query('SELECT count(*)::int AS n FROM resyncs WHERE integration_id = $1', [integration.id]);
    assert.equal(resyncs.rows[0].n, 0);
    assert.deepEqual(await recordCounts(sys, integration.id), {});
    const listed = await api(sys, 'GET', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data, []);
  });

  test('with fullResync:true, every entity type imports from a 5,001-record account', async () => {
    const acct = await sandboxAccountWithRecords(sys, { contacts: 2000, companies: 1500, deals: 1500 });
    const integration = await sandboxIntegration(sys, acct.token);
    big.accountId = acct.accountId;
    big.integrationId = integration.id;

    const reauth = await reauthorize(integration.id, acct.accountId, { fullResync: true });
    assert.equal(reauth.fullResync, true);
    assert.ok(reauth.resyncId, 'the reauthorization records the re-sync it started');
    big.resyncId = reauth.resyncId;

    const done = await waitResync(sys, reauth.resyncId);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.trigger, 'reauthorization');
    assert.equal(done.reauthorizationId, reauth.id);
    assert.equal(done.integrationId, integration.id);
    const e = byEntity(done.entities as Array<{ entity: string; mode: string; status: string; imported: number; updated: number; pages: number; error: unknown; startedAt: string; completedAt: string }>);
    assert.deepEqual(Object.keys(e), ALL);
    for (const name of ALL) {
      assert.equal(e[name].mode, 'builtin');
      assert.equal(e[name].status, 'completed');
      assert.equal(e[name].updated, 0);
      assert.equal(e[name].error, null);
    }
    assert.equal(e.contacts.imported, 2000);
    assert.equal(e.companies.imported, 1500);
    assert.equal(e.deals.imported, 1500);
    assert.equal(e.users.imported, 1);
    assert.equal(e.contacts.pages, 10); // 200 per page
    assert.deepEqual(await recordCounts(sys, integration.id), { contacts: 2000, companies: 1500, deals: 1500, users: 1 });

    const total = 5001;
    const started = Math.min(...ALL.map((n) => Date.parse(e[n].startedAt)));
    const finished = Math.max(...ALL.map((n) => Date.parse(e[n].completedAt)));
    const importSeconds = (finished - started) / 1000;
    const wallSeconds = (Date.parse(done.completedAt) - Date.parse(done.createdAt)) / 1000;
    diagnostic(`import: ${total} records in ${importSeconds.toFixed(2)} s = ${Math.round(total / importSeconds)} records/s (4 entity types in parallel)`);
    diagnostic(`whole re-sync (rows, children, bookkeeping): ${wallSeconds.toFixed(2)} s = ${Math.round(total / wallSeconds)} records/s`);

    // Temporal: the parent is `resync:<integrationId>`, one child per entity; findable by IntegrationId.
    const wf = sys.client.workflow.getHandle(`resync:${integration.id}`);
    const result = await wf.result();
    assert.equal(result.status, 'completed');
    const ids: string[] = [];
    for await (const w of sys.client.workflow.list({ query: `IntegrationId = '${integration.id}'` })) ids.push(w.workflowId);
    for (const name of ALL) assert.ok(ids.includes(`resync:${reauth.resyncId}:${name}`), `child ${name} listed: ${ids.join(', ')}`);
  });

  test('running it again: same row count, changed fields applied in place, local ids kept', async () => {
    assert.ok(big.integrationId && big.accountId, 'needs the previous test');
    const before = await sys.pg.query(
      `SELECT id, data, updated_at FROM crm_records WHERE integration_id = $1 AND entity = 'contacts' AND external_id = 'ct_00000007'`,
      [big.integrationId],
    );
    assert.equal(before.rows.length, 1);
    await patchSandboxRecord(sys, big.accountId, 'contacts', 'ct_00000007', { name: 'Renamed Person', title: 'CTO' });
    await patchSandboxRecord(sys, big.accountId, 'deals', 'dl_00001234', { stage: 'closed_won', amount: 4242 });

    const t0 = Date.now();
    const again = await api(sys, 'POST', `/v1/integrations/${big.integrationId}/resyncs`, { key: sys.keyA, body: { all: true } });
    assert.equal(again.status, 202, again.text);
    assert.notEqual(again.body.id, big.resyncId);
    assert.equal(again.body.trigger, 'api');
    assert.deepEqual(again.body.entities.map((x: { entity: string }) => x.entity), ALL);
    const done = await waitResync(sys, again.body.id);
    diagnostic(`second run (5,001 records, 2 changed): ${((Date.now() - t0) / 1000).toFixed(2)} s end to end`);
    assert.equal(done.status, 'completed');
    const e = byEntity(done.entities as Array<{ entity: string; imported: number; updated: number }>);
    assert.deepEqual({ imported: e.contacts.imported, updated: e.contacts.updated }, { imported: 0, updated: 1 });
    assert.deepEqual({ imported: e.deals.imported, updated: e.deals.updated }, { imported: 0, updated: 1 });
    assert.deepEqual({ imported: e.companies.imported, updated: e.companies.updated }, { imported: 0, updated: 0 });
    assert.deepEqual(await recordCounts(sys, big.integrationId), { contacts: 2000, companies: 1500, deals: 1500, users: 1 });

    const afterRow = await sys.pg.query(
      `SELECT id, data, updated_at FROM crm_records WHERE integration_id = $1 AND entity = 'contacts' AND external_id = 'ct_00000007'`,
      [big.integrationId],
    );
    assert.equal(afterRow.rows[0].id, before.rows[0].id, 'local id kept');
    assert.equal(afterRow.rows[0].data.name, 'Renamed Person');
    assert.equal(afterRow.rows[0].data.title, 'CTO');
    assert.ok(afterRow.rows[0].updated_at > before.rows[0].updated_at);
    const deal = await sys.pg.query(`SELECT data FROM crm_records WHERE integration_id = $1 AND entity = 'deals' AND external_id = 'dl_00001234'`, [big.integrationId]);
    assert.equal(deal.rows[0].data.stage, 'closed_won');
    assert.equal(deal.rows[0].data.amount, 4242);

    const listed = await api(sys, 'GET', `/v1/integrations/${big.integrationId}/resyncs`, { key: sys.keyA });
    assert.deepEqual(listed.body.data.map((r: { id: string }) => r.id), [again.body.id, big.resyncId]);
  });

  test('at most one re-sync per integration: concurrent requests share the running one', async () => {
    assert.ok(big.integrationId);
    await sandboxFault(sys, { pathPrefix: '/api/v1/companies', delayMs: 250, count: 20 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 4 }, () => api(sys, 'POST', `/v1/integrations/${big.integrationId}/resyncs`, { key: sys.keyA, body: { all: true } })),
      );
      const ids = new Set(responses.map((r) => r.body.id));
      assert.equal(ids.size, 1, `one re-sync, got ${[...ids].join(', ')}`);
      assert.deepEqual(responses.map((r) => r.status).sort(), [200, 200, 200, 202]);
      // A later request while it still runs returns it too, even asking for something else.
      const later = await api(sys, 'POST', `/v1/integrations/${big.integrationId}/resyncs`, { key: sys.keyA, body: { entities: ['deals'] } });
      assert.equal(later.status, 200, later.text);
      assert.equal(later.body.id, responses[0].body.id);
      assert.equal(later.body.status, 'running');
      const running = await sys.pg.query(`SELECT count(*)::int AS n FROM resyncs WHERE integration_id = $1 AND status = 'running'`, [big.integrationId]);
      assert.equal(running.rows[0].n, 1);
      // Operators see where it stands with the parent's `progress` query (Temporal UI → Queries).
      const progress = await sys.client.workflow.getHandle(`resync:${big.integrationId}`).query<{ resyncId: string; status: string; entities: Array<{ entity: string; status: string }> }>('progress');
      assert.equal(progress.resyncId, later.body.id);
      assert.equal(progress.status, 'running');
      assert.deepEqual(progress.entities.map((x) => x.entity), ALL);
      assert.equal((await waitResync(sys, later.body.id)).status, 'completed');
    } finally {
      await clearSandboxFaults(sys);
    }
    assert.deepEqual(await recordCounts(sys, big.integrationId), { contacts: 2000, companies: 1500, deals: 1500, users: 1 });
  });

  test('worker killed mid-page: the import resumes from its cursor instead of starting over', async () => {
    const acct = await sandboxAccountWithRecords(sys, { contacts: 2000, companies: 0, deals: 0 }, 'Crashy Corp');
    const integration = await sandboxIntegration(sys, acct.token);
    await resetSandboxStats(sys);
    // Slow pages, so the kill lands in the middle of the import (and of a page request).
    await sandboxFault(sys, { pathPrefix: '/api/v1/contacts', delayMs: 400, count: 1000 });
    try {
      const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: {} });
      assert.equal(started.status, 202, started.text);
      const pagesAtKill = await waitFor(
        'three committed contact pages',
        async () => {
          const r = await sys.pg.query(`SELECT pages FROM resync_entities WHERE resync_id = $1 AND entity = 'contacts'`, [started.body.id]);
          return r.rows[0]?.pages >= 3 ? (r.rows[0].pages as number) : undefined;
        },
        30_000,
      );
      await new Promise((r) => setTimeout(r, 150)); // the next page request is now in flight
      await sys.killWorker();
      const killedAt = Date.now();
      await sys.startWorker();
      const done = await waitResync(sys, started.body.id, 90_000);
      const recoverSeconds = (Date.now() - killedAt) / 1000;
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const contacts = byEntity(done.entities as Array<{ entity: string; imported: number; updated: number; pages: number }>).contacts;
      assert.equal(contacts.imported, 2000, 'every record counted once');
      assert.equal(contacts.pages, 10);
      assert.deepEqual(await recordCounts(sys, integration.id), { contacts: 2000, users: 1 });

      const fetched = (await sandboxStats(sys))['GET /api/v1/contacts'] ?? 0;
      const refetched = fetched - contacts.pages;
      diagnostic(`crash after ${pagesAtKill} of 10 pages: ${fetched} page requests for 10 pages → ${refetched} page(s) re-fetched after the crash; finished ${recoverSeconds.toFixed(1)} s after the kill (heartbeat timeout 10 s)`);
      assert.ok(refetched >= 0 && refetched <= 2, `re-fetched ${refetched} pages (fetched ${fetched} for 10)`);
    } finally {
      await clearSandboxFaults(sys);
    }
  });

  test('a page slower than the heartbeat timeout is not mistaken for a dead worker', async () => {
    const acct = await sandboxAccount(sys, 'Slow Deals Inc');
    const integration = await sandboxIntegration(sys, acct.token);
    await resetSandboxStats(sys);
    await sandboxFault(sys, { pathPrefix: '/api/v1/deals', delayMs: 12_000, count: 1 });
    try {
      const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: { entities: ['deals'] } });
      assert.equal(started.status, 202, started.text);
      const done = await waitResync(sys, started.body.id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.entities[0].imported, 5);
      // One request, one activity attempt: the importer heartbeated while it waited on the CRM.
      assert.equal((await sandboxStats(sys))['GET /api/v1/deals'], 1);
      const child = await sys.client.workflow.getHandle(`resync:${started.body.id}:deals`).fetchHistory();
      const events = child.events ?? [];
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'importEntity');
      const startedEvent = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId));
      const attempt = startedEvent?.activityTaskStartedEventAttributes?.attempt;
      diagnostic(`12 s page with a 10 s heartbeat timeout: importEntity finished on attempt ${attempt}`);
      assert.equal(attempt, 1);
    } finally {
      await clearSandboxFaults(sys);
    }
  });

  test('one entity failing leaves the others completed; a second request retries only what failed', async () => {
    const acct = await sandboxAccount(sys, 'Flaky Deals Ltd');
    const integration = await sandboxIntegration(sys, acct.token);
    await resetSandboxStats(sys);
    await sandboxFault(sys, { pathPrefix: '/api/v1/deals', status: 401, count: 1 });
    await sandboxFault(sys, { pathPrefix: '/api/v1/companies', status: 429, retryAfterSeconds: 1, count: 2 });
    const first = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: {} });
    assert.equal(first.status, 202, first.text);
    const partial = await waitResync(sys, first.body.id);
    assert.equal(partial.status, 'partial');
    const e = byEntity(partial.entities as Array<{ entity: string; status: string; imported: number; error: { code: string; message: string } | null }>);
    assert.equal(e.deals.status, 'failed');
    assert.equal(e.deals.error?.code, 'invalid_credentials');
    assert.match(e.deals.error!.message, /deals/);
    for (const name of ['contacts', 'companies', 'users']) assert.equal(e[name].status, 'completed', name);
    assert.equal(e.companies.imported, 5, 'the 429s (Retry-After: 1) were waited out and the page retried');
    assert.equal((await sandboxStats(sys))['GET /api/v1/companies'], 3);

    const retry = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: {} });
    assert.equal(retry.status, 202, retry.text);
    assert.deepEqual(retry.body.entities.map((x: { entity: string }) => x.entity), ['deals']);
    const fixed = await waitResync(sys, retry.body.id);
    assert.equal(fixed.status, 'completed');
    assert.equal(fixed.entities[0].imported, 5);

    // After a full success, the default is everything again; `all` forces it anyway.
    const everything = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: { all: true } });
    assert.deepEqual(everything.body.entities.map((x: { entity: string }) => x.entity), ALL);
    assert.equal((await waitResync(sys, everything.body.id)).status, 'completed');
    assert.deepEqual(await recordCounts(sys, integration.id), { contacts: 5, companies: 5, deals: 5, users: 1 });

    // Every entity failing: the re-sync failed, and the result says why.
    await sandboxFault(sys, { pathPrefix: '/api/v1/', status: 401, count: 4 });
    const failing = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: { all: true } });
    const failed = await waitResync(sys, failing.body.id);
    await clearSandboxFaults(sys);
    assert.equal(failed.status, 'failed');
    for (const x of failed.entities) assert.equal(x.error.code, 'invalid_credentials');
  });

  test('delegated entities complete only when the external service signals; waitSeconds answers at once', async () => {
    const acct = await sandboxAccount(sys, 'Delegated Co');
    const put = await api(sys, 'PUT', '/v1/providers/acme-sync', {
      key: sys.keyA,
      body: { authType: 'api_token', name: 'Acme Sync', validationUrl: `${sys.sandboxUrl}/api/v1/me`, accountIdField: 'account.id', entities: ['contacts', 'tickets'] },
    });
    assert.ok(put.status === 200 || put.status === 201, put.text);
    const integration = await sandboxIntegration(sys, acct.token, 'acme-sync');

    const started = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 202, started.text);
    const id = started.body.id;
    assert.deepEqual(
      started.body.entities.map((x: { entity: string; mode: string }) => [x.entity, x.mode]),
      [
        ['contacts', 'delegated'],
        ['tickets', 'delegated'],
      ],
    );
    // Nothing happens by itself: a bounded wait comes back still running.
    const t1 = Date.now();
    const still = await api(sys, 'GET', `/v1/resyncs/${id}?waitSeconds=1`, { key: sys.keyA });
    assert.equal(still.body.status, 'running');
    assert.ok(Date.now() - t1 >= 900, 'waited about a second');

    const contacts = await api(sys, 'POST', `/v1/resyncs/${id}/entities/contacts/complete`, { key: sys.keyA, body: { imported: 42, updated: 3 } });
    assert.equal(contacts.status, 200, contacts.text);
    const c = byEntity(contacts.body.entities as Array<{ entity: string; status: string; imported: number; updated: number }>);
    assert.deepEqual([c.contacts.status, c.contacts.imported, c.contacts.updated], ['completed', 42, 3]);
    assert.equal(c.tickets.status, 'running');
    assert.equal(contacts.body.status, 'running');
    // The same report again is fine (idempotent); a contradicting one is not.
    const repeat = await api(sys, 'POST', `/v1/resyncs/${id}/entities/contacts/complete`, { key: sys.keyA, body: { imported: 42, updated: 3 } });
    assert.equal(repeat.status, 200, repeat.text);
    assert.equal(byEntity(repeat.body.entities as Array<{ entity: string; imported: number }>).contacts.imported, 42);
    const contradict = await api(sys, 'POST', `/v1/resyncs/${id}/entities/contacts/complete`, { key: sys.keyA, body: { error: 'oops' } });
    assert.equal(contradict.status, 409);
    assert.equal(contradict.body.error.code, 'resync_entity_finished');

    // Long-poll while the last entity is still out; it answers as soon as the report lands.
    const waiting = (async () => {
      const r = await api(sys, 'GET', `/v1/resyncs/${id}?waitSeconds=30`, { key: sys.keyA });
      return { r, at: Date.now() };
    })();
    await new Promise((r) => setTimeout(r, 500));
    const signalledAt = Date.now();
    const tickets = await api(sys, 'POST', `/v1/resyncs/${id}/entities/tickets/complete`, {
      key: sys.keyA,
      body: { imported: 7, error: { code: 'ticket_api_down', message: 'The ticket API answered 503 for an hour.' } },
    });
    assert.equal(tickets.status, 200, tickets.text);
    const { r: polled, at } = await waiting;
    assert.equal(polled.status, 200);
    assert.equal(polled.body.status, 'partial');
    const latencyFromCompletion = at - Date.parse(polled.body.completedAt);
    diagnostic(`waitSeconds long-poll: answered ${at - signalledAt} ms after the completion report was sent, ${latencyFromCompletion} ms after the re-sync was recorded final (poll interval 100 ms)`);
    assert.ok(at - signalledAt < 5000, 'long-poll answered promptly');
    const p = byEntity(polled.body.entities as Array<{ entity: string; status: string; imported: number; error: { code: string; message: string } | null }>);
    assert.equal(p.tickets.status, 'failed');
    assert.deepEqual(p.tickets.error, { code: 'ticket_api_down', message: 'The ticket API answered 503 for an hour.' });
    assert.equal(p.tickets.imported, 7);

    // The next request retries only what failed, delegated as well.
    const retry = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: {} });
    assert.equal(retry.status, 202, retry.text);
    assert.deepEqual(retry.body.entities.map((x: { entity: string }) => x.entity), ['tickets']);
    const ok = await api(sys, 'POST', `/v1/resyncs/${retry.body.id}/entities/tickets/complete`, { key: sys.keyA, body: {} });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await waitResync(sys, retry.body.id)).status, 'completed');

    // A delegated entity nobody reports on fails with `timeout`; a late report is refused.
    const slow = await api(sys, 'POST', `/v1/integrations/${integration.id}/resyncs`, { key: sys.keyA, body: { all: true, delegateTimeoutSeconds: 2 } });
    assert.equal(slow.status, 202, slow.text);
    const timedOut = await waitResync(sys, slow.body.id);
    assert.equal(timedOut.status, 'failed');
    for (const x of timedOut.entities) assert.equal(x.error.code, 'timeout');
    const late = await api(sys, 'POST', `/v1/resyncs/${slow.body.id}/entities/contacts/complete`, { key: sys.keyA, body: { imported: 1 } });
    assert.equal(late.status, 409);

    // No records are written by the engine for delegated entities.
    assert.deepEqual(await recordCounts(sys, integration.id), {});
  });

  test('bad input answers 4xx in the API error shape; other tenants see 404', async () => {
    assert.ok(big.integrationId && big.resyncId);
    const post = (body: unknown, id = big.integrationId, key = sys.keyA) => api(sys, 'POST', `/v1/integrations/${id}/resyncs`, { key, body });
    for (const body of [{ entities: ['nope'] }, { entities: [] }, { entities: 'contacts' }, { all: 'yes' }, { foo: 1 }, { delegateTimeoutSeconds: 0 }, { all: true, entities: ['deals'] }]) {
      const r = await post(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
      assert.match(r.body.error.code, /^[a-z_]+$/);
    }
    assert.equal((await post({ entities: ['tickets'] })).body.error.code, 'unknown_entity');
    assert.equal((await post({}, 'not-a-uuid')).status, 404);
    assert.equal((await post({}, '00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await post({}, big.integrationId, sys.keyB)).status, 404);
    const pending = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'sandbox' } });
    const notConnected = await post({}, pending.body.id);
    assert.equal(notConnected.status, 409);
    assert.equal(notConnected.body.error.code, 'integration_not_connected');

    const get = (path: string, key = sys.keyA) => api(sys, 'GET', path, { key });
    assert.equal((await get(`/v1/resyncs/${big.resyncId}`)).status, 200);
    assert.equal((await get(`/v1/resyncs/${big.resyncId}`, sys.keyB)).status, 404);
    assert.equal((await get('/v1/resyncs/nope')).status, 404);
    assert.equal((await get('/v1/resyncs/00000000-0000-4000-8000-000000000000')).status, 404);
    for (const q of ['waitSeconds=61', 'waitSeconds=abc', 'waitSeconds=-1', 'waitSeconds=1.5']) {
      const r = await get(`/v1/resyncs/${big.resyncId}?${q}`);
      assert.equal(r.status, 400, `${q} → ${r.status}`);
      assert.equal(r.body.error.code, 'validation_error');
    }
    assert.equal((await get(`/v1/integrations/${big.integrationId}/resyncs`, sys.keyB)).status, 404);

    const complete = (entity: string, body: unknown, id = big.resyncId, key = sys.keyA) =>
      api(sys, 'POST', `/v1/resyncs/${id}/entities/${entity}/complete`, { key, body });
    const builtin = await complete('contacts', { imported: 1 });
    assert.equal(builtin.status, 409);
    assert.equal(builtin.body.error.code, 'not_delegated');
    assert.equal((await complete('tickets', {})).status, 404);
    assert.equal((await complete('contacts', {}, big.resyncId, sys.keyB)).status, 404);
    assert.equal((await complete('contacts', {}, 'nope')).status, 404);
    for (const body of [{ imported: -1 }, { imported: 'many' }, { error: 5 }, { error: { code: 'Bad Code', message: 'x' } }, { error: { message: '' } }, { extra: true }]) {
      const r = await complete('contacts', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
    }
    // No 5xx for any re-sync route in this whole file.
    const fiveHundreds = sys.logs.filter((l) => l.startsWith('[api]') && /resyncs?[^"]* 5\d\d"/.test(l));
    assert.deepEqual(fiveHundreds, []);
  });
});
