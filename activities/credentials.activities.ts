import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ApplicationFailure } from '@temporalio/common';
import { DataSource, type EntityManager } from 'typeorm';
import { KeyRing } from '../libs/crypto/key-ring';
import { AuditEvent, CredentialVersion, Integration, Reauthorization } from '../libs/db/entities';
import type { AuthType, NewCredentials } from '../libs/domain/reauthorization';
import { CREDENTIALS_KEY_RING } from '../libs/nest/tokens';
import { insertAudit } from './reauthorization.activities';

/** Binds a ciphertext to its row, so a sealed secret copied onto another row fails to decrypt. */
export function credentialAad(integrationId: string, version: number): string {
  return `credential:${integrationId}:${version}`;
}

/** The only code that writes credentials. Each write is one Postgres transaction. */
@Injectable()
export class CredentialsActivities {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
  ) {}

  private newVersionRow(tx: EntityManager, tenantId: string, integrationId: string, version: number, c: NewCredentials, reauthorizationId: string | null) {
    const sealed = this.ring.sealJson(c.secret, credentialAad(integrationId, version));
    return tx.create(CredentialVersion, {
      integrationId,
      tenantId,
      version,
      state: 'active',
      accountId: c.identity.accountId,
      userId: c.identity.userId,
      scopes: c.identity.scopes,
      expiresAt: c.expiresAt ? new Date(c.expiresAt) : null,
      region: c.region,
      baseUrl: c.baseUrl,
      keyId: sealed.keyId,
      ciphertext: sealed.data,
      reauthorizationId,
    });
  }

  /**
   * Atomically makes validated credentials the active version: lock the integration row, supersede
   * the active version, insert version N+1, point the integration at it, mark it `active`, and
   * complete the reauthorization row — all or nothing. Readers see the old version until commit.
   * Idempotent per reauthorization (unique `reauthorization_id`): a retry after a crash that
   * happened after commit returns the version already written instead of swapping twice.
   */
  async swapCredentials(args: {
    tenantId: string;
    integrationId: string;
    reauthorizationId: string;
    credentials: NewCredentials;
  }): Promise<{ version: number; alreadySwapped: boolean }> {
    return this.ds.transaction(async (tx) => {
      const integration = await tx.findOne(Integration, {
        where: { id: args.integrationId, tenantId: args.tenantId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!integration) {
        throw ApplicationFailure.create({ type: 'integration_not_found', message: 'integration no longer exists', nonRetryable: true });
      }
      const done = await tx.findOne(CredentialVersion, { where: { reauthorizationId: args.reauthorizationId } });
      if (done) return { version: done.version, alreadySwapped: true };

      const { max } = (await tx
        .createQueryBuilder(CredentialVersion, 'cv')
        .select('COALESCE(MAX(cv.version), 0)', 'max')
        .where('cv.integration_id = :id', { id: integration.id })
        .getRawOne()) as { max: number };
      const version = Number(max) + 1;
      await tx.update(CredentialVersion, { integrationId: integration.id, state: 'active' }, { state: 'superseded' });
      await tx.save(this.newVersionRow(tx, args.tenantId, integration.id, version, args.credentials, args.reauthorizationId));
      const previousStatus = integration.status;
      await tx.update(
        Integration,
        { id: integration.id },
        {
          credentialVersion: version,
          status: 'active',
          statusReason: null,
          region: args.credentials.region ?? integration.region,
        },
      );
      await tx.update(
        Reauthorization,
        { id: args.reauthorizationId },
        { phase: 'completed', outcome: 'succeeded', errorCode: null, errorMessage: null, completedAt: new Date() },
      );
      await insertAudit(tx.getRepository(AuditEvent), {
        tenantId: args.tenantId,
        integrationId: integration.id,
        type: 'credentials.swapped',
        data: { reauthorizationId: args.reauthorizationId, fromVersion: integration.credentialVersion, toVersion: version, previousStatus },
        dedupeKey: `reauth:${args.reauthorizationId}:swapped`,
      });
      return { version, alreadySwapped: false };
    });
  }

  /** First credentials of a new integration: integration row and version 1 together, or nothing. */
  async createIntegrationWithCredentials(args: {
    integrationId: string;
    tenantId: string;
    provider: string;
    authType: AuthType;
    displayName: string;
    region: string | null;
    config: Record<string, unknown>;
    requiredScopes: string[];
    credentials: NewCredentials;
  }): Promise<{ version: number }> {
    return this.ds.transaction(async (tx) => {
      const existing = await tx.findOne(Integration, { where: { id: args.integrationId } });
      if (existing) return { version: existing.credentialVersion ?? 1 };
      await tx.insert(Integration, {
        id: args.integrationId,
        tenantId: args.tenantId,
        provider: args.provider,
        authType: args.authType,
        displayName: args.displayName,
        status: 'active',
        statusReason: null,
        region: args.region,
        config: args.config as never,
        requiredScopes: args.requiredScopes,
        credentialVersion: 1,
      });
      await tx.save(this.newVersionRow(tx, args.tenantId, args.integrationId, 1, args.credentials, null));
      await insertAudit(tx.getRepository(AuditEvent), {
        tenantId: args.tenantId,
        integrationId: args.integrationId,
        type: 'integration.created',
        data: { provider: args.provider, withCredentials: true },
        dedupeKey: `integration:${args.integrationId}:created`,
      });
      return { version: 1 };
    });
  }
}
