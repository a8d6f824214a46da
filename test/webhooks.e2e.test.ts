/**
 * Signed webhooks with durable delivery, end to end: real
 * Temporal, Postgres, sandbox CRM, worker and API; a local receiver verifies every delivery with the
 * `standardwebhooks` package. Retries run with a 1 s initial interval and a 20 s window.
 */
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { Receiver } from './support/webhook-receiver';
import { freePort } from '../libs/temporal/dev-server';
import { api, connectedIntegration, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';
import { testPeerUrl } from './support/test-network';

const ALL_EVENTS = [
  'integrated_account:authentication_error',
  'integrated_account:reauthorized',
  'integrated_account:reauthorization_failed',
  'integrated_account:status_changed',
  'integrated_account:reauthorization_recommended',
  'integrated_account:disabled',
  'integrated_account:enabled',
  'integrated_account:deleted',
  'resync:requested',
  'resync:completed',
];
const RETRY_WINDOW_SECONDS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A workflow's history with every payload decrypted (what an operator with the codec could read). */
async function decodedHistory(sys: TestSystem, workflowId: string): Promise<string> {
  const history = await sys.client.workflow.getHandle(workflowId).fetchHistory();
  const codecs = [...sys.client.options.loadedDataConverter.payloadCodecs].reverse();
  const out: string[] = [];
  const walk = async (v: unknown): Promise<void> => {
    if (!v || typeof v !== 'object' || v instanceof Uint8Array) return;
    const p = v as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
    if (p.metadata && p.data instanceof Uint8Array) {
      let payloads = [p as any];
      for (const c of codecs) payloads = await c.decode(payloads);
      out.push(Buffer.from(payloads[0].data ?? []).toString('utf8'));
      return;
    }
    for (const x of Object.values(v)) await walk(x);
  };
  await walk(history);
  return out.join('\n');
}

describe('webhooks', () => {
  let sys: TestSystem;
  const receiver = new Receiver();
  /** An endpoint whose receiver never comes up; its delivery from the reauthorization test must end failed. */
  let dead: { id: string; secret: string; eventId?: string } | undefined;

  const createEndpoint = async (url: string, events?: string[], key = sys.keyA) => {
    const res = await api(sys, 'POST', '/v1/webhook-endpoints', { key, body: events ? { url, events } : { url } });
    assert.equal(res.status, 201, res.text);
    return res.body as { id: string; url: string; events: string[]; secret: string; createdAt: string };
  };

  /** An API-token reauthorization end to end; the workflow emits `integrated_account:reauthorized`. */
  const reauthorize = async (reason?: string) => {
    const acct = await connectedIntegration(sys);
    const started = await api(sys, 'POST', `/v1/integrations/${acct.integration.id}/reauthorizations`, { key: sys.keyA, body: reason ? { reason } : {} });
    assert.equal(started.status, 201, started.text);
    const newToken = await sandboxToken(sys, acct.accountId);
    const submitted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: newToken } });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    return { integrationId: acct.integration.id as string, accountId: acct.accountId, tokens: [acct.token, newToken] };
  };

  const deliveries = async (endpointId: string) => {
    const res = await api(sys, 'GET', `/v1/webhook-endpoints/${endpointId}/deliveries`, { key: sys.keyA });
    assert.equal(res.status, 200, res.text);
    return res.body.data as Array<{
      id: string;
      eventId: string;
      event: string;
      status: string;
      attempts: number;
      lastStatusCode: number | null;
      lastError: string | null;
      createdAt: string;
      deliveredAt: string | null;
    }>;
  };

  beforeAll(async () => {
    await receiver.start();
    sys = await startSystem({ extraEnv: { WEBHOOK_RETRY_INITIAL_SECONDS: '1', WEBHOOK_RETRY_WINDOW_SECONDS: String(RETRY_WINDOW_SECONDS) } });
  });
  afterAll(async () => {
    await sys?.stop();
    await receiver.stop();
  });

  test('endpoints: the secret is shown once, input is validated, other tenants see nothing', async () => {
    for (const [body, what] of [
      [{ url: 'ftp://example.com/hook' }, 'non-http url'],
      [{ url: 'not a url' }, 'garbage url'],
      [{ url: 'http://user:pass@127.0.0.1/hook' }, 'url with credentials'],
      [{}, 'missing url'],
      [{ url: receiver.url('/x'), events: ['integrated_account:exploded'] }, 'unknown event'],
      [{ url: receiver.url('/x'), events: [] }, 'empty events'],
      [{ url: receiver.url('/x'), events: 'resync:completed' }, 'events not an array'],
      [{ url: receiver.url('/x'), secret: 'whsec_mine' }, 'unknown field'],
    ] as const) {
      const res = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body });
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.text}`);
      assert.equal(typeof res.body.error.code, 'string', what);
      assert.ok(res.body.error.message.length > 0, what);
    }
    assert.equal((await api(sys, 'POST', '/v1/webhook-endpoints', { body: { url: receiver.url('/x') } })).status, 401);

    const all = await createEndpoint(receiver.url('/isolation'));
    assert.match(all.id, /^[0-9a-f-]{36}$/);
    assert.equal(all.url, receiver.url('/isolation'));
    assert.deepEqual(all.events, ALL_EVENTS);
    assert.match(all.secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
    assert.ok(Buffer.from(all.secret.slice('whsec_'.length), 'base64').length >= 24);
    assert.ok(!Number.isNaN(Date.parse(all.createdAt)));
    const some = await createEndpoint(receiver.url('/isolation-some'), ['resync:completed', 'integrated_account:reauthorized', 'resync:completed']);
    assert.deepEqual(some.events, ['integrated_account:reauthorized', 'resync:completed']);
    assert.notEqual(some.secret, all.secret);

    // Never shown again: not in the list, not in a read, not stored in clear.
    const list = await api(sys, 'GET', '/v1/webhook-endpoints', { key: sys.keyA });
    assert.equal(list.status, 200);
    const listed = list.body.data.find((e: any) => e.id === all.id);
    assert.deepEqual(listed, { id: all.id, url: all.url, events: ALL_EVENTS, createdAt: all.createdAt });
    const one = await api(sys, 'GET', `/v1/webhook-endpoints/${some.id}`, { key: sys.keyA });
    assert.deepEqual(one.body, { id: some.id, url: some.url, events: some.events, createdAt: some.createdAt });
    for (const text of [list.text, one.text]) {
      assert.equal(text.includes('whsec_'), false);
      assert.equal(text.includes(all.secret.slice(6)), false);
    }
    const stored = await sys.pg.query('SELECT * FROM webhook_endpoints WHERE id = $1', [all.id]);
    assert.equal(JSON.stringify(stored.rows).includes(all.secret.slice(6)), false);

    // Tenant B: another tenant's ids are 404 everywhere, and its list is its own.
    const b = await api(sys, 'GET', '/v1/webhook-endpoints', { key: sys.keyB });
    assert.deepEqual(b.body, { data: [] });
    for (const [method, path] of [
      ['GET', `/v1/webhook-endpoints/${all.id}`],
      ['GET', `/v1/webhook-endpoints/${all.id}/deliveries`],
      ['DELETE', `/v1/webhook-endpoints/${all.id}`],
    ] as const) {
      const res = await api(sys, method, path, { key: sys.keyB });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.code, 'not_found');
    }
    for (const id of ['not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
      assert.equal((await api(sys, 'GET', `/v1/webhook-endpoints/${id}`, { key: sys.keyA })).status, 404);
      assert.equal((await api(sys, 'GET', `/v1/webhook-endpoints/${id}/deliveries`, { key: sys.keyA })).status, 404);
      assert.equal((await api(sys, 'DELETE', `/v1/webhook-endpoints/${id}`, { key: sys.keyA })).status, 404);
    }

    // Delete: gone from reads and lists; a second delete is a 404.
    for (const e of [all, some]) {
      const del = await api(sys, 'DELETE', `/v1/webhook-endpoints/${e.id}`, { key: sys.keyA });
      assert.equal(del.status, 200, del.text);
      assert.deepEqual(del.body, { id: e.id, deleted: true });
      assert.equal((await api(sys, 'GET', `/v1/webhook-endpoints/${e.id}`, { key: sys.keyA })).status, 404);
      assert.equal((await api(sys, 'DELETE', `/v1/webhook-endpoints/${e.id}`, { key: sys.keyA })).status, 404);
    }
    const after = await api(sys, 'GET', '/v1/webhook-endpoints', { key: sys.keyA });
    assert.equal(after.body.data.some((e: any) => e.id === all.id || e.id === some.id), false);
  });

  test('a reauthorization is delivered once, signed, with the integrated account and no secret', async () => {
    const main = await createEndpoint(receiver.url('/main'));
    const filtered = await createEndpoint(receiver.url('/filtered'), ['resync:completed']);
    const deleted = await createEndpoint(receiver.url('/deleted'));
    const otherTenant = await createEndpoint(receiver.url('/tenant-b'), undefined, sys.keyB);
    assert.equal((await api(sys, 'DELETE', `/v1/webhook-endpoints/${deleted.id}`, { key: sys.keyA })).status, 200);
    // A receiver that never comes up: checked at the end of the file (retry window over → failed).
    dead = await createEndpoint(`${testPeerUrl(await freePort())}/dead`, ['integrated_account:reauthorized']);

    const { integrationId, accountId, tokens } = await reauthorize('token rotation');
    const [got] = await waitFor('the reauthorized webhook', async () => {
      const r = receiver.about('/main', integrationId, 'integrated_account:reauthorized');
      return r.length ? r : undefined;
    });

    // Standard Webhooks: the signature verifies with the endpoint's secret; webhook-id is the event id.
    const verified = new Webhook(main.secret).verify(got.raw, got.headers) as any;
    assert.deepEqual(verified, got.body);
    assert.throws(() => new Webhook(filtered.secret).verify(got.raw, got.headers));
    assert.throws(() => new Webhook(main.secret).verify(got.raw.replace('"active"', '"blocked"'), got.headers));
    assert.equal(got.headers['webhook-id'], got.body.id);
    assert.match(got.headers['webhook-timestamp'], /^\d{10}$/);
    assert.match(got.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.match(got.headers['content-type'], /^application\/json/);

    // Body `{id, event, created_at, payload}`; the payload is the integration object, after the swap.
    assert.deepEqual(Object.keys(got.body).sort(), ['created_at', 'event', 'id', 'payload']);
    assert.equal(got.body.event, 'integrated_account:reauthorized');
    assert.ok(Math.abs(Date.parse(got.body.created_at) - Date.now()) < 60_000);
    const account = got.body.payload.integrated_account;
    assert.equal(account.id, integrationId);
    assert.equal(account.provider, 'sandbox');
    assert.equal(account.authType, 'api_token');
    assert.equal(account.status, 'active');
    assert.equal(account.credentials.version, 2);
    assert.equal(account.credentials.accountId, accountId);
    assert.deepEqual(account.config, { syncContacts: true, fieldMappings: { email: 'Email' } });
    assert.equal(got.body.payload.reason, 'token rotation');
    const fromApi = await api(sys, 'GET', `/v1/integrations/${integrationId}`, { key: sys.keyA });
    // The integration object of the README (a snapshot: every field is one the API shows too).
    for (const k of ['id', 'provider', 'authType', 'displayName', 'status', 'statusReason', 'config', 'credentials', 'reauthorization', 'createdAt', 'updatedAt']) {
      assert.ok(k in account, `payload.integrated_account.${k} missing`);
    }
    for (const k of Object.keys(account)) assert.ok(k in fromApi.body, `payload.integrated_account.${k} is not in the integration object`);
    assert.deepEqual(account.credentials, fromApi.body.credentials);
    assert.equal(account.reauthorization, null);
    // No secret: neither the old nor the new token, nor anything sealed.
    for (const token of tokens) assert.equal(got.raw.includes(token), false, 'a token leaked into the webhook body');
    // (`refreshTokenExpiresAt` is an instant the integration object shows, not a token.)
    assert.equal(/apiToken|accessToken|refreshToken(?!ExpiresAt)|ciphertext|whsec_/.test(got.raw), false);

    // The delivery log shows it delivered at the first attempt.
    const log = await waitFor('delivery log', async () => {
      const d = (await deliveries(main.id)).find((x) => x.eventId === got.body.id);
      return d?.status === 'delivered' ? d : undefined;
    });
    assert.equal(log.event, 'integrated_account:reauthorized');
    assert.equal(log.attempts, 1);
    assert.equal(log.lastStatusCode, 200);
    assert.equal(log.lastError, null);
    assert.ok(log.deliveredAt && Date.parse(log.deliveredAt) >= Date.parse(log.createdAt));
    const wf = await sys.client.workflow.getHandle(`webhook:${got.body.id}:${main.id}`).result();
    assert.equal(wf.status, 'delivered');

    // Exactly once; nothing for the endpoint filtered to resync:completed, the deleted one, or tenant B.
    await sleep(1500);
    assert.equal(receiver.requests.filter((r) => r.body?.id === got.body.id && r.path === '/main').length, 1);
    assert.equal(receiver.about('/main', integrationId, 'integrated_account:reauthorized').length, 1);
    for (const path of ['/filtered', '/deleted', '/tenant-b']) {
      assert.deepEqual(receiver.requests.filter((r) => r.path === path), [], `${path} got a delivery`);
    }
    assert.deepEqual(await deliveries(filtered.id), []);
    const bLog = await api(sys, 'GET', `/v1/webhook-endpoints/${otherTenant.id}/deliveries`, { key: sys.keyB });
    assert.deepEqual(bLog.body, { data: [] });
    const deletedRows = await sys.pg.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1', [deleted.id]);
    assert.equal(deletedRows.rows[0].n, 0);

    // The dead endpoint got a delivery row for the same event, still being retried.
    const deadRow = await sys.pg.query('SELECT event_id, status FROM webhook_deliveries WHERE endpoint_id = $1', [dead.id]);
    assert.equal(deadRow.rows.length, 1);
    assert.equal(deadRow.rows[0].event_id, got.body.id);
    dead.eventId = got.body.id;

    // The signing secret is in no workflow history, not even decrypted.
    for (const id of [`webhook:${got.body.id}:${main.id}`, `reauth:${integrationId}`]) {
      const h = await decodedHistory(sys, id);
      assert.ok(h.includes(got.body.id), `history of ${id} was decoded`);
      for (const s of [main.secret, dead.secret]) assert.equal(h.includes(s.slice(6)), false, `history of ${id} contains a webhook secret`);
    }

    // Secrets never reach a log line.
    const logs = sys.logs.join('\n');
    for (const s of [main.secret, filtered.secret, dead.secret]) assert.equal(logs.includes(s.slice(6)), false, 'a webhook secret was logged');
  });

  test('a receiver that is down gets the event once it is back, with the same webhook-id on every attempt', async () => {
    let up = false;
    receiver.answer.set('/flaky', () => (up ? 204 : 503));
    const flaky = await createEndpoint(receiver.url('/flaky'), ['integrated_account:reauthorized']);
    const { integrationId } = await reauthorize();

    await waitFor('failed attempts', async () => receiver.about('/flaky', integrationId).length >= 2, 20_000);
    const pending = (await deliveries(flaky.id))[0];
    assert.equal(pending.status, 'pending');
    assert.equal(pending.lastStatusCode, 503);
    assert.match(pending.lastError ?? '', /503/);
    up = true;

    const log = await waitFor(
      'delivery after the receiver is back',
      async () => {
        const d = (await deliveries(flaky.id))[0];
        return d?.status === 'delivered' ? d : undefined;
      },
      20_000,
    );
    await sleep(2000);
    const attempts = receiver.about('/flaky', integrationId);
    assert.ok(attempts.length >= 3, `expected retries, got ${attempts.length} request(s)`);
    assert.equal(attempts.filter((r) => r.answered < 300).length, 1, 'delivered exactly once');
    assert.equal(attempts[attempts.length - 1].answered, 204);
    assert.equal(new Set(attempts.map((r) => r.headers['webhook-id'])).size, 1, 'webhook-id changed between attempts');
    assert.equal(attempts[0].headers['webhook-id'], log.eventId);
    assert.equal(new Set(attempts.map((r) => r.raw)).size, 1, 'the body changed between attempts');
    for (const r of attempts) new Webhook(flaky.secret).verify(r.raw, r.headers);
    assert.equal(log.attempts, attempts.length);
    assert.ok(log.attempts > 1);
    assert.equal(log.lastStatusCode, 204);
    assert.equal(log.lastError, null);
  });

  test('deleting an endpoint stops its deliveries, including one being retried', async () => {
    const port = await freePort();
    const gone = await createEndpoint(`${testPeerUrl(port)}/gone`, ['integrated_account:reauthorized']);
    await reauthorize();
    const retrying = await waitFor('a failed attempt', async () => {
      const d = (await deliveries(gone.id))[0];
      return d && d.attempts >= 1 ? d : undefined;
    });
    assert.equal(retrying.status, 'pending');
    assert.match(retrying.lastError ?? '', /could not reach the receiver/);
    assert.equal(retrying.lastStatusCode, null);

    assert.equal((await api(sys, 'DELETE', `/v1/webhook-endpoints/${gone.id}`, { key: sys.keyA })).status, 200);
    const row = await sys.pg.query('SELECT status, last_error FROM webhook_deliveries WHERE id = $1', [retrying.id]);
    assert.equal(row.rows[0].status, 'failed');
    assert.match(row.rows[0].last_error, /^endpoint deleted/);
    const result = await sys.client.workflow.getHandle(`webhook:${retrying.eventId}:${gone.id}`).result();
    assert.equal(result.status, 'failed');

    // The receiver comes up afterwards: nothing arrives.
    const late = await new Receiver().start(port);
    try {
      await reauthorize();
      await sleep(3000);
      assert.deepEqual(late.requests, []);
    } finally {
      await late.stop();
    }
    const count = await sys.pg.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1', [gone.id]);
    assert.equal(count.rows[0].n, 1);
  });

  test('a receiver that never answers: the delivery is marked failed when the retry window is over', async () => {
    assert.ok(dead?.eventId, 'the reauthorization test did not run');
    const row = await waitFor(
      'the retry window to close',
      async () => {
        const r = await sys.pg.query('SELECT status, attempts, last_error FROM webhook_deliveries WHERE endpoint_id = $1', [dead!.id]);
        return r.rows[0]?.status === 'failed' ? r.rows[0] : undefined;
      },
      (RETRY_WINDOW_SECONDS + 20) * 1000,
    );
    assert.ok(row.attempts >= 3, `only ${row.attempts} attempt(s)`);
    assert.match(row.last_error, /^gave up after retrying for 20 s; last error: could not reach the receiver/);
    // The delivery workflow fails too, so operators find it in the Temporal UI.
    await assert.rejects(sys.client.workflow.getHandle(`webhook:${dead.eventId}:${dead.id}`).result(), (err: any) => {
      assert.equal(err.name, 'WorkflowFailedError');
      assert.equal(err.cause?.type, 'webhook_delivery_failed');
      return true;
    });
  });
});
