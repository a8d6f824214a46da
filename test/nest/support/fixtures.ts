/**
 * Configuration and rows for the Nest tests: what the running system (bootstrap keys, the
 * connectIntegration and reauthorization workflows' activities) would have written.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashApiKey } from '../../../apps/api/auth/api-keys.service';
import { type AppConfig, parseAppConfig } from '../../../libs/config/config';
import { KeyRing } from '../../../libs/crypto/key-ring';
import { generateLinkToken, hashLinkToken } from '../../../libs/crypto/link-token';
import { ApiKey, Integration, ProviderConfig, Reauthorization, Tenant } from '../../../libs/db/entities';
import { reauthWorkflowId } from '../../../libs/domain/reauthorization';
import { clientSecretAad } from '../../../libs/providers/provider-registry';

/**
 * The API's configuration as its settings parser makes it from a fixed test environment (not the
 * shell's: a developer's variables must not change the tests), with explicit key rings (nothing is
 * generated into a data dir) and no database URL (the tests provide the DataSource).
 */
export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  const config = parseAppConfig({
    PUBLIC_URL: 'http://api.nest-test',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    TEMPORAL_NAMESPACE: 'nest-test',
    TEMPORAL_TASK_QUEUE: 'nest-test-queue',
    CREDENTIALS_KEYS: KeyRing.generateSpec('cred-test'),
    PAYLOAD_CODEC_KEYS: KeyRing.generateSpec('codec-test'),
    REAUTH_DEFAULT_EXPIRY_SECONDS: '3600',
    CRM_MODE: 'sandbox',
  });
  return { ...config, ...overrides };
}

export async function createTenant(ds: DataSource, name = `tenant-${randomUUID().slice(0, 8)}`): Promise<string> {
  return (await ds.getRepository(Tenant).save({ name })).id;
}

/** A fresh API key for the tenant, stored as the API stores keys (hash and prefix only). */
export async function createApiKey(ds: DataSource, tenantId: string, opts: { revoked?: boolean } = {}): Promise<string> {
  const key = `rk_test_${randomUUID().replace(/-/g, '')}`;
  await ds.getRepository(ApiKey).insert({ tenantId, keyHash: hashApiKey(key), prefix: key.slice(0, 6), revokedAt: opts.revoked ? new Date() : null });
  return key;
}

export interface IntegrationSeed {
  provider?: string;
  authType?: 'api_token' | 'oauth2';
  /** null: pending (never connected). */
  credentialVersion?: number | null;
  displayName?: string;
}

export async function createIntegration(ds: DataSource, tenantId: string, seed: IntegrationSeed = {}): Promise<Integration> {
  const id = randomUUID();
  const credentialVersion = seed.credentialVersion === undefined ? 1 : seed.credentialVersion;
  await ds.getRepository(Integration).insert({
    id,
    tenantId,
    provider: seed.provider ?? 'sandbox',
    authType: seed.authType ?? 'api_token',
    displayName: seed.displayName ?? 'Nest test integration',
    status: credentialVersion === null ? 'pending' : 'active',
    region: null,
    config: {},
    requiredScopes: [],
    credentialVersion,
  });
  return ds.getRepository(Integration).findOneByOrFail({ id });
}

/** A tenant's OAuth app for a catalog provider, as PUT /v1/providers/:key stores it. */
export async function configureOAuthApp(ds: DataSource, ring: KeyRing, tenantId: string, providerKey: string): Promise<void> {
  const sealed = ring.sealJson('client-secret-for-tests', clientSecretAad(tenantId, providerKey));
  await ds.getRepository(ProviderConfig).insert({
    tenantId,
    providerKey,
    authType: 'oauth2',
    settings: { clientId: 'client-id-for-tests' },
    secretKeyId: sealed.keyId,
    secretCiphertext: sealed.data,
  });
}

export interface ReauthorizationSeed {
  id?: string;
  authType?: 'api_token' | 'oauth2';
  outcome?: string | null;
  runId?: string | null;
  expiresAt?: Date;
}

/** The row the reauthorization workflow's first activity records (link token sealed with the credentials ring). */
export async function createReauthorizationRow(
  ds: DataSource,
  ring: KeyRing,
  integration: Pick<Integration, 'id' | 'tenantId' | 'authType'>,
  seed: ReauthorizationSeed = {},
): Promise<{ row: Reauthorization; linkToken: string }> {
  const id = seed.id ?? randomUUID();
  const linkToken = generateLinkToken();
  const sealed = ring.sealJson(linkToken, `link:${id}`);
  const outcome = seed.outcome ?? null;
  await ds.getRepository(Reauthorization).insert({
    id,
    tenantId: integration.tenantId,
    integrationId: integration.id,
    workflowId: reauthWorkflowId(integration.id),
    runId: seed.runId === undefined ? `run-${id.slice(0, 8)}` : seed.runId,
    authType: seed.authType ?? (integration.authType === 'oauth2' ? 'oauth2' : 'api_token'),
    phase: outcome === null ? 'awaiting_user' : 'completed',
    outcome,
    completedAt: outcome === null ? null : new Date(),
    linkTokenHash: hashLinkToken(linkToken),
    linkTokenKeyId: sealed.keyId,
    linkTokenCiphertext: sealed.data,
    expiresAt: seed.expiresAt ?? new Date(Date.now() + 3600_000),
  });
  return { row: await ds.getRepository(Reauthorization).findOneByOrFail({ id }), linkToken };
}
