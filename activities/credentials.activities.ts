import { ApplicationFailure } from '@temporalio/common';
import { IsNull, Not } from 'typeorm';
import type { ConnectIntegrationInput } from '../libs/contracts';
import { sealedCredentialRow, supersedeActiveVersion } from '../libs/db/credential-store';
import { Alert, AuditEvent, CredentialVersion, Integration, Reauthorization } from '../libs/db/entities';
import type { NewCredentials } from '../libs/domain/reauthorization';
import type { ActivityDeps } from './deps';
import { countReauthorizationFinished } from './metrics';
import { insertAudit } from './reauthorization.activities';

/** The only code that writes credentials. Each write is one Postgres transaction. */
export function createCredentialsActivities({ dataSource: ds, credentialsKeyRing: ring }: Pick<ActivityDeps, 'dataSource' | 'credentialsKeyRing'>) {
  return {
    /**
     * Atomically makes validated credentials the active version: lock the integration row, supersede
     * the active version, write version N+1 (new, or the validated pending row of an OAuth exchange),
     * point the integration at it, mark it `active`, and complete the reauthorization row — all or
     * nothing. Readers see the old version until commit.
     * Idempotent per reauthorization: a retry after a crash that happened after commit finds the
     * version already written and returns it instead of swapping twice.
     */
    async swapCredentials(args: {
      tenantId: string;
      integrationId: string;
      reauthorizationId: string;
      credentials?: NewCredentials;
      pendingCredentialId?: string;
      addRequiredScopes?: string[];
    }): Promise<{ version: number; alreadySwapped: boolean; previousStatus: string; supersededCredentialId?: string | null }> {
      const swapped = await ds.transaction(async (tx) => {
        const integration = await tx.findOne(Integration, {
          where: { id: args.integrationId, tenantId: args.tenantId },
          lock: { mode: 'pessimistic_write' },
        });
        if (!integration) {
          throw ApplicationFailure.create({ type: 'integration_not_found', message: 'integration no longer exists', nonRetryable: true });
        }
        const done = await tx.findOne(CredentialVersion, { where: { reauthorizationId: args.reauthorizationId, state: Not('pending') } });
        if (done && done.version !== null && done.state !== 'revoked') {
          const audit = await tx.findOne(AuditEvent, { where: { dedupeKey: `reauth:${args.reauthorizationId}:swapped` } });
          const superseded = audit?.data?.supersededCredentialId;
          return {
            version: done.version,
            alreadySwapped: true,
            previousStatus: String(audit?.data?.previousStatus ?? 'active'),
            supersededCredentialId: typeof superseded === 'string' ? superseded : null,
          };
        }

        // The credentials this swap supersedes: their grant is revoked at the CRM afterwards (by id; no token leaves here).
        const previous = integration.credentialVersion === null ? null : await tx.findOne(CredentialVersion, { where: { integrationId: integration.id, state: 'active' } });
        const version = await supersedeActiveVersion(tx, integration.id);

        let region: string | null;
        if (args.pendingCredentialId) {
          const pending = await tx.findOne(CredentialVersion, {
            where: { id: args.pendingCredentialId, integrationId: integration.id, state: 'pending' },
          });
          if (!pending) {
            throw ApplicationFailure.create({ type: 'pending_credentials_missing', message: 'validated credentials not found', nonRetryable: true });
          }
          await tx.update(CredentialVersion, { id: pending.id }, { state: 'active', version });
          region = pending.region;
        } else if (args.credentials) {
          await tx.save(
            sealedCredentialRow(tx, ring, {
              tenantId: args.tenantId,
              integrationId: integration.id,
              version,
              state: 'active',
              credentials: args.credentials,
              reauthorizationId: args.reauthorizationId,
            }),
          );
          region = args.credentials.region;
        } else {
          throw ApplicationFailure.create({ type: 'bad_request', message: 'swapCredentials needs credentials or a pending credential', nonRetryable: true });
        }
        const previousStatus = integration.status;
        const requiredScopes = [...new Set([...integration.requiredScopes, ...(args.addRequiredScopes ?? [])])];
        await tx.update(
          Integration,
          { id: integration.id },
          // Validated credentials are kept even if it was disabled meanwhile; turning it back on is the admin's call.
          { credentialVersion: version, status: previousStatus === 'disabled' ? 'disabled' : 'active', statusReason: null, region: region ?? integration.region, requiredScopes },
        );
        await tx.update(
          Reauthorization,
          { id: args.reauthorizationId },
          { phase: 'completed', outcome: 'succeeded', errorCode: null, errorMessage: null, completedAt: new Date(), stateHash: null },
        );
        // A successful reauthorization resolves the integration's open alert.
        await tx.update(Alert, { integrationId: integration.id, resolvedAt: IsNull() }, { resolvedAt: new Date() });
        await insertAudit(tx.getRepository(AuditEvent), {
          tenantId: args.tenantId,
          integrationId: integration.id,
          type: 'credentials.swapped',
          data: {
            reauthorizationId: args.reauthorizationId,
            fromVersion: integration.credentialVersion,
            toVersion: version,
            previousStatus,
            supersededCredentialId: previous?.id ?? null,
          },
          dedupeKey: `reauth:${args.reauthorizationId}:swapped`,
        });
        return { version, alreadySwapped: false, previousStatus, supersededCredentialId: previous?.id ?? null };
      });
      // The success of a reauthorization is recorded by this transaction: counted once, not on a retry that finds it done.
      if (!swapped.alreadySwapped) await countReauthorizationFinished(ds, args.reauthorizationId);
      return swapped;
    },

    /** First credentials of a new integration: integration row and version 1 together, or nothing. */
    async createIntegrationWithCredentials(
      args: Omit<ConnectIntegrationInput, 'secret' | 'expiresAt' | 'scopes'> & { credentials: NewCredentials },
    ): Promise<{ version: number }> {
      return ds.transaction(async (tx) => {
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
        await tx.save(
          sealedCredentialRow(tx, ring, {
            tenantId: args.tenantId,
            integrationId: args.integrationId,
            version: 1,
            state: 'active',
            credentials: args.credentials,
            reauthorizationId: null,
          }),
        );
        await insertAudit(tx.getRepository(AuditEvent), {
          tenantId: args.tenantId,
          integrationId: args.integrationId,
          type: 'integration.created',
          data: { provider: args.provider, withCredentials: true },
          dedupeKey: `integration:${args.integrationId}:created`,
        });
        return { version: 1 };
      });
    },
  };
}
