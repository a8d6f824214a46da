/**
 * ApiKeysService and its helpers: keys are stored as SHA-256 only, BOOTSTRAP_API_KEYS is parsed
 * strictly and applied idempotently at start, and a lookup finds the key's tenant (never a revoked
 * key's). Real Postgres (fresh database for this file).
 */
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { createHash } from 'node:crypto';
import { ApiKeysService, generateApiKey, hashApiKey, parseBootstrapKeys } from '../../apps/api/auth/api-keys.service';
import type { AppConfig } from '../../libs/config/config';
import { ApiKey, Tenant } from '../../libs/db/entities';
import { CoreModule } from '../../libs/nest/core.module';
import { createTestDatabase, TestDataSourceModule, type TestDatabase } from './support/database';
import { createTenant, testConfig } from './support/fixtures';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('api_keys_service');
});

afterAll(async () => {
  await db?.drop();
});

afterEach(() => jest.restoreAllMocks());

/** A module holding just the service, over this file's database; `init()` runs its bootstrap hook. */
async function serviceModule(cfg: AppConfig = testConfig()): Promise<TestingModule> {
  return Test.createTestingModule({
    imports: [CoreModule.forRoot(cfg), TestDataSourceModule.of(db.dataSource)],
    providers: [ApiKeysService],
  }).compile();
}

describe('hashApiKey', () => {
  test('is the hex SHA-256 of the key: deterministic, 64 characters, never the key itself', () => {
    const key = 'rk_example_key_123456';
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).not.toContain(key);
  });

  test('different keys (even by one character or by case) hash differently', () => {
    expect(hashApiKey('rk_example_key_123456')).not.toBe(hashApiKey('rk_example_key_123457'));
    expect(hashApiKey('rk_Example_key_123456')).not.toBe(hashApiKey('rk_example_key_123456'));
  });
});

describe('generateApiKey', () => {
  test('makes `rk_` + 192 random bits in base64url, a new one every time', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey()));
    expect(keys.size).toBe(200);
    for (const key of keys) expect(key).toMatch(/^rk_[A-Za-z0-9_-]{32}$/);
  });
});

describe('parseBootstrapKeys', () => {
  test('parses "tenant:key" entries separated by commas, trimming blanks and skipping empty entries', () => {
    expect(parseBootstrapKeys(' acme : acme-key-0123456789 ,, globex:globex-key-0123456789 ,')).toEqual([
      { tenant: 'acme', key: 'acme-key-0123456789' },
      { tenant: 'globex', key: 'globex-key-0123456789' },
    ]);
  });

  test('an empty spec is no keys', () => {
    expect(parseBootstrapKeys('')).toEqual([]);
    expect(parseBootstrapKeys(' , ')).toEqual([]);
  });

  test('the tenant ends at the first colon: a key may contain colons', () => {
    expect(parseBootstrapKeys('acme:key:with:colons:0123')).toEqual([{ tenant: 'acme', key: 'key:with:colons:0123' }]);
  });

  test.each([
    ['no colon', 'acme-key-0123456789'],
    ['no tenant', ':acme-key-0123456789'],
    ['no key', 'acme:'],
  ])('%s is refused with the expected format', (_, spec) => {
    expect(() => parseBootstrapKeys(spec)).toThrow('BOOTSTRAP_API_KEYS entries must look like "tenant:key"');
  });

  test('keys shorter than 16 characters are refused (after trimming)', () => {
    expect(() => parseBootstrapKeys('acme:short-key')).toThrow('bootstrap API keys must be at least 16 characters');
    expect(() => parseBootstrapKeys('acme:   fifteen-chars-k   ')).toThrow('at least 16 characters');
    expect(parseBootstrapKeys('acme:sixteen-chars-ky')).toEqual([{ tenant: 'acme', key: 'sixteen-chars-ky' }]);
  });

  test('one bad entry fails the whole spec: no half-applied bootstrap', () => {
    expect(() => parseBootstrapKeys('acme:acme-key-0123456789,broken')).toThrow();
  });
});

describe('ApiKeysService', () => {
  test('ensureKey creates the tenant and stores only the key\'s hash and 6-character prefix', async () => {
    const moduleRef = await serviceModule();
    const service = moduleRef.get(ApiKeysService);
    const key = 'rk_ensure_key_0123456789';
    const tenantId = await service.ensureKey('ensure-tenant', key);

    expect(await db.dataSource.getRepository(Tenant).findOneByOrFail({ id: tenantId })).toMatchObject({ name: 'ensure-tenant' });
    const rows = await db.dataSource.getRepository(ApiKey).findBy({ tenantId });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ keyHash: hashApiKey(key), prefix: 'rk_ens', revokedAt: null });
    // The key itself is in no column of the table.
    const raw: unknown[] = await db.dataSource.query('SELECT * FROM api_keys WHERE tenant_id = $1', [tenantId]);
    expect(JSON.stringify(raw)).not.toContain(key);
    await moduleRef.close();
  });

  test('ensureKey is idempotent: the same tenant and key again change nothing', async () => {
    const moduleRef = await serviceModule();
    const service = moduleRef.get(ApiKeysService);
    const first = await service.ensureKey('idempotent-tenant', 'rk_idempotent_0123456789');
    const second = await service.ensureKey('idempotent-tenant', 'rk_idempotent_0123456789');
    expect(second).toBe(first);
    expect(await db.dataSource.getRepository(Tenant).countBy({ name: 'idempotent-tenant' })).toBe(1);
    expect(await db.dataSource.getRepository(ApiKey).countBy({ tenantId: first })).toBe(1);
    await moduleRef.close();
  });

  test('ensureKey adds a second key to an existing tenant', async () => {
    const moduleRef = await serviceModule();
    const service = moduleRef.get(ApiKeysService);
    const tenantId = await service.ensureKey('two-keys-tenant', 'rk_first_key_0123456789');
    expect(await service.ensureKey('two-keys-tenant', 'rk_second_key_0123456789')).toBe(tenantId);
    expect(await service.tenantForKey('rk_first_key_0123456789')).toBe(tenantId);
    expect(await service.tenantForKey('rk_second_key_0123456789')).toBe(tenantId);
    await moduleRef.close();
  });

  test('a key already registered for one tenant is not moved to another by ensureKey', async () => {
    const moduleRef = await serviceModule();
    const service = moduleRef.get(ApiKeysService);
    const owner = await service.ensureKey('key-owner', 'rk_contested_0123456789');
    const other = await service.ensureKey('key-claimant', 'rk_contested_0123456789');
    expect(other).not.toBe(owner);
    expect(await service.tenantForKey('rk_contested_0123456789')).toBe(owner);
    await moduleRef.close();
  });

  test('tenantForKey: the tenant of a live key; null for an unknown, a revoked or an empty key', async () => {
    const moduleRef = await serviceModule();
    const service = moduleRef.get(ApiKeysService);
    const tenantId = await createTenant(db.dataSource);
    const repo = db.dataSource.getRepository(ApiKey);
    await repo.insert({ tenantId, keyHash: hashApiKey('rk_live_key_0123456789'), prefix: 'rk_liv' });
    await repo.insert({ tenantId, keyHash: hashApiKey('rk_revoked_key_0123456789'), prefix: 'rk_rev', revokedAt: new Date() });

    expect(await service.tenantForKey('rk_live_key_0123456789')).toBe(tenantId);
    expect(await service.tenantForKey('rk_revoked_key_0123456789')).toBeNull();
    expect(await service.tenantForKey('rk_never_issued_0123456789')).toBeNull();
    expect(await service.tenantForKey('')).toBeNull();
    // The lookup is by hash: the stored hash itself is not a key.
    expect(await service.tenantForKey(hashApiKey('rk_live_key_0123456789'))).toBeNull();
    await moduleRef.close();
  });

  test('at start, BOOTSTRAP_API_KEYS registers every key, idempotently across restarts, logging prefixes only', async () => {
    const spec = 'boot-alpha:rk_boot_alpha_0123456789, boot-beta:rk_boot_beta_0123456789';
    const logged = jest.spyOn(Logger.prototype, 'log');
    for (let start = 0; start < 2; start++) {
      const moduleRef = await serviceModule(testConfig({ bootstrapApiKeys: spec }));
      await moduleRef.init();
      await moduleRef.close();
    }
    const moduleRef = await serviceModule();
    const service = moduleRef.get(ApiKeysService);
    const alpha = await db.dataSource.getRepository(Tenant).findOneByOrFail({ name: 'boot-alpha' });
    const beta = await db.dataSource.getRepository(Tenant).findOneByOrFail({ name: 'boot-beta' });
    expect(await service.tenantForKey('rk_boot_alpha_0123456789')).toBe(alpha.id);
    expect(await service.tenantForKey('rk_boot_beta_0123456789')).toBe(beta.id);
    expect(await db.dataSource.getRepository(ApiKey).countBy({ tenantId: alpha.id })).toBe(1);
    await moduleRef.close();

    const messages = logged.mock.calls.map((args) => String(args[0]));
    // Logged when registered (first start only), never in full.
    expect(messages.filter((m) => m.includes('registered for tenant'))).toHaveLength(2);
    expect(messages.join('\n')).not.toMatch(/rk_boot_(alpha|beta)_0123456789/);
  });

  test('at start, no BOOTSTRAP_API_KEYS: nothing is written', async () => {
    const before = await db.dataSource.getRepository(ApiKey).count();
    const moduleRef = await serviceModule(testConfig({ bootstrapApiKeys: undefined }));
    await moduleRef.init();
    await moduleRef.close();
    expect(await db.dataSource.getRepository(ApiKey).count()).toBe(before);
  });

  test('at start, a malformed BOOTSTRAP_API_KEYS fails the start', async () => {
    const moduleRef = await serviceModule(testConfig({ bootstrapApiKeys: 'boot-gamma:short' }));
    await expect(moduleRef.init()).rejects.toThrow('bootstrap API keys must be at least 16 characters');
    // close() awaits the failed initialisation again, so it rejects with the same error.
    await moduleRef.close().catch(() => undefined);
    expect(await db.dataSource.getRepository(Tenant).countBy({ name: 'boot-gamma' })).toBe(0);
  });
});
