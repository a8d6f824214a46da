/**
 * Bad input, end to end against the real system: every bad request is a 4xx whose body is exactly
 * `{"error":{"code":"snake_case","message":"…"}}`, never a 5xx, and nothing is half
 * written — row counts in Postgres are the same before and after.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { api, type ApiResponse, connectedIntegration, sandboxAccount, startSystem, type TestSystem } from './support/system';

const TABLES = ['tenants', 'api_keys', 'integrations', 'credential_versions', 'reauthorizations', 'audit_events'] as const;
type Counts = Record<(typeof TABLES)[number], number>;

/** The one error shape: exactly `{error:{code,message}}`, code in snake_case. */
function assertErrorShape(res: ApiResponse, context = ''): void {
  const where = `${context} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.ok(res.body && typeof res.body === 'object' && !Array.isArray(res.body), `error body is not a JSON object: ${where}`);
  assert.deepEqual(Object.keys(res.body), ['error'], `error body keys: ${where}`);
  assert.ok(res.body.error && typeof res.body.error === 'object', `error is not an object: ${where}`);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message'], `error keys: ${where}`);
  assert.equal(typeof res.body.error.code, 'string', where);
  assert.match(res.body.error.code, /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/, `code is not snake_case: ${where}`);
  assert.equal(typeof res.body.error.message, 'string', where);
  assert.ok(res.body.error.message.length > 0, `empty message: ${where}`);
}

/** A 4xx with the error shape, and the expected status/code when given. */
function assertApiError(res: ApiResponse, status: number, code?: string, context = ''): void {
  assert.equal(res.status, status, `${context}: expected ${status}${code ? ` ${code}` : ''}, got ${res.status} ${res.text.slice(0, 300)}`);
  assertErrorShape(res, context);
  if (code) assert.equal(res.body.error.code, code, `${context}: ${res.text.slice(0, 300)}`);
}

/** Fails on anything that is not a 4xx with the error shape; returns the code. */
function assertClientError(res: ApiResponse, context = ''): string {
  assert.ok(res.status >= 400 && res.status < 500, `${context}: expected a 4xx, got ${res.status} ${res.text.slice(0, 300)}`);
  assertErrorShape(res, context);
  return res.body.error.code;
}

/** Sends exactly these bytes with exactly these headers (no default content-type). */
async function rawRequest(sys: TestSystem, method: string, pathname: string, body: string | Uint8Array | undefined, headers: Record<string, string>) {
  const res = await fetch(`${sys.apiUrl}${pathname}`, { method, headers: { authorization: `Bearer ${sys.keyA}`, ...headers }, body });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text } as ApiResponse;
}

describe('bad input is a 4xx with the error shape, and writes nothing', () => {
  let sys: TestSystem;
  /** Tenant A's connected integration with a reauthorization awaiting the user. */
  let integrationId: string;
  let reauthId: string;
  let integrationRow: Record<string, unknown>;
  let reauthRow: Record<string, unknown>;

  const counts = async (): Promise<Counts> => {
    const out = {} as Counts;
    for (const t of TABLES) out[t] = (await sys.pg.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
    return out;
  };
  /** Runs `fn` and checks that no table gained or lost a row and the fixture rows are untouched. */
  const writesNothing = async (fn: () => Promise<void>) => {
    const before = await counts();
    await fn();
    assert.deepEqual(await counts(), before, 'row counts changed');
    assert.deepEqual((await sys.pg.query('SELECT * FROM integrations WHERE id = $1', [integrationId])).rows[0], integrationRow);
    assert.deepEqual((await sys.pg.query('SELECT * FROM reauthorizations WHERE id = $1', [reauthId])).rows[0], reauthRow);
  };

  beforeAll(async () => {
    sys = await startSystem();
    const { integration } = await connectedIntegration(sys);
    integrationId = integration.id;
    const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    reauthId = started.body.id;
    // Let the workflow's first writes settle before snapshots are taken.
    await new Promise((r) => setTimeout(r, 500));
    integrationRow = (await sys.pg.query('SELECT * FROM integrations WHERE id = $1', [integrationId])).rows[0];
    reauthRow = (await sys.pg.query('SELECT * FROM reauthorizations WHERE id = $1', [reauthId])).rows[0];
    assert.equal(reauthRow.phase, 'awaiting_user');
  });
  afterAll(async () => {
    await sys?.stop();
  });

  test('malformed JSON is 400 invalid_json on every route that takes a body', async () => {
    const routes: Array<[string, string]> = [
      ['POST', '/v1/integrations'],
      ['PATCH', `/v1/integrations/${integrationId}`],
      ['POST', `/v1/integrations/${integrationId}/reauthorizations`],
      ['POST', `/v1/reauthorizations/${reauthId}/api-token`],
      ['POST', `/v1/reauthorizations/${reauthId}/cancel`],
    ];
    const malformed = ['{bad', '{"provider":', "{'provider':'sandbox'}", '{"provider":"sandbox",}', '{"apiToken":"x"}garbage', 'NaN', '{"a":undefined}', '\u0000'];
    await writesNothing(async () => {
      for (const [method, path] of routes) {
        for (const body of malformed) {
          assertApiError(await api(sys, method, path, { key: sys.keyA, body }), 400, 'invalid_json', `${method} ${path} ${JSON.stringify(body)}`);
        }
      }
    });
  });

  test('JSON that is not an object (array, null, number, string, boolean) is a 400', async () => {
    const routes: Array<[string, string]> = [
      ['POST', '/v1/integrations'],
      ['PATCH', `/v1/integrations/${integrationId}`],
      ['POST', `/v1/integrations/${integrationId}/reauthorizations`],
      ['POST', `/v1/reauthorizations/${reauthId}/api-token`],
      ['POST', `/v1/reauthorizations/${reauthId}/cancel`],
    ];
    const values = ['[]', '[{"provider":"sandbox"}]', `[{"apiToken":"x"}]`, 'null', '5', '-1.5', '"sandbox"', 'true', 'false'];
    await writesNothing(async () => {
      for (const [method, path] of routes) {
        for (const body of values) {
          const res = await api(sys, method, path, { key: sys.keyA, body });
          assertApiError(res, 400, undefined, `${method} ${path} ${body}`);
          assert.ok(['validation_error', 'invalid_json'].includes(res.body.error.code), res.text);
        }
      }
    });
  });

  test('POST /v1/integrations: missing provider, wrong types and unknown fields are 400', async () => {
    const bodies: unknown[] = [
      {},
      { displayName: 'x' },
      { provider: 5 },
      { provider: null },
      { provider: ['sandbox'] },
      { provider: { key: 'sandbox' } },
      { provider: '' },
      { provider: 'Sandbox CRM!' },
      { provider: 'x'.repeat(100) },
      { provider: 'sandbox', config: 'x' },
      { provider: 'sandbox', config: 5 },
      { provider: 'sandbox', config: [] },
      { provider: 'sandbox', credentials: [] },
      { provider: 'sandbox', credentials: 'x' },
      { provider: 'sandbox', credentials: {} },
      { provider: 'sandbox', credentials: { apiToken: 5 } },
      { provider: 'sandbox', credentials: { apiToken: '' } },
      { provider: 'sandbox', credentials: { apiToken: 'has space' } },
      { provider: 'sandbox', credentials: { apiToken: 'line\nbreak' } },
      { provider: 'sandbox', credentials: { apiToken: 'unicodé' } },
      { provider: 'sandbox', credentials: { apiToken: 'x'.repeat(4097) } },
      { provider: 'sandbox', credentials: { apiToken: 'sbx_x', bogus: 1 } },
      { provider: 'sandbox', credentials: { accessToken: 'only-oauth' } },
      { provider: 'sandbox', credentials: { apiToken: 'sbx_x', expiresAt: 'tomorrow' } },
      { provider: 'sandbox', credentials: { apiToken: 'sbx_x', scopes: 'a' } },
      { provider: 'sandbox', requiredScopes: 'a' },
      { provider: 'sandbox', requiredScopes: [1] },
      { provider: 'sandbox', requiredScopes: [null] },
      { provider: 'sandbox', requiredScopes: ['x'.repeat(201)] },
      { provider: 'sandbox', displayName: '' },
      { provider: 'sandbox', displayName: 5 },
      { provider: 'sandbox', displayName: 'x'.repeat(201) },
      { provider: 'sandbox', region: 5 },
      { provider: 'sandbox', region: 'x'.repeat(65) },
      { provider: 'sandbox', foo: 1 },
      { provider: 'sandbox', id: randomUUID() },
      { provider: 'sandbox', status: 'active' },
      { provider: 'sandbox', tenantId: randomUUID() },
      { provider: 'sandbox', credentialVersion: 7 },
      // Strings Postgres cannot store, and nesting deeper than any config needs.
      { provider: 'sandbox', displayName: 'nul\u0000byte' },
      { provider: 'sandbox', config: { key: 'nul\u0000byte' } },
      { provider: 'sandbox', config: { 'nul\u0000key': 1 } },
      { provider: 'sandbox', requiredScopes: ['a\u0000'] },
      { provider: 'sandbox', region: 'eu\u0000' },
    ];
    const raw = [
      '{"provider":"sandbox","config":{"a":"\\ud800"}}', // unpaired surrogate: not storable in jsonb
      '{"provider":"sandbox","displayName":"\\udfff"}',
      `{"provider":"sandbox","config":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`,
      `{"provider":"sandbox","config":${'{"a":'.repeat(50000)}1${'}'.repeat(50000)}}`,
    ];
    await writesNothing(async () => {
      for (const body of bodies) {
        assertApiError(await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body }), 400, 'validation_error', JSON.stringify(body).slice(0, 200));
      }
      for (const body of raw) {
        assertApiError(await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body }), 400, 'validation_error', body.slice(0, 80));
      }
    });
  });

  test('an unknown provider is 422 unknown_provider and creates nothing', async () => {
    await writesNothing(async () => {
      for (const provider of ['nope', 'hubspot-but-not-really', 'sandbox2']) {
        const res = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider } });
        assertApiError(res, 422, 'unknown_provider', provider);
        assert.ok(res.body.error.message.includes(provider));
      }
      const withCreds = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'nope', credentials: { apiToken: 'sbx_x' } } });
      assertApiError(withCreds, 422, 'unknown_provider');
    });
  });

  test('credentials with an invalid token are 422 invalid_credentials and create no integration', async () => {
    await writesNothing(async () => {
      for (const apiToken of ['sbx_not_a_real_token', 'x', 'Bearer_abc']) {
        const res = await api(sys, 'POST', '/v1/integrations', {
          key: sys.keyA,
          body: { provider: 'sandbox', displayName: 'Should not exist', config: { a: 1 }, credentials: { apiToken } },
        });
        assertApiError(res, 422, 'invalid_credentials', apiToken);
        assert.equal(res.text.includes(apiToken), false, 'the token is echoed back');
      }
    });
    const named = await sys.pg.query(`SELECT count(*)::int AS n FROM integrations WHERE display_name = 'Should not exist'`);
    assert.equal(named.rows[0].n, 0);
    // The valid token of a real account still works afterwards (nothing was left locked or half-made).
    const acct = await sandboxAccount(sys, 'After failures');
    const ok = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'sandbox', credentials: { apiToken: acct.token } } });
    assert.equal(ok.status, 201, ok.text);
  });

  test('unknown ids (random uuids, non-uuids, other kinds of ids) are 404 not_found on every route', async () => {
    const ids = [
      randomUUID(),
      '00000000-0000-0000-0000-000000000000',
      'abc',
      '../../etc',
      '..%2F..%2Fetc',
      '1;DROP',
      "1'; DROP TABLE integrations; --",
      'null',
      'undefined',
      '0',
      '-1',
      randomUUID().toUpperCase(),
      `${randomUUID()}x`,
      ' ',
      'x'.repeat(2000),
    ];
    await writesNothing(async () => {
      for (const raw of ids) {
        const id = encodeURIComponent(raw);
        const checks: Array<[string, string, unknown]> = [
          ['GET', `/v1/integrations/${id}`, undefined],
          ['PATCH', `/v1/integrations/${id}`, { displayName: 'renamed' }],
          ['POST', `/v1/integrations/${id}/reauthorizations`, {}],
          ['GET', `/v1/reauthorizations/${id}`, undefined],
          ['POST', `/v1/reauthorizations/${id}/api-token`, { apiToken: 'sbx_some_token' }],
          ['POST', `/v1/reauthorizations/${id}/cancel`, {}],
        ];
        for (const [method, path, body] of checks) {
          assertApiError(await api(sys, method, path, { key: sys.keyA, body }), 404, 'not_found', `${method} ${path.slice(0, 120)}`);
        }
      }
      // The same ids unencoded: the URL may normalise them into another (unknown) route — still a 404.
      for (const raw of ['../../etc', '..', '.', '1;DROP']) {
        for (const path of [`/v1/integrations/${raw}/reauthorizations`, `/v1/reauthorizations/${raw}/cancel`]) {
          const res = await api(sys, 'POST', path, { key: sys.keyA, body: {} });
          assertApiError(res, 404, 'not_found', path);
        }
      }
      // A real id of the wrong kind is unknown as well.
      assertApiError(await api(sys, 'GET', `/v1/reauthorizations/${integrationId}`, { key: sys.keyA }), 404, 'not_found');
      assertApiError(await api(sys, 'POST', `/v1/reauthorizations/${integrationId}/cancel`, { key: sys.keyA, body: {} }), 404, 'not_found');
      assertApiError(await api(sys, 'GET', `/v1/integrations/${reauthId}`, { key: sys.keyA }), 404, 'not_found');
      assertApiError(await api(sys, 'POST', `/v1/integrations/${reauthId}/reauthorizations`, { key: sys.keyA, body: {} }), 404, 'not_found');
    });
  });

  test('a malformed percent-encoding in an id is a 4xx, not a 5xx', async () => {
    await writesNothing(async () => {
      for (const path of ['/v1/integrations/%ZZ', '/v1/reauthorizations/%E0%A4%A/cancel', '/v1/integrations/%']) {
        assertClientError(await api(sys, 'GET', path, { key: sys.keyA }), path);
      }
    });
  });

  test('unknown routes and methods are 404 not_found', async () => {
    await writesNothing(async () => {
      const checks: Array<[string, string, unknown]> = [
        ['GET', '/v1/nope', undefined],
        ['GET', '/v2/integrations', undefined],
        ['POST', '/v1/integrations/x/y/z', {}],
        // (DELETE /v1/integrations/:id exists: it deletes the integration, covered by test/lifecycle.e2e.test.ts.)
        ['DELETE', `/v1/integrations/${integrationId}/reauthorizations`, undefined],
        ['PUT', `/v1/integrations/${integrationId}`, { displayName: 'x' }],
        ['DELETE', `/v1/reauthorizations/${reauthId}`, undefined],
        ['GET', `/v1/reauthorizations/${reauthId}/cancel`, undefined],
        ['GET', '/nope', undefined],
      ];
      for (const [method, path, body] of checks) {
        assertApiError(await api(sys, method, path, { key: sys.keyA, body }), 404, 'not_found', `${method} ${path}`);
      }
    });
  });

  test('a missing or invalid API key is 401 unauthorized, on every route, and changes nothing', async () => {
    const routes: Array<[string, string, unknown]> = [
      ['GET', '/v1/integrations', undefined],
      ['POST', '/v1/integrations', { provider: 'sandbox' }],
      ['GET', `/v1/integrations/${integrationId}`, undefined],
      ['PATCH', `/v1/integrations/${integrationId}`, { displayName: 'hijacked' }],
      ['POST', `/v1/integrations/${integrationId}/reauthorizations`, {}],
      ['GET', `/v1/reauthorizations/${reauthId}`, undefined],
      ['POST', `/v1/reauthorizations/${reauthId}/api-token`, { apiToken: 'sbx_x' }],
      ['POST', `/v1/reauthorizations/${reauthId}/cancel`, {}],
      ['GET', '/v1/providers', undefined],
    ];
    const badAuth: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer wrong-key-0123456789' },
      { authorization: `Bearer ${sys.keyA}x` },
      { authorization: `Bearer ${sys.keyA.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`${sys.keyA}:`).toString('base64')}` },
      { authorization: sys.keyA },
      { authorization: `Bearer ${sys.keyA} ${sys.keyA}` },
      { authorization: `Token ${sys.keyA}` },
      { 'x-api-key': sys.keyA },
    ];
    await writesNothing(async () => {
      for (const [method, path, body] of routes) {
        for (const headers of badAuth) {
          const res = await api(sys, method, path, { key: null, body, headers });
          assertApiError(res, 401, 'unauthorized', `${method} ${path} ${JSON.stringify(headers).slice(0, 60)}`);
          assert.equal(res.text.includes(sys.keyA), false, 'the key is echoed back');
        }
      }
    });
  });

  test('reauthorization options out of range or of the wrong type are 400', async () => {
    const bodies: unknown[] = [
      { expiresInSeconds: 0 },
      { expiresInSeconds: 9 },
      { expiresInSeconds: -1 },
      { expiresInSeconds: 30 * 24 * 3600 + 1 },
      { expiresInSeconds: 1e12 },
      { expiresInSeconds: 15.5 },
      { expiresInSeconds: '60' },
      { expiresInSeconds: true },
      { expiresInSeconds: [60] },
      { fullResync: 'yes' },
      { fullResync: 1 },
      { scopes: 'contacts' },
      { scopes: [1] },
      { scopes: ['x'.repeat(201)] },
      { region: 5 },
      { region: 'x'.repeat(65) },
      { reason: 5 },
      { reason: 'x'.repeat(501) },
      { reason: 'nul\u0000' },
      { allowAccountChange: 'true' },
      { unknownOption: true },
      { integrationId: integrationId },
    ];
    await writesNothing(async () => {
      for (const body of bodies) {
        const res = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body });
        assertApiError(res, 400, 'validation_error', JSON.stringify(body).slice(0, 100));
      }
    });
  });

  test('API-token submission: empty, missing, wrong type or unsendable tokens are 400; the reauthorization keeps waiting', async () => {
    const bodies: unknown[] = [
      { apiToken: '' },
      {},
      { apiToken: null },
      { apiToken: 5 },
      { apiToken: ['sbx_x'] },
      { apiToken: { value: 'x' } },
      { apiToken: ' ' },
      { apiToken: 'two words' },
      { apiToken: 'tab\there' },
      { apiToken: 'new\nline' },
      { apiToken: 'nul\u0000' },
      { apiToken: 'ünïcödé' },
      { apiToken: 'x'.repeat(4097) },
      { apiToken: 'sbx_x', extra: true },
      { token: 'sbx_x' },
    ];
    await writesNothing(async () => {
      for (const body of bodies) {
        const res = await api(sys, 'POST', `/v1/reauthorizations/${reauthId}/api-token`, { key: sys.keyA, body });
        assertApiError(res, 400, 'validation_error', JSON.stringify(body).slice(0, 100));
      }
      for (const body of [{ reason: 5 }, { reason: 'x'.repeat(501) }, { force: true }]) {
        assertApiError(await api(sys, 'POST', `/v1/reauthorizations/${reauthId}/cancel`, { key: sys.keyA, body }), 400, 'validation_error', JSON.stringify(body));
      }
    });
    const status = await api(sys, 'GET', `/v1/reauthorizations/${reauthId}`, { key: sys.keyA });
    assert.equal(status.status, 200);
    assert.equal(status.body.phase, 'awaiting_user');
    assert.equal(status.body.outcome, null);
    assert.equal(status.body.attempts, 0);
  });

  test('PATCH with wrong types or read-only fields is 400 and changes nothing', async () => {
    const bodies: unknown[] = [
      { displayName: '' },
      { displayName: 5 },
      { displayName: null },
      { displayName: 'x'.repeat(201) },
      { config: null },
      { config: 'x' },
      { config: [] },
      { config: 5 },
      { provider: 'other' },
      { status: 'disabled' },
      { credentials: { apiToken: 'sbx_x' } },
      { id: randomUUID() },
      { config: { mapping: 'nul\u0000' } },
    ];
    await writesNothing(async () => {
      for (const body of bodies) {
        const res = await api(sys, 'PATCH', `/v1/integrations/${integrationId}`, { key: sys.keyA, body });
        assertApiError(res, 400, 'validation_error', JSON.stringify(body));
      }
    });
  });

  test('a body that is not JSON (text/plain, a form, XML, no content type) is 415 on /v1, and a huge body is 413', async () => {
    await writesNothing(async () => {
      const cases: Array<[string, string | Uint8Array, Record<string, string>]> = [
        ['/v1/integrations', '{"provider":"sandbox"}', { 'content-type': 'text/plain' }],
        ['/v1/integrations', 'provider=sandbox', { 'content-type': 'application/x-www-form-urlencoded' }],
        ['/v1/integrations', '<provider>sandbox</provider>', { 'content-type': 'application/xml' }],
        ['/v1/integrations', '--b\r\nContent-Disposition: form-data; name="provider"\r\n\r\nsandbox\r\n--b--\r\n', { 'content-type': 'multipart/form-data; boundary=b' }],
        ['/v1/integrations', new TextEncoder().encode('{"provider":"sandbox"}'), {}],
        [`/v1/reauthorizations/${reauthId}/api-token`, 'apiToken=sbx_x', { 'content-type': 'application/x-www-form-urlencoded' }],
        [`/v1/reauthorizations/${reauthId}/cancel`, 'please', { 'content-type': 'text/plain' }],
        [`/v1/integrations/${integrationId}/reauthorizations`, 'fullResync=true', { 'content-type': 'application/x-www-form-urlencoded' }],
      ];
      for (const [path, body, headers] of cases) {
        assertApiError(await rawRequest(sys, 'POST', path, body, headers), 415, 'unsupported_media_type', `${path} ${JSON.stringify(headers)}`);
      }
      assertApiError(
        await rawRequest(sys, 'PATCH', `/v1/integrations/${integrationId}`, 'displayName=x', { 'content-type': 'application/x-www-form-urlencoded' }),
        415,
        'unsupported_media_type',
      );
      const huge = JSON.stringify({ provider: 'sandbox', config: { blob: 'x'.repeat(2 * 1024 * 1024) } });
      assertApiError(await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: huge }), 413, 'payload_too_large');
    });
    // A POST without a body needs no content type (e.g. `curl -X POST …/cancel`): it reaches the route.
    const noBody = await rawRequest(sys, 'POST', `/v1/integrations/${randomUUID()}/reauthorizations`, undefined, {});
    assertApiError(noBody, 404, 'not_found');
  });

  describe('property: arbitrary JSON bodies never cause a 5xx', () => {
    afterAll(() => {
      for (const [k, n] of [...tally].sort()) console.log(`# ${n}\t${k}`);
    });
    /** Values that look like the DTOs, so the validators (not just the object check) are exercised. */
    const anyValue = fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
      fc.anything({ maxDepth: 2, withNullPrototype: true }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.integer(),
    );
    /**
     * A field of a DTO-like body: mostly absent or valid, sometimes anything at all — so that many
     * bodies pass validation and reach the services, and the rest probe one validator at a time.
     */
    const field = (valid: fc.Arbitrary<unknown>) =>
      fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: valid, weight: 3 }, { arbitrary: anyValue, weight: 1 });
    const text = (maxLength: number) => fc.string({ unit: 'binary', minLength: 1, maxLength });
    const config = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), { maxKeys: 4 });
    const scopes = fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 });
    const createBody = fc.oneof(
      { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 1 },
      { arbitrary: fc.anything({ maxDepth: 3 }), weight: 1 },
      {
        arbitrary: fc.record({
          provider: fc.oneof({ arbitrary: fc.constant('sandbox'), weight: 6 }, { arbitrary: fc.constant('nope'), weight: 1 }, { arbitrary: anyValue, weight: 1 }),
          displayName: field(text(60)),
          region: field(fc.string({ maxLength: 20 })),
          config: field(config),
          requiredScopes: field(scopes),
          credentials: fc.oneof(
            { arbitrary: fc.constant(undefined), weight: 6 },
            { arbitrary: fc.record({ apiToken: fc.stringMatching(/^[\x21-\x7e]{1,30}$/) }), weight: 1 },
            { arbitrary: fc.record({ apiToken: anyValue, accessToken: anyValue, expiresAt: anyValue }, { requiredKeys: [] }), weight: 1 },
          ),
          extra: fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: anyValue, weight: 1 }),
        }),
        weight: 4,
      },
    );
    const reauthBody = fc.oneof(
      { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 1 },
      {
        arbitrary: fc.record({
          fullResync: field(fc.boolean()),
          scopes: field(scopes),
          region: field(fc.string({ maxLength: 20 })),
          reason: field(text(60)),
          expiresInSeconds: field(fc.integer({ min: 10, max: 30 * 24 * 3600 })),
          allowAccountChange: field(fc.boolean()),
          extra: fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: anyValue, weight: 1 }),
        }),
        weight: 4,
      },
    );
    const patchBody = fc.oneof(
      { arbitrary: fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }), weight: 1 },
      {
        arbitrary: fc.record({
          displayName: field(text(60)),
          config: field(config),
          extra: fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: anyValue, weight: 1 }),
        }),
        weight: 4,
      },
    );
    const serialize = (v: unknown): string | undefined => {
      try {
        return JSON.stringify(v);
      } catch {
        return undefined; // e.g. a cycle: nothing to send
      }
    };

    /** How often each status came back, reported as a test diagnostic (shows the validators were reached). */
    const tally = new Map<string, number>();
    /** Sends the serialized value and checks the answer; returns the status. */
    const probe = async (method: string, path: string, value: unknown, ok: number[]): Promise<number> => {
      const body = serialize(value);
      const res = await api(sys, method, path, { key: sys.keyA, body });
      const key = `${method} ${path.replace(/[0-9a-f-]{36}/, ':id')} ${res.status} ${res.body?.error?.code ?? ''}`.trim();
      tally.set(key, (tally.get(key) ?? 0) + 1);
      const context = `${method} ${path} ${String(body).slice(0, 300)}`;
      assert.ok(res.status < 500, `${context} -> ${res.status} ${res.text.slice(0, 300)}`);
      if (!ok.includes(res.status)) assertClientError(res, context);
      return res.status;
    };

    test('POST /v1/integrations', async () => {
      const before = await counts();
      let created = 0;
      await fc.assert(
        fc.asyncProperty(createBody, async (value) => {
          if ((await probe('POST', '/v1/integrations', value, [201])) === 201) created++;
        }),
        { numRuns: 80, interruptAfterTimeLimit: 60_000 },
      );
      const afterCounts = await counts();
      // Exactly one integration per 201 — no row from any rejected request.
      assert.equal(afterCounts.integrations - before.integrations, created);
      assert.equal(afterCounts.reauthorizations, before.reauthorizations);
    });

    test('POST /v1/integrations/:id/reauthorizations', async () => {
      // A pending integration of its own, so accepted bodies start (or join) a reauthorization there.
      const target = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'sandbox', displayName: 'fuzz target' } });
      assert.equal(target.status, 201, target.text);
      const before = await counts();
      let created = 0;
      await fc.assert(
        fc.asyncProperty(reauthBody, async (value) => {
          if ((await probe('POST', `/v1/integrations/${target.body.id}/reauthorizations`, value, [200, 201])) === 201) created++;
        }),
        { numRuns: 80, interruptAfterTimeLimit: 60_000 },
      );
      const afterCounts = await counts();
      // One row per 201 (a short expiresInSeconds may let one expire and a later body start another).
      assert.equal(afterCounts.reauthorizations - before.reauthorizations, created);
      assert.equal(afterCounts.integrations, before.integrations);
    });

    test('PATCH /v1/integrations/:id', async () => {
      const keep = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'sandbox', config: { toString: { a: 1 }, valueOf: 2 } } });
      assert.equal(keep.status, 201, keep.text);
      assert.deepEqual(keep.body.config, { toString: { a: 1 }, valueOf: 2 }, 'keys named like Object.prototype members are kept');
      for (const reserved of ['__proto__', 'constructor', 'prototype']) {
        const r = await api(sys, 'PATCH', `/v1/integrations/${keep.body.id}`, { key: sys.keyA, body: `{"config":{"${reserved}":{"x":1}}}` });
        assert.equal(r.status, 400, `${reserved}: ${r.text}`);
        assert.equal(r.body.error.code, 'validation_error');
      }
      const target = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'sandbox', displayName: 'patch target' } });
      assert.equal(target.status, 201, target.text);
      const before = await counts();
      await fc.assert(
        fc.asyncProperty(patchBody, async (value) => {
          const status = await probe('PATCH', `/v1/integrations/${target.body.id}`, value, [200]);
          if (status === 200) {
            // What was accepted reads back as sent.
            const now = await api(sys, 'GET', `/v1/integrations/${target.body.id}`, { key: sys.keyA });
            const sent = value as { displayName?: string; config?: unknown };
            if (sent.displayName !== undefined) assert.equal(now.body.displayName, sent.displayName);
            // Accepted config comes back exactly as sent: keys named like Object.prototype members
            // (`toString`, `valueOf`, …) included; reserved keys (`__proto__`, `constructor`,
            // `prototype`) are refused with a 400 instead of being dropped silently.
            if (sent.config !== undefined) assert.deepEqual(now.body.config, JSON.parse(JSON.stringify(sent.config)));
          }
        }),
        { numRuns: 80, interruptAfterTimeLimit: 60_000 },
      );
      assert.deepEqual(await counts(), before);
    });
  });
});
