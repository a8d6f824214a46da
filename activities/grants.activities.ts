import { ApplicationFailure } from '@temporalio/common';
import { type EntityManager, In, IsNull } from 'typeorm';
import { grantIdOf, markGrantRevoked, openCredentialSecret } from '../libs/db/credential-store';
import { Alert, AuditEvent, CredentialVersion, Integration } from '../libs/db/entities';
import type { AuditOutcome } from '../libs/domain/audit';
import { reauthRecommendedAt } from '../libs/domain/refresh-token-expiry';
import { CrmError } from '../libs/providers/errors';
import { revokeRefreshToken } from '../libs/providers/oauth-client';
import { crmFailure } from './crm.activities';
import type { ActivityDeps } from './deps';

const LOG_CONTEXT = 'GrantActivities';

/** The alert code of a recommended reauthorization (a warning; the integration keeps working). */
export const REAUTH_RECOMMENDED_ALERT = 'reauthorization_recommended';

/** What revoking one grant came to. `not_revocable`: the CRM offers no revocation, or there is no refresh token to revoke. */
export type GrantRevocationOutcome = 'revoked' | 'not_live' | 'not_revocable' | 'gone';

/**
 * Grants at the CRM: revoking the ones the engine no longer uses (superseded by a reauthorization,
 * or of a deleted integration), so they do not pile up against the CRM's limits (Salesforce
 * revokes a user's oldest approval after five, Zoho deletes the oldest of twenty refresh tokens),
 * and recommending a reauthorization before a refresh token expires by itself. The refresh token
 * is read here from the credential store by row id; it never travels through a workflow.
 */
export function createGrantActivities({
  dataSource: ds,
  credentialsKeyRing: ring,
  config: cfg,
  providers,
  egress,
  logger,
}: Pick<ActivityDeps, 'dataSource' | 'credentialsKeyRing' | 'config' | 'providers' | 'egress' | 'logger'>) {
  /**
   * Revokes the grant of one credential row; once the CRM no longer honours it, every row of the
   * grant records when (`metadata.grantRevokedAt`; the rows keep their state, which says what the
   * engine does with them, not what the CRM does).
   */
  async function revokeGrantOf(row: CredentialVersion, integration: Integration): Promise<GrantRevocationOutcome> {
    if (typeof row.metadata?.grantRevokedAt === 'string') return 'revoked';
    if (row.state === 'active' && integration.credentialVersion === row.version && integration.status !== 'disabled') {
      // Never the grant the integration works with (a superseded row only, or any row of one being deleted).
      throw ApplicationFailure.create({ type: 'grant_in_use', message: 'the grant is the active credentials of the integration', nonRetryable: true });
    }
    if (!row.ciphertext) return 'gone';
    const provider = await providers.resolve(integration.tenantId, integration.provider);
    const def = provider?.oauth2;
    const secret = openCredentialSecret(ring, row);
    if (!provider || !def?.revocation || !secret.refreshToken) return 'not_revocable';
    const app = await providers.oauthApp(integration.tenantId, integration.provider);
    if (!app) return 'not_revocable';
    let outcome: 'revoked' | 'not_live';
    try {
      outcome = await revokeRefreshToken(egress.forProvider(provider), def, def.revocation, app, secret.refreshToken, row.region);
    } catch (err) {
      if (err instanceof CrmError && err.kind === 'bad_response') {
        throw ApplicationFailure.create({ type: 'revocation_refused', message: err.message, nonRetryable: true });
      }
      throw crmFailure(err);
    }
    const grantId = grantIdOf(row);
    await ds.transaction(async (tx) => {
      // Every version of this grant: the row that began it and the refreshes made from it.
      await markGrantRevoked(tx, integration.id, grantId);
      await insertGrantAudit(tx, integration, 'credentials.grant_revoked', 'succeeded', `grant-revoked:${grantId}`, {
        credentialVersion: row.version,
        crm: outcome,
      });
    });
    logger.log(`grant of credential version ${row.version} of ${integration.id} revoked at the CRM (${outcome})`, LOG_CONTEXT);
    return outcome;
  }

  return {
    /**
     * After a successful swap: revokes the grant the superseded credentials came from. Transient
     * CRM failures are retried by the caller's retry policy; an answer we do not understand is final
     * (the caller records it). Idempotent: a grant already revoked answers `revoked`.
     */
    async revokeSupersededGrant(args: { credentialId: string }): Promise<{ outcome: GrantRevocationOutcome }> {
      const row = await ds.getRepository(CredentialVersion).findOne({ where: { id: args.credentialId } });
      if (!row) return { outcome: 'gone' };
      const integration = await ds.getRepository(Integration).findOne({ where: { id: row.integrationId } });
      if (!integration) return { outcome: 'gone' };
      if (row.state === 'active') return { outcome: 'not_revocable' }; // swapped back in meanwhile? then it is in use
      return { outcome: await revokeGrantOf(row, integration) };
    },

    /** The revocation of a superseded grant kept failing: say so in the audit trail (the grant expires on the CRM's terms). */
    async recordGrantRevocationFailure(args: { credentialId: string; error: string }): Promise<void> {
      const row = await ds.getRepository(CredentialVersion).findOne({ where: { id: args.credentialId } });
      const integration = row ? await ds.getRepository(Integration).findOne({ where: { id: row.integrationId } }) : null;
      if (!row || !integration) return;
      await insertGrantAudit(ds.manager, integration, 'credentials.grant_revocation_failed', 'failed', `grant-revocation-failed:${grantIdOf(row)}`, {
        credentialVersion: row.version,
        error: args.error.slice(0, 300),
      });
      logger.log(`could not revoke the grant of credential version ${row.version} of ${integration.id}: ${args.error.slice(0, 300)}`, LOG_CONTEXT);
    },

    /**
     * Before an integration is deleted: revokes every grant of it the CRM may still honour — the
     * active one and superseded ones whose revocation had not gone through. One grant failing does
     * not stop the others; a transient failure is retried (the grants done are marked, so a retry
     * skips them), anything else is recorded. Answers what it did.
     */
    async revokeIntegrationGrants(args: { tenantId: string; integrationId: string }): Promise<{ revoked: number; failed: number }> {
      const integration = await ds.getRepository(Integration).findOne({ where: { id: args.integrationId, tenantId: args.tenantId } });
      if (!integration || integration.authType !== 'oauth2') return { revoked: 0, failed: 0 };
      const rows = await ds.getRepository(CredentialVersion).find({
        where: { integrationId: integration.id, state: In(['active', 'superseded']) },
        select: { id: true, version: true, metadata: true },
        order: { version: 'DESC' },
      });
      // The newest row of each grant not revoked yet holds its live refresh token (rotations included).
      const newest = new Map<string, string>();
      for (const row of rows) {
        const grantId = grantIdOf(row as CredentialVersion);
        if (!newest.has(grantId) && typeof row.metadata?.grantRevokedAt !== 'string') newest.set(grantId, row.id);
      }
      let revoked = 0;
      let failed = 0;
      let transient: unknown = null;
      for (const id of newest.values()) {
        const row = await ds.getRepository(CredentialVersion).findOneOrFail({ where: { id } });
        try {
          const outcome = await revokeGrantOf(row, integration);
          if (outcome === 'revoked' || outcome === 'not_live') revoked += 1;
        } catch (err) {
          if (err instanceof ApplicationFailure && !err.nonRetryable) transient = err;
          else {
            failed += 1;
            await insertGrantAudit(ds.manager, integration, 'credentials.grant_revocation_failed', 'failed', `grant-revocation-failed:${grantIdOf(row)}`, {
              credentialVersion: row.version,
              error: (err as Error).message.slice(0, 300),
            });
          }
        }
      }
      if (transient) throw transient;
      return { revoked, failed };
    },

    /**
     * Raises the warning that the refresh token of `expectedVersion` expires by itself soon: a
     * `warning` alert (unless the integration already has an open alert, which asks for a
     * reauthorization anyway) and an audit row. Once per grant and expiry: answers `raised: false`
     * when it was raised already, or when newer credentials or a status made it moot.
     */
    async recommendReauthorization(args: { integrationId: string; expectedVersion: number }): Promise<{ raised: boolean }> {
      return ds.transaction(async (tx) => {
        const integration = await tx.findOne(Integration, { where: { id: args.integrationId }, lock: { mode: 'pessimistic_write' } });
        if (!integration || integration.credentialVersion !== args.expectedVersion || (integration.status !== 'active' && integration.status !== 'degraded')) {
          return { raised: false };
        }
        const cred = await tx.findOneOrFail(CredentialVersion, { where: { integrationId: integration.id, version: args.expectedVersion } });
        if (!cred.refreshTokenExpiresAt) return { raised: false };
        const expiresAt = cred.refreshTokenExpiresAt.toISOString();
        if (reauthRecommendedAt(expiresAt, cfg.reauthRecommendedBeforeSeconds) > Date.now()) return { raised: false };
        if (await alreadyRecommended(tx, integration.tenantId, integration.id, grantIdOf(cred), expiresAt, cfg.reauthRecommendedBeforeSeconds)) return { raised: false };
        const providerName = (await providers.resolve(integration.tenantId, integration.provider, tx))?.name ?? integration.provider;
        const open = await tx.findOne(Alert, { where: { integrationId: integration.id, resolvedAt: IsNull() } });
        if (!open) {
          await tx.insert(Alert, {
            tenantId: integration.tenantId,
            integrationId: integration.id,
            code: REAUTH_RECOMMENDED_ALERT,
            level: 'warning',
            message: `${integration.displayName}: the ${providerName} authorization expires on ${expiresAt.slice(0, 16).replace('T', ' ')} UTC. Re-authorize before then to keep the integration working.`,
          });
        }
        await insertGrantAudit(tx, integration, 'integration.reauthorization_recommended', 'succeeded', `reauth-recommended:${integration.id}:${args.expectedVersion}`, {
          credentialVersion: args.expectedVersion,
          grantId: grantIdOf(cred),
          refreshTokenExpiresAt: expiresAt,
        });
        return { raised: true };
      });
    },
  };
}

/**
 * Whether the warning was raised for this grant about (nearly) this expiry: an idle window that a
 * refresh moved by more than the warning period is a new expiry worth a new warning; the same
 * expiry, stated again a second later, is not.
 */
export async function alreadyRecommended(
  tx: EntityManager,
  tenantId: string,
  integrationId: string,
  grantId: string,
  expiresAt: string,
  beforeSeconds: number,
): Promise<boolean> {
  const previous = await tx
    .createQueryBuilder(AuditEvent, 'a')
    .where('a.tenant_id = :tenantId AND a.integration_id = :integrationId', { tenantId, integrationId })
    .andWhere(`a.type = 'integration.reauthorization_recommended'`)
    .andWhere(`a.data->>'grantId' = :grantId`, { grantId })
    .getMany();
  return previous.some((a) => {
    const recorded = Date.parse(String(a.data?.refreshTokenExpiresAt ?? ''));
    return Number.isFinite(recorded) && Math.abs(recorded - Date.parse(expiresAt)) < beforeSeconds * 1000;
  });
}

async function insertGrantAudit(tx: EntityManager, integration: Integration, type: string, outcome: AuditOutcome, dedupeKey: string, data: Record<string, unknown>): Promise<void> {
  await tx
    .createQueryBuilder()
    .insert()
    .into(AuditEvent)
    .values({ tenantId: integration.tenantId, integrationId: integration.id, type, outcome, data: data as never, dedupeKey })
    .orIgnore()
    .execute();
}
