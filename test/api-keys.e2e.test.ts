/**
 * A tenant's API keys over their life: created through the API (the key shown once, only its hash
 * stored), listed without the key, used (`lastUsedAt`, to the minute: not a write per request),
 * deleted (refused at once afterwards), never the tenant's last one; audited; and another tenant's
 * keys are out of reach like ids that do not exist.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { api, type ApiResponse, startSystem, type TestSystem } from './support/system';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

function assertError(res: ApiResponse, status: number, code: string, context: string): void {
  assert.equal(res.status, status, `${context}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(res.body ?? {}), ['error'], context);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message'], context);
  assert.equal(res.body.error.code, code, context);
}

describe('API keys', () => {
  let sys: TestSystem;
  let tenantA: string;
  let tenantB: string;

  const list = async (key: string) => {
    const res = await api(sys, 'GET', '/v1/api-keys', { key });
    assert.equal(res.status, 200, res.text);
    return res;
  };
  const create = async (key: string, body: unknown = {}) => {
    const res = await api(sys, 'POST', '/v1/api-keys', { key, body });
    assert.equal(res.status, 201, res.text);
    return res.body as { id: string; name: string | null; prefix: string; key: string; createdAt: string };
  };
  const idOf = async (key: string): Promise<string> => (await sys.pg.query('SELECT id FROM api_keys WHERE key_hash = $1', [sha256(key)])).rows[0].id;

  beforeAll(async () => {
    sys = await startSystem();
    tenantA = (await sys.pg.query(`SELECT id FROM tenants WHERE name = 'tenant-a'`)).rows[0].id;
    tenantB = (await sys.pg.query(`SELECT id FROM tenants WHERE name = 'tenant-b'`)).rows[0].id;
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test('the bootstrap key is listed with its prefix and last use, never the key or its hash', async () => {
    const res = await list(sys.keyA);
    assert.equal(res.body.data.length, 1);
    const [row] = res.body.data;
    assert.deepEqual(Object.keys(row).sort(), ['createdAt', 'id', 'lastUsedAt', 'name', 'prefix']);
    assert.equal(row.id, await idOf(sys.keyA));
    assert.equal(row.name, null);
    assert.equal(row.prefix, sys.keyA.slice(0, 6));
    // This very request used the key.
    assert.ok(Date.now() - Date.parse(row.lastUsedAt) < 60_000, row.lastUsedAt);
    assert.equal(res.text.includes(sys.keyA), false);
    assert.equal(res.text.includes(sha256(sys.keyA)), false);
  });

  test('POST creates a key, shown this once; it works at once, for its own tenant', async () => {
    const created = await create(sys.keyA, { name: '  CI pipeline ' });
    assert.deepEqual(Object.keys(created).sort(), ['createdAt', 'id', 'key', 'name', 'prefix']);
    assert.match(created.key, /^rk_[A-Za-z0-9_-]{32}$/);
    assert.equal(created.name, 'CI pipeline');
    assert.equal(created.prefix, created.key.slice(0, 6));
    assert.ok(Math.abs(Date.now() - Date.parse(created.createdAt)) < 60_000);

    // Stored as its hash only.
    const stored = (await sys.pg.query('SELECT * FROM api_keys WHERE id = $1', [created.id])).rows[0];
    assert.equal(stored.key_hash, sha256(created.key));
    assert.equal(stored.tenant_id, tenantA);
    assert.equal(JSON.stringify(stored).includes(created.key), false);

    // Listed (without the key), and nobody used it yet.
    const listed = await list(sys.keyA);
    const row = listed.body.data.find((k: { id: string }) => k.id === created.id);
    assert.deepEqual(row, { id: created.id, name: 'CI pipeline', prefix: created.prefix, createdAt: created.createdAt, lastUsedAt: null });
    assert.equal(listed.text.includes(created.key), false);
    assert.equal(listed.text.includes(sha256(created.key)), false);

    // It authenticates as tenant A.
    const viaNew = await api(sys, 'GET', '/v1/api-keys', { key: created.key });
    assert.equal(viaNew.status, 200);
    assert.deepEqual(viaNew.body.data.map((k: { id: string }) => k.id).sort(), listed.body.data.map((k: { id: string }) => k.id).sort());
    assert.equal((await list(sys.keyB)).body.data.some((k: { id: string }) => k.id === created.id), false, "B sees A's key");

    // Without a body or a name: no name. A second key never repeats the first.
    const unnamed = await create(sys.keyA, undefined);
    assert.equal(unnamed.name, null);
    assert.notEqual(unnamed.key, created.key);
  });

  test('a bad name is a 400 and creates nothing', async () => {
    const before = (await sys.pg.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n;
    for (const body of [{ name: 5 }, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 'ok', key: 'rk_chosen_by_client_0123456789' }, { tenantId: tenantB }]) {
      assertError(await api(sys, 'POST', '/v1/api-keys', { key: sys.keyA, body }), 400, 'validation_error', JSON.stringify(body));
    }
    assert.equal((await sys.pg.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n, before);
  });

  test('lastUsedAt is set by the first use and kept to the minute: later uses write nothing', async () => {
    const created = await create(sys.keyA, { name: 'usage' });
    const lastUsed = async () => (await sys.pg.query('SELECT last_used_at FROM api_keys WHERE id = $1', [created.id])).rows[0].last_used_at as Date | null;
    assert.equal(await lastUsed(), null);
    assert.equal((await api(sys, 'GET', '/v1/providers', { key: created.key })).status, 200);
    const first = await lastUsed();
    assert.ok(first instanceof Date && Date.now() - first.getTime() < 30_000, String(first));
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 10; i++) assert.equal((await api(sys, 'GET', '/v1/providers', { key: created.key })).status, 200);
    assert.equal((await lastUsed())?.getTime(), first.getTime(), 'lastUsedAt rewritten within the minute');
    const row = (await list(sys.keyA)).body.data.find((k: { id: string }) => k.id === created.id);
    assert.equal(Date.parse(row.lastUsedAt), first.getTime());
  });

  test('DELETE revokes at once: 204, then the key is a 401 and is no longer listed; deleting it again is a 404', async () => {
    const created = await create(sys.keyA, { name: 'short-lived' });
    assert.equal((await api(sys, 'GET', '/v1/integrations', { key: created.key })).status, 200);
    const deleted = await api(sys, 'DELETE', `/v1/api-keys/${created.id}`, { key: sys.keyA });
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal(deleted.text, '');
    assertError(await api(sys, 'GET', '/v1/integrations', { key: created.key }), 401, 'unauthorized', 'deleted key');
    assert.equal((await list(sys.keyA)).body.data.some((k: { id: string }) => k.id === created.id), false);
    assertError(await api(sys, 'DELETE', `/v1/api-keys/${created.id}`, { key: sys.keyA }), 404, 'not_found', 'deleted twice');
    // The row stays, revoked, for the audit trail.
    const stored = (await sys.pg.query('SELECT revoked_at FROM api_keys WHERE id = $1', [created.id])).rows[0];
    assert.ok(stored.revoked_at instanceof Date);

    // A key may delete itself (another key is left); its next request is refused.
    const selfDeleting = await create(sys.keyA, { name: 'self' });
    assert.equal((await api(sys, 'DELETE', `/v1/api-keys/${selfDeleting.id.toUpperCase()}`, { key: selfDeleting.key })).status, 204);
    assertError(await api(sys, 'GET', '/v1/api-keys', { key: selfDeleting.key }), 401, 'unauthorized', 'self-deleted key');
  });

  test("another tenant's key id is a 404 like an unknown one, and the key keeps working", async () => {
    const ofA = await create(sys.keyA, { name: 'A only' });
    const byB = await api(sys, 'DELETE', `/v1/api-keys/${ofA.id}`, { key: sys.keyB });
    assertError(byB, 404, 'not_found', "B deletes A's key");
    const unknown = await api(sys, 'DELETE', `/v1/api-keys/${randomUUID()}`, { key: sys.keyB });
    assert.deepEqual(byB.body, unknown.body, "the answer reveals that A's key exists");
    assert.equal(byB.text.includes('A only'), false);
    for (const raw of ['not-a-uuid', '1;DROP TABLE api_keys', '%20']) assertError(await api(sys, 'DELETE', `/v1/api-keys/${raw}`, { key: sys.keyB }), 404, 'not_found', raw);
    assert.equal((await api(sys, 'GET', '/v1/providers', { key: ofA.key })).status, 200);
    assert.equal((await sys.pg.query('SELECT revoked_at FROM api_keys WHERE id = $1', [ofA.id])).rows[0].revoked_at, null);
    // B's listing never shows A's keys.
    const listedB = await list(sys.keyB);
    assert.deepEqual(listedB.body.data.map((k: { id: string }) => k.id), [await idOf(sys.keyB)]);
  });

  test('create and delete are audited, naming the key that did it and never the key itself', async () => {
    const created = await create(sys.keyA, { name: 'audited' });
    assert.equal((await api(sys, 'DELETE', `/v1/api-keys/${created.id}`, { key: sys.keyA })).status, 204);
    const events = (
      await sys.pg.query(
        `SELECT tenant_id, integration_id, type, data, actor_kind, actor_id FROM audit_events WHERE data->>'apiKeyId' = $1 ORDER BY created_at`,
        [created.id],
      )
    ).rows;
    const actor = await idOf(sys.keyA);
    const data = { apiKeyId: created.id, prefix: created.prefix, name: 'audited' };
    assert.deepEqual(events, [
      { tenant_id: tenantA, integration_id: null, type: 'api_key.created', data, actor_kind: 'api_key', actor_id: actor },
      { tenant_id: tenantA, integration_id: null, type: 'api_key.deleted', data, actor_kind: 'api_key', actor_id: actor },
    ]);
    // The console labels its calls; the actor is still the key it signed in with.
    const viaConsole = await api(sys, 'POST', '/v1/api-keys', { key: sys.keyA, body: { name: 'from the console' }, headers: { 'x-reauth-client': 'console' } });
    assert.equal(viaConsole.status, 201);
    const consoleEvent = (await sys.pg.query(`SELECT actor_kind, actor_id FROM audit_events WHERE data->>'apiKeyId' = $1`, [viaConsole.body.id])).rows;
    assert.deepEqual(consoleEvent, [{ actor_kind: 'console', actor_id: actor }]);
    const all = JSON.stringify((await sys.pg.query(`SELECT * FROM audit_events WHERE type LIKE 'api_key.%'`)).rows);
    assert.equal(all.includes(created.key), false);
    assert.equal(all.includes(sha256(created.key)), false);
  });

  test('the OpenAPI document describes the three operations', async () => {
    const doc = await api(sys, 'GET', '/docs-json');
    assert.equal(doc.status, 200);
    assert.deepEqual(Object.keys(doc.body.paths['/v1/api-keys']).sort(), ['get', 'post']);
    assert.deepEqual(Object.keys(doc.body.paths['/v1/api-keys/{id}']), ['delete']);
    assert.ok(doc.body.paths['/v1/api-keys/{id}'].delete.responses['409'], 'the 409 is documented');
    assert.ok(doc.body.components.schemas.CreateApiKeyDto.properties.name, 'the body is documented');
  });

  test('a tenant holds at most 25 live keys: one more is a 409 too_many_api_keys, and deleting one makes room', async () => {
    const liveOfA = async () => (await sys.pg.query('SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL', [tenantA])).rows[0].n as number;
    const made: Array<{ id: string }> = [];
    while ((await liveOfA()) < 25) made.push(await create(sys.keyA, { name: `fill-${made.length}` }));
    assertError(await api(sys, 'POST', '/v1/api-keys', { key: sys.keyA, body: { name: 'one too many' } }), 409, 'too_many_api_keys', '26th key');
    assert.equal(await liveOfA(), 25, 'nothing was created');
    assert.equal((await api(sys, 'DELETE', `/v1/api-keys/${made.pop()!.id}`, { key: sys.keyA })).status, 204);
    made.push(await create(sys.keyA, { name: 'after a delete' }));
    for (const k of made) assert.equal((await api(sys, 'DELETE', `/v1/api-keys/${k.id}`, { key: sys.keyA })).status, 204);
  });

  test("the tenant's last live key cannot be deleted (409 last_api_key), not even by two deletions at once", async () => {
    const keyBId = await idOf(sys.keyB);
    assertError(await api(sys, 'DELETE', `/v1/api-keys/${keyBId}`, { key: sys.keyB }), 409, 'last_api_key', 'last key');
    assert.equal((await api(sys, 'GET', '/v1/providers', { key: sys.keyB })).status, 200);

    // Two keys, each deleting the other at the same moment: one wins; the other is then the last key
    // (409), or already deleted when its own request is checked (401). Never are both gone.
    const second = await create(sys.keyB, { name: 'second' });
    const [bySecond, byFirst] = await Promise.all([
      api(sys, 'DELETE', `/v1/api-keys/${keyBId}`, { key: second.key }),
      api(sys, 'DELETE', `/v1/api-keys/${second.id}`, { key: sys.keyB }),
    ]);
    const statuses = [bySecond.status, byFirst.status];
    assert.equal(statuses.filter((s) => s === 204).length, 1, `${bySecond.text} ${byFirst.text}`);
    assert.ok(statuses.includes(409) || statuses.includes(401), `${bySecond.text} ${byFirst.text}`);
    const survivor = byFirst.status === 204 ? sys.keyB : second.key;
    const live = (await sys.pg.query('SELECT id FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL', [tenantB])).rows;
    assert.equal(live.length, 1);
    assert.equal(live[0].id, await idOf(survivor));
    assert.equal((await api(sys, 'GET', '/v1/providers', { key: survivor })).status, 200);
    assertError(await api(sys, 'DELETE', `/v1/api-keys/${live[0].id}`, { key: survivor }), 409, 'last_api_key', 'survivor');
  });
});
