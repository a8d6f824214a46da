import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Repository } from 'typeorm';
import { generateLinkToken, hashLinkToken, linkTokenAad } from '../libs/crypto/link-token';
import { AuditEvent, CredentialVersion, Integration, Reauthorization } from '../libs/db/entities';
import type { IntegrationSnapshot, ReauthError, ReauthorizationInput, ReauthOutcome, ReauthPhase } from '../libs/domain/reauthorization';
import type { ActivityDeps } from './deps';
import { countReauthorizationFinished, countReauthorizationStarted } from './metrics';

/** Bookkeeping of a reauthorization in Postgres: the row that mirrors the workflow, and the audit trail. */
export function createReauthorizationActivities({
  dataSource: ds,
  credentialsKeyRing: ring,
  providers,
}: Pick<ActivityDeps, 'dataSource' | 'credentialsKeyRing' | 'providers'>) {
  return {
    /**
     * Records the reauthorization and its link token. Idempotent: a retry after a crash finds the row
     * and keeps the token that was issued first. The token never leaves this activity, so it is not
     * in workflow history at all; the API reads it back from the row (sealed) to show the link.
     */
    async beginReauthorization(input: ReauthorizationInput & { expiresAt: string }): Promise<IntegrationSnapshot> {
      let inserted = false;
      const snapshot = await ds.transaction(async (tx) => {
        const integration = await tx.findOne(Integration, { where: { id: input.integrationId, tenantId: input.tenantId } });
        if (!integration) {
          throw ApplicationFailure.create({ type: 'integration_not_found', message: 'integration no longer exists', nonRetryable: true });
        }
        if (integration.status === 'disabled') {
          // Disabled between the API's check and this start: no link for a turned-off integration.
          throw ApplicationFailure.create({ type: 'integration_disabled', message: 'This integration is disabled. Enable it before re-authorizing.', nonRetryable: true });
        }
        const token = generateLinkToken();
        const sealed = ring.sealJson(token, linkTokenAad(input.reauthorizationId));
        const insert = await tx
          .createQueryBuilder()
          .insert()
          .into(Reauthorization)
          .values({
            id: input.reauthorizationId,
            tenantId: input.tenantId,
            integrationId: input.integrationId,
            workflowId: Context.current().info.workflowExecution?.workflowId ?? `reauth:${input.integrationId}`,
            runId: Context.current().info.workflowExecution?.runId ?? null,
            authType: input.authType,
            phase: 'awaiting_user',
            fullResync: input.fullResync,
            scopes: input.scopes,
            region: input.region,
            reason: input.reason,
            linkTokenHash: hashLinkToken(token),
            linkTokenKeyId: sealed.keyId,
            linkTokenCiphertext: sealed.data,
            expiresAt: new Date(input.expiresAt),
            allowAccountChange: input.allowAccountChange,
          })
          .orIgnore()
          .returning(['id'])
          .execute();
        inserted = (insert.raw as unknown[]).length > 0;
        await insertAudit(tx.getRepository(AuditEvent), {
          tenantId: input.tenantId,
          integrationId: input.integrationId,
          type: 'reauthorization.started',
          data: { reauthorizationId: input.reauthorizationId, reason: input.reason, fullResync: input.fullResync },
          dedupeKey: `reauth:${input.reauthorizationId}:started`,
        });
        const active = integration.credentialVersion
          ? await tx.findOne(CredentialVersion, { where: { integrationId: integration.id, version: integration.credentialVersion } })
          : null;
        const provider = await providers.resolve(integration.tenantId, integration.provider, tx);
        const def = integration.authType === 'oauth2' ? provider?.oauth2 : undefined;
        return {
          requiredScopes: [...new Set([...(def?.defaultScopes ?? []), ...integration.requiredScopes, ...input.scopes])],
          integrationId: integration.id,
          tenantId: integration.tenantId,
          provider: integration.provider,
          providerName: provider?.name ?? integration.provider,
          authType: integration.authType as IntegrationSnapshot['authType'],
          credentialVersion: integration.credentialVersion,
          accountId: active?.accountId ?? null,
        };
      });
      // Counted once: a retry finds the row and inserts nothing.
      if (inserted) countReauthorizationStarted(input.provider);
      return snapshot;
    },

    async recordReauthorizationProgress(args: {
      reauthorizationId: string;
      phase: ReauthPhase;
      outcome?: ReauthOutcome | null;
      error?: ReauthError | null;
      attempts?: number;
      resyncId?: string;
    }): Promise<void> {
      const closedHere = await ds.transaction(async (tx) => {
        const row = await tx.findOne(Reauthorization, { where: { id: args.reauthorizationId }, lock: { mode: 'pessimistic_write' } });
        if (!row) return;
        if (args.resyncId) {
          row.resyncId = args.resyncId;
          await tx.save(row);
          return;
        }
        // A finished reauthorization is final: a late retry of an earlier step must not reopen it.
        if (row.outcome && !args.outcome) return;
        const closing = Boolean(args.outcome) && !row.outcome;
        row.phase = args.phase;
        if (args.attempts !== undefined) row.attempts = args.attempts;
        if (args.error !== undefined) {
          row.errorCode = args.error?.code ?? null;
          row.errorMessage = args.error?.message ?? null;
        }
        if (args.outcome) {
          row.outcome = args.outcome;
          row.completedAt = row.completedAt ?? new Date();
          row.stateHash = null; // a finished reauthorization accepts no callback
        }
        await tx.save(row);
        if (args.outcome) {
          await insertAudit(tx.getRepository(AuditEvent), {
            tenantId: row.tenantId,
            integrationId: row.integrationId,
            type: `reauthorization.${args.outcome}`,
            data: { reauthorizationId: row.id, error: args.error ?? null },
            dedupeKey: `reauth:${row.id}:outcome`,
          });
        } else if (args.error) {
          await insertAudit(tx.getRepository(AuditEvent), {
            tenantId: row.tenantId,
            integrationId: row.integrationId,
            type: 'reauthorization.attempt_rejected',
            data: { reauthorizationId: row.id, attempt: row.attempts, error: args.error },
            dedupeKey: `reauth:${row.id}:attempt:${row.attempts}`,
          });
        }
        return closing;
      });
      // Outcomes other than success are recorded here (a success by swapCredentials), once.
      if (closedHere) await countReauthorizationFinished(ds, args.reauthorizationId);
    },
  };
}

/** Appends an audit event once per dedupe key (activity retries must not duplicate the trail). */
export async function insertAudit(
  repo: Repository<AuditEvent>,
  event: { tenantId: string; integrationId: string | null; type: string; data: Record<string, unknown>; dedupeKey: string },
): Promise<void> {
  await repo.createQueryBuilder().insert().into(AuditEvent).values(event as never).orIgnore().execute();
}
