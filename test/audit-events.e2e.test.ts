/**
 * The audit trail as admins read it: GET /v1/audit-events — keyset pages that stay stable while
 * events are written, filters, tenant isolation, and never a secret in any field.
 */
import assert from 'node:assert/strict';
import { api, type ApiResponse, connectedIntegration, sandboxToken, startSystem, type TestSystem } from './support/system';

interface AuditEvent {
  id: string;
  type: string;
  integrationId: string | null;
  actor: { kind: string; id?: string };
  outcome: string;
  details: Record<string, unknown>;
  createdAt: string;
}

const EVENT_KEYS = ['actor', 'createdAt', 'details', 'id', 'integrationId', 'outcome', 'type'];

function assertBadRequest(res: ApiResponse, context: string, code?: string): void {
  assert.equal(res.status, 400, `${context}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(res.body ?? {}), ['error'], context);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message'], context);
  if (code) assert.equal(res.body.error.code, code, context);
}

describe('audit events', () => {
  let sys: TestSystem;

  const page = async (query: string, key = sys.keyA) => {
    const res = await api(sys, 'GET', `/v1/audit-events${query ? `?${query}` : ''}`, { key });
    assert.equal(res.status, 200, `${query}: ${res.text}`);
    assert.deepEqual(Object.keys(res.body).sort(), ['data', 'nextCursor']);
    return res.body as { data: AuditEvent[]; nextCursor: string | null };
  };

  /** Every page of a query, following nextCursor; `between` runs after the first page. */
  const walk = async (query: string, opts: { key?: string; between?: () => Promise<void> } = {}) => {
    const all: AuditEvent[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await page([query, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&'), opts.key);
      all.push(...res.data);
      cursor = res.nextCursor;
      pages += 1;
      if (pages === 1 && opts.between) await opts.between();
    } while (cursor && pages < 100);
    return { all, pages };
  };

  const createPending = async (displayName: string, key = sys.keyA) => {
    const res = await api(sys, 'POST', '/v1/integrations', { key, body: { provider: 'sandbox', displayName } });
    assert.equal(res.status, 201, res.text);
    return res.body.id as string;
  };

  const tenantEventCount = async (key: string) => {
    const tenant = await sys.pg.query(`SELECT tenant_id FROM api_keys WHERE key_hash = encode(sha256($1::bytea), 'hex')`, [key]);
    return Number((await sys.pg.query(`SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1`, [tenant.rows[0].tenant_id])).rows[0].n);
  };

  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test('pages: newest first, every event exactly once, stable while new events are written', async () => {
    for (let n = 0; n < 7; n++) await createPending(`Paged ${n}`);
    const total = await tenantEventCount(sys.keyA);
    assert.ok(total >= 7);

    const first = await walk('limit=3');
    assert.equal(first.all.length, total);
    assert.equal(new Set(first.all.map((e) => e.id)).size, total, 'no event twice');
    assert.equal(first.pages, Math.ceil(total / 3));
    for (let k = 1; k < first.all.length; k++) {
      assert.ok(Date.parse(first.all[k - 1].createdAt) >= Date.parse(first.all[k].createdAt), 'newest first');
    }
    for (const e of first.all) assert.deepEqual(Object.keys(e).sort(), EVENT_KEYS);
    const created = first.all.find((e) => e.type === 'integration.created')!;
    assert.equal(created.actor.kind, 'api_key');
    assert.match(created.actor.id!, /^[0-9a-f-]{36}$/);
    assert.equal(created.outcome, 'succeeded');
    assert.deepEqual(created.details, { provider: 'sandbox', withCredentials: false });

    // Events written while someone pages are newer than the cursor: the walk neither repeats nor skips.
    const during = await walk('limit=3', {
      between: async () => {
        await createPending('Written while paging 1');
        await createPending('Written while paging 2');
      },
    });
    assert.deepEqual(
      during.all.map((e) => e.id),
      first.all.map((e) => e.id),
    );
    const fresh = await walk('limit=3');
    assert.equal(fresh.all.length, total + 2);
    assert.deepEqual(
      fresh.all.slice(2).map((e) => e.id),
      first.all.map((e) => e.id),
    );

    // The default page is 50; a page of exactly what is left has no next cursor.
    const whole = await page(`limit=${total + 2}`);
    assert.equal(whole.data.length, total + 2);
    assert.equal(whole.nextCursor, null);
  });

  test('filters: by integration, by type, both', async () => {
    const a = await createPending('Filter A');
    const b = await createPending('Filter B');
    assert.equal((await api(sys, 'POST', `/v1/integrations/${a}/disable`, { key: sys.keyA })).status, 200);
    assert.equal((await api(sys, 'POST', `/v1/integrations/${a}/enable`, { key: sys.keyA, headers: { 'x-reauth-client': 'console' } })).status, 200);

    const ofA = (await walk(`integrationId=${a}&limit=2`)).all;
    assert.deepEqual(
      ofA.map((e) => e.type),
      ['integration.enabled', 'integration.disabled', 'integration.created'],
    );
    assert.ok(ofA.every((e) => e.integrationId === a));
    assert.equal(ofA[0].actor.kind, 'console', 'the console labels its calls');
    assert.equal(ofA[1].actor.kind, 'api_key');
    assert.equal(ofA[0].actor.id, ofA[1].actor.id, 'the same API key either way');

    const ofB = (await walk(`integrationId=${b}`)).all;
    assert.deepEqual(
      ofB.map((e) => e.type),
      ['integration.created'],
    );
    const disabled = (await walk('type=integration.disabled')).all;
    assert.ok(disabled.length >= 1);
    assert.ok(disabled.every((e) => e.type === 'integration.disabled'));
    assert.deepEqual(
      (await walk(`integrationId=${b}&type=integration.disabled`)).all,
      [],
    );
    assert.deepEqual(await page('type=no.such_type'), { data: [], nextCursor: null });
  });

  test("tenant isolation: each tenant reads only its own events, also filtered by the other's integration id", async () => {
    const mine = await createPending('Tenant B integration', sys.keyB);
    const ofB = (await walk('limit=100', { key: sys.keyB })).all;
    assert.equal(ofB.length, await tenantEventCount(sys.keyB));
    assert.ok(ofB.every((e) => e.integrationId === mine || e.integrationId === null), 'only tenant B rows');
    const ofA = (await walk('limit=100')).all;
    assert.equal(ofA.some((e) => e.integrationId === mine), false);
    assert.deepEqual(await page(`integrationId=${mine}`), { data: [], nextCursor: null });
    const someOfA = ofA.find((e) => e.integrationId)!.integrationId!;
    assert.deepEqual(await page(`integrationId=${someOfA}`, sys.keyB), { data: [], nextCursor: null });
    // A cursor of tenant A's walk shows tenant B nothing of A.
    const cursorOfA = (await page('limit=1')).nextCursor!;
    const withIt = await page(`cursor=${encodeURIComponent(cursorOfA)}&limit=100`, sys.keyB);
    assert.ok(withIt.data.every((e) => e.integrationId === mine || e.integrationId === null));
  });

  test('never a secret: tokens, link tokens and API keys appear in no field of any event', async () => {
    const acct = await connectedIntegration(sys);
    const id = acct.integration.id as string;
    const started = await api(sys, 'POST', `/v1/integrations/${id}/reauthorizations`, { key: sys.keyA, body: { reason: 'rotation' } });
    assert.equal(started.status, 201, started.text);
    const wrong = 'sbx_definitely_not_a_valid_token_123456';
    const rejected = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: wrong } });
    assert.equal(rejected.status, 422, rejected.text);
    const newToken = await sandboxToken(sys, acct.accountId);
    const swapped = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: newToken } });
    assert.equal(swapped.status, 200, swapped.text);
    assert.equal((await api(sys, 'POST', `/v1/integrations/${id}/disable`, { key: sys.keyA })).status, 200);
    assert.equal((await api(sys, 'DELETE', `/v1/integrations/${id}`, { key: sys.keyA })).status, 204);

    const events = (await walk('limit=100')).all;
    const types = events.filter((e) => e.integrationId === id).map((e) => e.type);
    for (const t of ['integration.created', 'reauthorization.started', 'reauthorization.attempt_rejected', 'credentials.swapped', 'integration.disabled', 'integration.deleted']) {
      assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
    }
    const rejection = events.find((e) => e.integrationId === id && e.type === 'reauthorization.attempt_rejected')!;
    assert.equal(rejection.outcome, 'rejected');
    assert.equal((rejection.details.error as { code: string }).code, 'invalid_credentials');
    const text = JSON.stringify(events);
    for (const secret of [acct.token, newToken, wrong, started.body.linkToken, sys.keyA, sys.keyB]) {
      assert.equal(text.includes(secret), false, `a secret (${secret.slice(0, 6)}…) in the audit trail`);
    }
  });

  test('bad input answers 400 in the error shape; no key answers 401', async () => {
    assertBadRequest(await api(sys, 'GET', '/v1/audit-events?cursor=garbage', { key: sys.keyA }), 'garbage cursor', 'invalid_cursor');
    const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    assertBadRequest(await api(sys, 'GET', `/v1/audit-events?cursor=${forged}`, { key: sys.keyA }), 'forged cursor', 'invalid_cursor');
    for (const limit of ['0', '101', 'abc', '2.5']) assertBadRequest(await api(sys, 'GET', `/v1/audit-events?limit=${limit}`, { key: sys.keyA }), `limit=${limit}`);
    assertBadRequest(await api(sys, 'GET', '/v1/audit-events?integrationId=not-a-uuid', { key: sys.keyA }), 'integrationId');
    assertBadRequest(await api(sys, 'GET', '/v1/audit-events?type=DROP%20TABLE', { key: sys.keyA }), 'type');
    assertBadRequest(await api(sys, 'GET', '/v1/audit-events?tenantId=x', { key: sys.keyA }), 'unknown parameter');
    assert.equal((await api(sys, 'GET', '/v1/audit-events')).status, 401);
  });
});
