/**
 * Past webhook events and sending them again, end to end (real Temporal, Postgres, sandbox CRM,
 * worker and API; a local receiver verifies every request with the `standardwebhooks` package):
 * GET /v1/events with each event's delivery per endpoint and keyset pages; redelivery of one
 * delivery and replay of an endpoint since a time, both with the same `webhook-id` so that the
 * receiver de-duplicates; tenant isolation; bad input; the per-tenant resend limit. Events come from
 * disabling and enabling an integration (each emits one through the integrationLifecycle workflow).
 * Deliveries retry from 1 s for a 6 s window, so a receiver that stays down fails quickly.
 */
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { api, type ApiResponse, connectedIntegration, startSystem, type TestSystem, waitFor } from './support/system';
import { Receiver } from './support/webhook-receiver';

const RETRY_WINDOW_SECONDS = 6;
const RESENDS_PER_TENANT = 40;

interface Delivery {
  id: string;
  endpointId: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  resends: number;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

interface EventItem {
  id: string;
  event: string;
  integrationId: string | null;
  createdAt: string;
  payload: any;
  deliveries: Delivery[];
}

const EVENT_KEYS = ['createdAt', 'deliveries', 'event', 'id', 'integrationId', 'payload'];
const DELIVERY_KEYS = ['attempts', 'deliveredAt', 'endpointId', 'id', 'lastAttemptAt', 'lastError', 'lastStatusCode', 'resends', 'status'];

function assertError(res: ApiResponse, status: number, context: string, code?: string): void {
  assert.equal(res.status, status, `${context}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(res.body ?? {}), ['error'], context);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message'], context);
  assert.ok(res.body.error.message.length > 0, context);
  if (code) assert.equal(res.body.error.code, code, context);
}

describe('events, redelivery and replay', () => {
  let sys: TestSystem;
  const receiver = new Receiver();
  let integrationId: string;
  let ok: { id: string; secret: string };
  let down: { id: string; secret: string };
  let downUp = false;

  const createEndpoint = async (path: string, events?: string[], key = sys.keyA) => {
    const res = await api(sys, 'POST', '/v1/webhook-endpoints', { key, body: events ? { url: receiver.url(path), events } : { url: receiver.url(path) } });
    assert.equal(res.status, 201, res.text);
    return res.body as { id: string; secret: string };
  };

  const page = async (query: string, key = sys.keyA) => {
    const res = await api(sys, 'GET', `/v1/events${query ? `?${query}` : ''}`, { key });
    assert.equal(res.status, 200, `${query}: ${res.text}`);
    assert.deepEqual(Object.keys(res.body).sort(), ['data', 'nextCursor']);
    return res.body as { data: EventItem[]; nextCursor: string | null };
  };

  /** The event with that id, from the first page (it is among the newest). */
  const eventById = async (id: string) => (await page('limit=100')).data.find((e) => e.id === id);

  /** Disables or enables the integration; answers the id of the event it emitted. */
  const toggle = async (op: 'disable' | 'enable') => {
    const before = await sys.pg.query(`SELECT id FROM webhook_events WHERE integration_id = $1`, [integrationId]);
    const res = await api(sys, 'POST', `/v1/integrations/${integrationId}/${op}`, { key: sys.keyA });
    assert.equal(res.status, 200, res.text);
    const known = new Set(before.rows.map((r) => r.id as string));
    return waitFor(`the ${op}d event`, async () => {
      const rows = await sys.pg.query(`SELECT id FROM webhook_events WHERE integration_id = $1 AND type = $2 ORDER BY created_at DESC`, [
        integrationId,
        `integrated_account:${op}d`,
      ]);
      return rows.rows.map((r) => r.id as string).find((id) => !known.has(id));
    });
  };

  const delivery = (e: EventItem | undefined, endpointId: string) => e?.deliveries.find((d) => d.endpointId === endpointId);

  beforeAll(async () => {
    await receiver.start();
    receiver.answer.set('/down', () => (downUp ? 200 : 503));
    sys = await startSystem({
      extraEnv: {
        WEBHOOK_RETRY_INITIAL_SECONDS: '1',
        WEBHOOK_RETRY_WINDOW_SECONDS: String(RETRY_WINDOW_SECONDS),
        RATE_LIMIT_WEBHOOK_RESENDS: String(RESENDS_PER_TENANT),
      },
    });
    ok = await createEndpoint('/ok');
    down = await createEndpoint('/down', ['integrated_account:disabled']);
    integrationId = (await connectedIntegration(sys)).integration.id;
  });
  afterAll(async () => {
    await sys?.stop();
    await receiver.stop();
  });

  let disabledEventId: string;

  test('each event shows its delivery per endpoint: delivered at one, failed at a receiver that stays down', async () => {
    disabledEventId = await toggle('disable');
    const event = await waitFor(
      'delivered at /ok and failed at /down',
      async () => {
        const e = await eventById(disabledEventId);
        return delivery(e, ok.id)?.status === 'delivered' && delivery(e, down.id)?.status === 'failed' ? e : undefined;
      },
      (RETRY_WINDOW_SECONDS + 20) * 1000,
    );
    assert.deepEqual(Object.keys(event).sort(), EVENT_KEYS);
    assert.equal(event.event, 'integrated_account:disabled');
    assert.equal(event.integrationId, integrationId);
    assert.equal(event.payload.integrated_account.id, integrationId);
    assert.equal(event.deliveries.length, 2);
    for (const d of event.deliveries) assert.deepEqual(Object.keys(d).sort(), DELIVERY_KEYS);

    const good = delivery(event, ok.id)!;
    assert.equal(good.attempts, 1);
    assert.equal(good.resends, 0);
    assert.equal(good.lastStatusCode, 200);
    assert.equal(good.lastError, null);
    assert.ok(good.deliveredAt && good.lastAttemptAt && Date.parse(good.lastAttemptAt) >= Date.parse(event.createdAt));
    const [got] = receiver.requests.filter((r) => r.path === '/ok' && r.body?.id === disabledEventId);
    assert.equal(got.headers['webhook-id'], disabledEventId);

    const bad = delivery(event, down.id)!;
    assert.ok(bad.attempts >= 2, `only ${bad.attempts} attempt(s)`);
    assert.equal(bad.attempts, receiver.requests.filter((r) => r.path === '/down' && r.body?.id === disabledEventId).length);
    assert.equal(bad.lastStatusCode, 503);
    assert.match(bad.lastError ?? '', /^gave up after retrying for 6 s; last error: receiver answered HTTP 503/);
    assert.equal(bad.deliveredAt, null);
    assert.ok(bad.lastAttemptAt);

    // Never a secret in the listing.
    const text = (await api(sys, 'GET', '/v1/events?limit=100', { key: sys.keyA })).text;
    for (const s of [ok.secret, down.secret]) assert.equal(text.includes(s.slice(6)), false);
    assert.equal(/whsec_|ciphertext|apiToken/.test(text), false);
  });

  test('redelivery sends the same webhook-id and body again; the receiver de-duplicates it', async () => {
    const before = delivery(await eventById(disabledEventId), ok.id)!;
    const res = await api(sys, 'POST', `/v1/webhook-endpoints/${ok.id}/deliveries/${before.id}/redeliver`, { key: sys.keyA });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.id, before.id);
    assert.equal(res.body.endpointId, ok.id);
    assert.equal(res.body.eventId, disabledEventId);
    assert.equal(res.body.event, 'integrated_account:disabled');
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.resends, 1);

    const [first, again] = await waitFor('the redelivered request', async () => {
      const r = receiver.requests.filter((x) => x.path === '/ok' && x.headers['webhook-id'] === disabledEventId);
      return r.length >= 2 ? r : undefined;
    });
    assert.equal(again.raw, first.raw, 'the body changed');
    new Webhook(ok.secret).verify(again.raw, again.headers);
    assert.equal(again.duplicate, true);
    assert.equal(receiver.processed('/ok').filter((r) => r.body.id === disabledEventId).length, 1, 'the receiver processed the event twice');

    const after = await waitFor('the redelivery delivered', async () => {
      const d = delivery(await eventById(disabledEventId), ok.id);
      return d?.status === 'delivered' ? d : undefined;
    });
    assert.equal(after.attempts, 2);
    assert.equal(after.resends, 1);
    assert.equal(after.lastStatusCode, 200);
    assert.ok(Date.parse(after.deliveredAt!) >= Date.parse(before.deliveredAt!));
    const wf = await sys.client.workflow.getHandle(`webhook:${disabledEventId}:${ok.id}:redelivery-1`).result();
    assert.equal(wf.status, 'delivered');

    // The failed delivery at /down, once its receiver is back: delivered on redelivery.
    downUp = true;
    const failed = delivery(await eventById(disabledEventId), down.id)!;
    assert.equal(failed.status, 'failed');
    const retried = await api(sys, 'POST', `/v1/webhook-endpoints/${down.id}/deliveries/${failed.id}/redeliver`, { key: sys.keyA });
    assert.equal(retried.status, 202, retried.text);
    const fixed = await waitFor('the failed delivery redelivered', async () => {
      const d = delivery(await eventById(disabledEventId), down.id);
      return d?.status === 'delivered' ? d : undefined;
    });
    assert.equal(fixed.lastStatusCode, 200);
    assert.equal(fixed.lastError, null);
    assert.equal(fixed.attempts, failed.attempts + 1);
    const atDown = receiver.requests.filter((r) => r.path === '/down' && r.headers['webhook-id'] === disabledEventId);
    assert.equal(new Set(atDown.map((r) => r.raw)).size, 1);
    assert.equal(receiver.processed('/down').filter((r) => r.body.id === disabledEventId).length, 1);

    // A delivery still being attempted is not sent a second time alongside: 409.
    downUp = false;
    const again1 = await api(sys, 'POST', `/v1/webhook-endpoints/${down.id}/deliveries/${failed.id}/redeliver`, { key: sys.keyA });
    assert.equal(again1.status, 202, again1.text);
    await waitFor('a failed attempt of the second redelivery', async () => (delivery(await eventById(disabledEventId), down.id)?.attempts ?? 0) > fixed.attempts);
    assertError(await api(sys, 'POST', `/v1/webhook-endpoints/${down.id}/deliveries/${failed.id}/redeliver`, { key: sys.keyA }), 409, 'in progress', 'delivery_in_progress');
    downUp = true;

    // Who did it: the audit trail names the API key.
    const audit = await api(sys, 'GET', '/v1/audit-events?type=webhook_delivery.redelivered', { key: sys.keyA });
    assert.equal(audit.status, 200, audit.text);
    assert.equal(audit.body.data.length, 3);
    const row = audit.body.data[audit.body.data.length - 1];
    assert.equal(row.actor.kind, 'api_key');
    assert.match(row.actor.id, /^[0-9a-f-]{36}$/);
    assert.equal(row.integrationId, integrationId);
    assert.deepEqual(
      { endpointId: row.details.endpointId, deliveryId: row.details.deliveryId, eventId: row.details.eventId },
      { endpointId: ok.id, deliveryId: before.id, eventId: disabledEventId },
    );
  });

  test('pages: newest first, every event once, none skipped while new events arrive', async () => {
    for (let i = 0; i < 2; i++) {
      await toggle('enable');
      await toggle('disable');
    }
    const tenant = await sys.pg.query(`SELECT tenant_id FROM webhook_endpoints WHERE id = $1`, [ok.id]);
    const expected = (
      await sys.pg.query(`SELECT id FROM webhook_events WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, [tenant.rows[0].tenant_id])
    ).rows.map((r) => r.id as string);
    assert.ok(expected.length >= 5, `only ${expected.length} events`);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p = await page(['limit=2', cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&'));
      assert.ok(p.data.length <= 2);
      seen.push(...p.data.map((e) => e.id));
      cursor = p.nextCursor;
      pages += 1;
      if (pages === 1) await toggle('enable'); // newer than every cursor: not part of this walk
    } while (cursor && pages < 50);
    assert.deepEqual(seen, expected);
    assert.equal(pages, Math.ceil(expected.length / 2));
    const dates = (await page('limit=100')).data.map((e) => Date.parse(e.createdAt));
    assert.deepEqual(dates, [...dates].sort((a, b) => b - a));

    for (const [query, code] of [
      ['cursor=not-a-cursor', 'invalid_cursor'],
      [`cursor=${Buffer.from('["2026-01-01T00:00:00.000000","x"]').toString('base64url')}`, 'invalid_cursor'],
      ['limit=0', undefined],
      ['limit=101', undefined],
      ['limit=ten', undefined],
      ['cursor=' + 'a'.repeat(300), undefined],
      ['type=x', undefined],
    ] as const) {
      assertError(await api(sys, 'GET', `/v1/events?${query}`, { key: sys.keyA }), 400, query, code);
    }
    assert.equal((await api(sys, 'GET', '/v1/events')).status, 401);
  });

  test('replay after a receiver was down past the retry window: the missed events again, same webhook-ids', async () => {
    let up = false;
    receiver.answer.set('/outage', () => (up ? 204 : 503));
    const outage = await createEndpoint('/outage', ['integrated_account:disabled', 'integrated_account:enabled']);
    const since = new Date(Date.now() - 1000).toISOString();
    // The walk above left the integration enabled.
    const missed = [await toggle('disable'), await toggle('enable')];
    await waitFor(
      'both deliveries to /outage failed',
      async () => {
        const r = await sys.pg.query(`SELECT status FROM webhook_deliveries WHERE endpoint_id = $1`, [outage.id]);
        return r.rows.length === 2 && r.rows.every((x) => x.status === 'failed');
      },
      (RETRY_WINDOW_SECONDS + 20) * 1000,
    );
    const failedAttempts = receiver.requests.filter((r) => r.path === '/outage').length;
    assert.ok(failedAttempts >= 4);
    assert.deepEqual(receiver.processed('/outage'), []);

    up = true;
    const res = await api(sys, 'POST', `/v1/webhook-endpoints/${outage.id}/replay`, { key: sys.keyA, body: { since } });
    assert.equal(res.status, 202, res.text);
    assert.match(res.body.id, /^[0-9a-f-]{36}$/);
    assert.equal(res.body.endpointId, outage.id);
    assert.equal(res.body.since, since);
    assert.equal(res.body.matched, 2);
    assert.equal(res.body.truncated, false);
    assert.equal(res.body.resumeFrom, null);
    assert.equal(res.body.limit, 1000);

    const done = await waitFor('the replay delivered', async () => {
      const r = await api(sys, 'GET', `/v1/webhook-endpoints/${outage.id}/replays/${res.body.id}`, { key: sys.keyA });
      assert.equal(r.status, 200, r.text);
      return r.body.status === 'completed' && r.body.deliveries.delivered === 2 ? r.body : undefined;
    });
    assert.equal(done.queued, 2);
    assert.equal(done.skipped, 0);
    assert.deepEqual(done.deliveries, { pending: 0, delivered: 2, failed: 0 });

    const processed = receiver.processed('/outage');
    assert.deepEqual(processed.map((r) => r.headers['webhook-id']).sort(), [...missed].sort());
    for (const r of processed) {
      new Webhook(outage.secret).verify(r.raw, r.headers);
      const original = receiver.requests.find((x) => x.path === '/outage' && x.answered === 503 && x.headers['webhook-id'] === r.headers['webhook-id'])!;
      assert.equal(r.raw, original.raw, 'the replayed body differs from the first delivery');
    }
    for (const id of missed) {
      const d = delivery(await eventById(id), outage.id)!;
      assert.equal(d.status, 'delivered');
      assert.equal(d.resends, 1);
    }
    // The events before `since` and those the endpoint is not subscribed to were not sent.
    assert.equal(receiver.requests.filter((r) => r.path === '/outage').length, failedAttempts + 2);

    // Replaying again: everything sent once more, and the receiver de-duplicates all of it.
    const twice = await api(sys, 'POST', `/v1/webhook-endpoints/${outage.id}/replay`, { key: sys.keyA, body: { since } });
    assert.equal(twice.status, 202, twice.text);
    await waitFor('the second replay delivered', async () => {
      const r = await api(sys, 'GET', `/v1/webhook-endpoints/${outage.id}/replays/${twice.body.id}`, { key: sys.keyA });
      return r.body.deliveries.delivered === 2;
    });
    assert.equal(receiver.requests.filter((r) => r.path === '/outage' && r.duplicate).length, 2);
    assert.equal(receiver.processed('/outage').length, 2);

    // Audit: who replayed what.
    const audit = await api(sys, 'GET', '/v1/audit-events?type=webhook_endpoint.replayed', { key: sys.keyA });
    assert.equal(audit.body.data.length, 2);
    assert.equal(audit.body.data[1].actor.kind, 'api_key');
    assert.equal(audit.body.data[1].details.replayId, res.body.id);
    assert.equal(audit.body.data[1].details.endpointId, outage.id);

    // Nothing in the window: 202 with nothing to send.
    const empty = await api(sys, 'POST', `/v1/webhook-endpoints/${ok.id}/replay`, { key: sys.keyA, body: { since: new Date().toISOString() } });
    assert.equal(empty.status, 202, empty.text);
    assert.equal(empty.body.matched, 0);
    assert.equal(empty.body.status, 'completed');
  });

  test('bad input is a 4xx in the error shape', async () => {
    const replay = (body: unknown) => api(sys, 'POST', `/v1/webhook-endpoints/${ok.id}/replay`, { key: sys.keyA, body });
    const day = 24 * 3600_000;
    for (const [body, what, code] of [
      [{}, 'no since', undefined],
      [{ since: 'yesterday' }, 'not a date', undefined],
      [{ since: 1733040000 }, 'a number', undefined],
      [{ since: '2026-12-01' }, 'no time', undefined],
      [{ since: '2026-12-01T08:00:00' }, 'no time zone', undefined],
      [{ since: '2026-02-30T00:00:00Z' }, 'no such day', 'invalid_since'],
      [{ since: new Date(Date.now() + 3600_000).toISOString() }, 'in the future', 'invalid_since'],
      [{ since: new Date(Date.now() - 31 * day).toISOString() }, 'too old', 'invalid_since'],
      [{ since: new Date().toISOString(), limit: 5 }, 'unknown field', undefined],
    ] as const) {
      assertError(await replay(body), 400, what, code);
    }
    assertError(await replay('{"since":'), 400, 'malformed JSON');
    for (const path of [
      `/v1/webhook-endpoints/${ok.id}/deliveries/not-a-uuid/redeliver`,
      `/v1/webhook-endpoints/${ok.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`,
      `/v1/webhook-endpoints/not-a-uuid/deliveries/00000000-0000-4000-8000-000000000000/redeliver`,
      `/v1/webhook-endpoints/not-a-uuid/replay`,
    ]) {
      assertError(await api(sys, 'POST', path, { key: sys.keyA, body: { since: new Date().toISOString() } }), 404, path, 'not_found');
    }
    // A delivery of another endpoint of the same tenant is not this endpoint's.
    const d = delivery(await eventById(disabledEventId), down.id)!;
    assertError(await api(sys, 'POST', `/v1/webhook-endpoints/${ok.id}/deliveries/${d.id}/redeliver`, { key: sys.keyA }), 404, 'other endpoint', 'not_found');
    assertError(await api(sys, 'GET', `/v1/webhook-endpoints/${ok.id}/replays/not-a-uuid`, { key: sys.keyA }), 404, 'bad replay id', 'not_found');
  });

  test("tenant B cannot list, redeliver or replay tenant A's events", async () => {
    const mine = await createEndpoint('/tenant-b', undefined, sys.keyB);
    const b = await page('limit=100', sys.keyB);
    assert.deepEqual(b, { data: [], nextCursor: null });
    const aCursor = (await page('limit=1')).nextCursor!;
    const fromA = await page(`cursor=${encodeURIComponent(aCursor)}`, sys.keyB);
    assert.deepEqual(fromA.data, [], "A's cursor shows B nothing of A");

    const d = delivery(await eventById(disabledEventId), ok.id)!;
    const replay = await sys.pg.query(`SELECT id FROM webhook_replays LIMIT 1`);
    const outage = await sys.pg.query(`SELECT endpoint_id FROM webhook_replays WHERE id = $1`, [replay.rows[0].id]);
    for (const [method, path] of [
      ['POST', `/v1/webhook-endpoints/${ok.id}/deliveries/${d.id}/redeliver`],
      ['POST', `/v1/webhook-endpoints/${mine.id}/deliveries/${d.id}/redeliver`],
      ['POST', `/v1/webhook-endpoints/${ok.id}/replay`],
      ['GET', `/v1/webhook-endpoints/${outage.rows[0].endpoint_id}/replays/${replay.rows[0].id}`],
      ['GET', `/v1/webhook-endpoints/${mine.id}/replays/${replay.rows[0].id}`],
    ] as const) {
      const res = await api(sys, method, path, { key: sys.keyB, body: method === 'POST' ? { since: new Date(Date.now() - 60_000).toISOString() } : undefined });
      assertError(res, 404, `${method} ${path}`, 'not_found');
    }
    const row = await sys.pg.query(`SELECT resends FROM webhook_deliveries WHERE id = $1`, [d.id]);
    assert.equal(row.rows[0].resends, 1, "B's requests changed A's delivery");
    assert.deepEqual(receiver.requests.filter((r) => r.path === '/tenant-b'), []);
  });

  test('resends have their own budget per tenant: 429 with Retry-After once it is spent', async () => {
    let refused: Response | undefined;
    let sent = 0;
    for (let i = 0; i < RESENDS_PER_TENANT + 5 && !refused; i++) {
      const res = await fetch(`${sys.apiUrl}/v1/webhook-endpoints/${ok.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sys.keyA}` },
      });
      if (res.status === 429) refused = res;
      else {
        assert.equal(res.status, 404);
        sent += 1;
      }
    }
    assert.ok(refused, 'never rate limited');
    // Every resend request of tenant A counts (those of the tests above, and these 404s): never more than the budget passes.
    assert.ok(sent < RESENDS_PER_TENANT, `${sent} requests passed`);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    const body = (await refused.json()) as any;
    assert.equal(body.error.code, 'rate_limited');
    // Reads are not resends; and tenant B's budget is its own.
    assert.equal((await api(sys, 'GET', '/v1/events?limit=1', { key: sys.keyA })).status, 200);
    const bEndpoint = (await api(sys, 'GET', '/v1/webhook-endpoints', { key: sys.keyB })).body.data[0].id;
    assert.equal((await api(sys, 'POST', `/v1/webhook-endpoints/${bEndpoint}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`, { key: sys.keyB })).status, 404);
  });
});
