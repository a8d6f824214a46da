import assert from 'node:assert/strict';
import { createSandboxCrm, SandboxCrm } from '../apps/sandbox-crm/sandbox-crm';
import type { RecordListResponse } from '../apps/sandbox-crm/api/crm-api.controller';
import type { RequestStats } from '../apps/sandbox-crm/stats/request-stats.service';

interface CreatedAccount {
  account: { id: string; name: string };
  user: { id: string; email: string; name: string };
  token: string;
}

interface ErrorBody {
  error: { code: string; message: string };
}

interface MeResponse {
  account: { id: string; name: string };
  user: { id: string; email: string; name: string };
  scopes: string[];
}

interface IssuedToken {
  token: string;
  accountId: string;
  userId: string;
  scopes: string[];
}

interface ApiResponse<T> {
  status: number;
  headers: Headers;
  json: T;
}

describe('sandbox-crm', () => {
  let sandbox: SandboxCrm;

  beforeAll(async () => {
    sandbox = await createSandboxCrm({ port: 0 });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(async () => {
    await admin('POST', '/admin/reset');
  });

  async function call<T = unknown>(
    method: string,
    path: string,
    init: { token?: string; body?: unknown; rawBody?: string } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined;
    if (init.rawBody !== undefined || init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = init.rawBody ?? JSON.stringify(init.body);
    }
    const response = await fetch(sandbox.url + path, { method, headers, body });
    return { status: response.status, headers: response.headers, json: (await response.json()) as T };
  }

  /** Admin calls are expected to succeed; fail loudly with the body if they don't. */
  async function admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await call<T>(method, path, { body });
    assert.ok(response.status < 300, `${method} ${path} -> ${response.status} ${JSON.stringify(response.json)}`);
    return response.json;
  }

  function createAccount(body: unknown = {}): Promise<CreatedAccount> {
    return admin<CreatedAccount>('POST', '/admin/accounts', body);
  }

  function assertError(response: ApiResponse<unknown>, status: number, code: string) {
    assert.equal(response.status, status, JSON.stringify(response.json));
    const { error } = response.json as ErrorBody;
    assert.equal(error.code, code);
    assert.equal(typeof error.message, 'string');
  }

  test('url reflects the real port when started on port 0', () => {
    assert.match(sandbox.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(sandbox.port, 0);
  });

  test('health answers ok', async () => {
    assert.deepEqual((await call('GET', '/health')).json, { status: 'ok' });
  });

  test('a new account token works on /me and identifies the account and user', async () => {
    const created = await createAccount({ name: 'Acme' });
    assert.match(created.account.id, /^acct_/);
    assert.match(created.user.id, /^usr_/);
    assert.match(created.token, /^sbx_[0-9a-f]{32}$/);

    const me = await call<MeResponse>('GET', '/api/v1/me', { token: created.token });
    assert.equal(me.status, 200);
    assert.deepEqual(me.json.account, { id: created.account.id, name: 'Acme' });
    assert.equal(me.json.user.id, created.user.id);
    assert.equal(me.json.user.email, created.user.email);
    assert.deepEqual(me.json.scopes, ['crm.read', 'crm.write']);

    const users = await call<{ data: Array<{ id: string }> }>('GET', '/api/v1/users', { token: created.token });
    assert.deepEqual(users.json.data.map((user) => user.id), [created.user.id]);

    const details = await admin<{ records: Record<string, number> }>('GET', `/admin/accounts/${created.account.id}`);
    assert.deepEqual(details.records, { contacts: 5, companies: 5, deals: 5 });
  });

  test('missing or unknown tokens answer 401 invalid_token', async () => {
    assertError(await call('GET', '/api/v1/me'), 401, 'invalid_token');
    assertError(await call('GET', '/api/v1/me', { token: 'sbx_' + '0'.repeat(32) }), 401, 'invalid_token');
  });

  test('a revoked token answers 401 invalid_token', async () => {
    const { token } = await createAccount();
    await admin('DELETE', `/admin/tokens/${token}`);
    assertError(await call('GET', '/api/v1/me', { token }), 401, 'invalid_token');
    assertError(await call('DELETE', `/admin/tokens/sbx_${'f'.repeat(32)}`), 404, 'token_not_found');
  });

  test("a removed user's token answers 401 user_removed; other users keep working", async () => {
    const { account, user, token } = await createAccount();
    const colleague = await admin<{ id: string }>('POST', `/admin/accounts/${account.id}/users`, { email: 'sam@example.com', name: 'Sam' });
    await admin('DELETE', `/admin/users/${user.id}`);

    assertError(await call('GET', '/api/v1/me', { token }), 401, 'user_removed');

    // With the first user gone, a default token goes to the next active user.
    const issued = await admin<IssuedToken>('POST', '/admin/tokens', { accountId: account.id });
    assert.equal(issued.userId, colleague.id);
    const me = await call<MeResponse>('GET', '/api/v1/me', { token: issued.token });
    assert.equal(me.json.user.email, 'sam@example.com');
  });

  test('token issuing validates its input', async () => {
    assertError(await call('POST', '/admin/tokens', { body: {} }), 400, 'invalid_request');
    assertError(await call('POST', '/admin/tokens', { body: { accountId: 'acct_missing' } }), 404, 'account_not_found');
  });

  test('pagination returns every record exactly once, in id order, ending with a null cursor', async () => {
    const { token } = await createAccount({ records: { contacts: 450 } });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '?limit=200' : `?limit=200&cursor=${encodeURIComponent(cursor)}`;
      const page = await call<RecordListResponse>('GET', `/api/v1/contacts${query}`, { token });
      assert.equal(page.status, 200);
      seen.push(...page.json.data.map((record) => record.id));
      cursor = page.json.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);

    assert.equal(pages, 3);
    assert.equal(seen.length, 450);
    assert.equal(new Set(seen).size, 450);
    assert.deepEqual(seen, [...seen].sort());
  });

  test('invalid limit or cursor answers 400, unknown entity 404', async () => {
    const { token } = await createAccount();
    assertError(await call('GET', '/api/v1/contacts?limit=0', { token }), 400, 'invalid_limit');
    assertError(await call('GET', '/api/v1/contacts?limit=201', { token }), 400, 'invalid_limit');
    assertError(await call('GET', '/api/v1/contacts?limit=ten', { token }), 400, 'invalid_limit');
    assertError(await call('GET', '/api/v1/contacts?cursor=garbage', { token }), 400, 'invalid_cursor');
    assertError(await call('GET', '/api/v1/widgets', { token }), 404, 'unknown_entity');
  });

  test('record edits are visible through the API with a newer updatedAt', async () => {
    const { account, token } = await createAccount({ records: { deals: 1 } });
    const before = (await call<RecordListResponse>('GET', '/api/v1/deals', { token })).json.data[0];
    const updated = await admin<Record<string, unknown>>('PATCH', `/admin/accounts/${account.id}/records/deals/${before.id}`, { stage: 'closed_won', amount: 42 });
    assert.equal(updated.stage, 'closed_won');

    const after = (await call<RecordListResponse>('GET', '/api/v1/deals', { token })).json.data[0];
    assert.equal(after.amount, 42);
    assert.ok(after.updatedAt > before.updatedAt);
  });

  test('an injected 429 with Retry-After fires for `count` requests, then requests succeed', async () => {
    const { token } = await createAccount();
    const fault = await call<{ id: string }>('POST', '/admin/faults', { body: { pathPrefix: '/api/v1/contacts', status: 429, count: 2, retryAfterSeconds: 7 } });
    assert.equal(fault.status, 201);
    assert.match(fault.json.id, /^flt_/);

    for (let attempt = 0; attempt < 2; attempt += 1) {
      const limited = await call('GET', '/api/v1/contacts?limit=1', { token });
      assertError(limited, 429, 'injected_fault');
      assert.equal(limited.headers.get('retry-after'), '7');
    }
    // Other paths were never affected; the faulted path recovers once the fault is used up.
    assert.equal((await call('GET', '/api/v1/me', { token })).status, 200);
    assert.equal((await call('GET', '/api/v1/contacts?limit=1', { token })).status, 200);
  });

  test('a delay-only fault slows the request but serves it normally', async () => {
    const { token } = await createAccount();
    await admin('POST', '/admin/faults', { pathPrefix: '/api/v1/me', delayMs: 150 });
    const started = Date.now();
    assert.equal((await call('GET', '/api/v1/me', { token })).status, 200);
    assert.ok(Date.now() - started >= 140);
  });

  test('bad JSON to the admin API answers 400 in the error shape', async () => {
    assertError(await call('POST', '/admin/accounts', { rawBody: '{"name": ' }), 400, 'invalid_json');
    assertError(await call('POST', '/admin/faults', { body: { pathPrefix: '/api', status: 'soon' } }), 400, 'invalid_request');
  });

  test('unknown routes answer 404 in the error shape', async () => {
    assertError(await call('GET', '/no/such/route'), 404, 'route_not_found');
    assertError(await call('POST', '/admin/nope', { body: {} }), 404, 'route_not_found');
  });

  test('stats count API requests by method and path, excluding admin traffic', async () => {
    const { token } = await createAccount();
    await admin('DELETE', '/admin/stats');
    await call('GET', '/api/v1/me', { token });
    await call('GET', '/api/v1/me', { token });
    await call('GET', '/api/v1/contacts?limit=2', { token });
    await call('GET', '/api/v1/contacts', { token });

    const stats = await admin<RequestStats>('GET', '/admin/stats');
    assert.deepEqual(stats.requests, { 'GET /api/v1/contacts': 2, 'GET /api/v1/me': 2 });
    assert.equal(stats.total, 4);

    await admin('DELETE', '/admin/stats');
    assert.deepEqual(await admin('GET', '/admin/stats'), { requests: {}, total: 0 });
  });
});
