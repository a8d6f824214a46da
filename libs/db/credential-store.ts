import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { KeyRing } from '../crypto/key-ring';
import type { CredentialSecret, NewCredentials } from '../domain/reauthorization';
import { CredentialVersion } from './entities';

/** Binds a ciphertext to its row, so a sealed secret copied onto another row fails to decrypt. */
export function credentialAad(integrationId: string, credentialId: string): string {
  return `credential:${integrationId}:${credentialId}`;
}

/** Builds (does not save) a credential row with its secret sealed by the key ring. */
export function sealedCredentialRow(
  tx: EntityManager,
  ring: KeyRing,
  args: {
    tenantId: string;
    integrationId: string;
    version: number | null;
    state: CredentialVersion['state'];
    credentials: NewCredentials;
    reauthorizationId: string | null;
    attempt?: number;
    metadata?: Record<string, unknown>;
  },
): CredentialVersion {
  const id = randomUUID();
  const sealed = ring.sealJson(args.credentials.secret, credentialAad(args.integrationId, id));
  const c = args.credentials;
  return tx.create(CredentialVersion, {
    id,
    integrationId: args.integrationId,
    tenantId: args.tenantId,
    version: args.version,
    state: args.state,
    accountId: c.identity.accountId || null,
    userId: c.identity.userId,
    scopes: c.identity.scopes,
    expiresAt: c.expiresAt ? new Date(c.expiresAt) : null,
    refreshTokenExpiresAt: c.refreshTokenExpiresAt ? new Date(c.refreshTokenExpiresAt) : null,
    region: c.region,
    baseUrl: c.baseUrl,
    keyId: sealed.keyId,
    ciphertext: sealed.data,
    reauthorizationId: args.reauthorizationId,
    attempt: args.attempt ?? 0,
    metadata: args.metadata ?? {},
  });
}

export function openCredentialSecret(ring: KeyRing, row: CredentialVersion): CredentialSecret {
  return ring.openJson<CredentialSecret>({ keyId: row.keyId, data: row.ciphertext }, credentialAad(row.integrationId, row.id));
}

/**
 * Inside a transaction that holds the integration row lock: marks the active version superseded and
 * returns the number the next version must take. Numbers only grow, so a version is never reused.
 */
export async function supersedeActiveVersion(tx: EntityManager, integrationId: string): Promise<number> {
  const { max } = (await tx
    .createQueryBuilder(CredentialVersion, 'cv')
    .select('COALESCE(MAX(cv.version), 0)', 'max')
    .where('cv.integration_id = :id', { id: integrationId })
    .getRawOne()) as { max: number };
  await tx.update(CredentialVersion, { integrationId, state: 'active' }, { state: 'superseded' });
  return Number(max) + 1;
}

/**
 * The grant a credential row belongs to: every credential version a refresh wrote from it names
 * the row that began the grant (a code exchange or a stored API token); that row names none.
 */
export function grantIdOf(row: Pick<CredentialVersion, 'id' | 'metadata'>): string {
  const id = row.metadata?.grantId;
  return typeof id === 'string' && id !== '' ? id : row.id;
}

/**
 * Records on every row of a grant (the row that began it and the refreshes made from it) that the
 * CRM no longer honours it (`metadata.grantRevokedAt`). The rows keep their state, which says what
 * the engine does with them, not what the CRM does.
 */
export async function markGrantRevoked(db: EntityManager, integrationId: string, grantId: string): Promise<void> {
  await db
    .createQueryBuilder()
    .update(CredentialVersion)
    .set({ metadata: () => `metadata || jsonb_build_object('grantRevokedAt', now())` })
    .where('integration_id = :integrationId', { integrationId })
    .andWhere(`(id::text = :grantId OR metadata->>'grantId' = :grantId)`, { grantId })
    .execute();
}
