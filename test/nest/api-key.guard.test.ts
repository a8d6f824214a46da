/**
 * ApiKeyGuard (the global APP_GUARD of AuthModule) over HTTP: what a request without a valid
 * `Authorization: Bearer <api key>` gets, what @Public() opens, and that the key decides the
 * tenant every handler is scoped to. Real ApiKeysService on a fresh database; Temporal mocked.
 */
import { Controller, Get } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ApiKeysService } from '../../apps/api/auth/api-keys.service';
import { AuthModule } from '../../apps/api/auth/auth.module';
import { Public } from '../../apps/api/auth/public.decorator';
import { TenantId } from '../../apps/api/auth/tenant.decorator';
import { IntegrationsModule } from '../../apps/api/integrations/integrations.module';
import { CoreModule } from '../../libs/nest/core.module';
import { TemporalClientModule } from '../../libs/nest/temporal-client.module';
import { createTestDatabase, TestDataSourceModule, type TestDatabase } from './support/database';
import { createApiKey, createIntegration, createTenant, testConfig } from './support/fixtures';
import { call, expectErrorShape, type RunningApi, startApi } from './support/http';
import { overrideTemporal } from './support/temporal-mocks';

@Controller('v1/probe')
class ProbeController {
  /** Echoes the tenant the guard attached to the request. */
  @Get('whoami')
  whoami(@TenantId() tenantId: string) {
    return { tenantId };
  }

  @Public()
  @Get('open')
  open() {
    return { open: true };
  }
}

/** @Public() on the class opens every route of the controller. */
@Public()
@Controller('public-probe')
class PublicProbeController {
  @Get()
  get() {
    return { open: true };
  }
}

let db: TestDatabase;
let api: RunningApi;
let tenantA: string;
let tenantB: string;
let keyA: string;
let keyB: string;

beforeAll(async () => {
  db = await createTestDatabase('api_key_guard');
  const moduleRef = await overrideTemporal(
    Test.createTestingModule({
      imports: [CoreModule.forRoot(testConfig()), TestDataSourceModule.of(db.dataSource), TemporalClientModule, AuthModule, IntegrationsModule],
      controllers: [ProbeController, PublicProbeController],
    }),
  ).compile();
  api = await startApi(moduleRef);
  tenantA = await createTenant(db.dataSource, 'guard-tenant-a');
  tenantB = await createTenant(db.dataSource, 'guard-tenant-b');
  keyA = await createApiKey(db.dataSource, tenantA);
  keyB = await createApiKey(db.dataSource, tenantB);
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

afterEach(() => jest.restoreAllMocks());

describe('ApiKeyGuard', () => {
  test('no Authorization header: 401 unauthorized, telling how to authenticate', async () => {
    const res = await call(api.url, 'GET', '/v1/probe/whoami');
    expectErrorShape(res, 401, 'unauthorized', 'Missing API key: send "Authorization: Bearer <api key>"');
  });

  test.each([
    ['another scheme', `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['the key without a scheme', 'rk_some_key_without_scheme'],
    ['Bearer without a key', 'Bearer'],
    ['Bearer and blanks', 'Bearer    '],
    ['two tokens', 'Bearer one two'],
  ])('a malformed Authorization header (%s): 401 "Missing API key"', async (_, header) => {
    const res = await call(api.url, 'GET', '/v1/probe/whoami', { headers: { authorization: header } });
    expectErrorShape(res, 401, 'unauthorized', /^Missing API key/);
  });

  test('a well-formed but unknown key: 401 "Invalid API key"', async () => {
    const res = await call(api.url, 'GET', '/v1/probe/whoami', { key: 'rk_this_key_was_never_issued' });
    expectErrorShape(res, 401, 'unauthorized', 'Invalid API key');
  });

  test('a revoked key: 401 "Invalid API key"', async () => {
    const revoked = await createApiKey(db.dataSource, tenantA, { revoked: true });
    const res = await call(api.url, 'GET', '/v1/probe/whoami', { key: revoked });
    expectErrorShape(res, 401, 'unauthorized', 'Invalid API key');
  });

  test('the 401 never echoes the key that was sent', async () => {
    const sent = 'rk_wrong_key_that_must_not_be_echoed';
    const res = await call(api.url, 'GET', '/v1/probe/whoami', { key: sent });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(sent);
  });

  test('a valid key: the request goes through with the key\'s tenant attached', async () => {
    const a = await call(api.url, 'GET', '/v1/probe/whoami', { key: keyA });
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ tenantId: tenantA });
    const b = await call(api.url, 'GET', '/v1/probe/whoami', { key: keyB });
    expect(b.body).toEqual({ tenantId: tenantB });
  });

  test('the scheme is case-insensitive and blanks between scheme and key are allowed', async () => {
    for (const header of [`bearer ${keyA}`, `BEARER ${keyA}`, `Bearer \t ${keyA}`]) {
      const res = await call(api.url, 'GET', '/v1/probe/whoami', { headers: { authorization: header } });
      expect({ header, status: res.status, body: res.body }).toEqual({ header, status: 200, body: { tenantId: tenantA } });
    }
  });

  test('@Public() routes (method or class) answer without a key, and the key store is not consulted', async () => {
    const lookups = jest.spyOn(api.app.get(ApiKeysService), 'tenantForKey');
    expect((await call(api.url, 'GET', '/v1/probe/open')).body).toEqual({ open: true });
    expect((await call(api.url, 'GET', '/public-probe')).body).toEqual({ open: true });
    // Even a bad key does not make a public route fail.
    expect((await call(api.url, 'GET', '/public-probe', { key: 'rk_garbage' })).status).toBe(200);
    expect(lookups).not.toHaveBeenCalled();
  });

  test('a protected route looks the key up once, by the key itself', async () => {
    const lookups = jest.spyOn(api.app.get(ApiKeysService), 'tenantForKey');
    await call(api.url, 'GET', '/v1/probe/whoami', { key: keyA });
    expect(lookups).toHaveBeenCalledTimes(1);
    expect(lookups).toHaveBeenCalledWith(keyA);
  });

  test('a key only reaches its own tenant: another tenant\'s integration is a 404, like an unknown id', async () => {
    const ofB = await createIntegration(db.dataSource, tenantB, { displayName: 'B only' });
    const byB = await call(api.url, 'GET', `/v1/integrations/${ofB.id}`, { key: keyB });
    expect(byB.status).toBe(200);
    expect(byB.body.displayName).toBe('B only');

    const byA = await call(api.url, 'GET', `/v1/integrations/${ofB.id}`, { key: keyA });
    expectErrorShape(byA, 404, 'not_found', 'integration not found');
    expect(byA.text).not.toContain('B only');

    const listA = await call(api.url, 'GET', '/v1/integrations', { key: keyA });
    expect(listA.status).toBe(200);
    expect(listA.body.data.map((i: { id: string }) => i.id)).not.toContain(ofB.id);
  });

  test('an unknown route is a 404 in the error shape, with or without a key (guards run on routes only)', async () => {
    expectErrorShape(await call(api.url, 'GET', '/v1/nothing-here'), 404, 'not_found');
    expectErrorShape(await call(api.url, 'GET', '/v1/nothing-here', { key: keyA }), 404, 'not_found');
  });
});
