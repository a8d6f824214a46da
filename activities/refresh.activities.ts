import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { IsNull } from 'typeorm';
import { grantIdOf, openCredentialSecret, sealedCredentialRow, supersedeActiveVersion } from '../libs/db/credential-store';
import { Alert, AuditEvent, CredentialVersion, Integration } from '../libs/db/entities';
import type { RefreshPlan, RefreshResult, StatusChange } from '../libs/domain/refresh';
import { reauthRecommendedAt, refreshTokenExpiry } from '../libs/domain/refresh-token-expiry';
import { alertLevel, classifyRefreshError, statusMessage, type StatusReason } from '../libs/domain/status';
import { whoAmIWithApiToken } from '../libs/providers/api-token-client';
import { CrmError } from '../libs/providers/errors';
import { refreshAccessToken, whoAmIWithAccessToken } from '../libs/providers/oauth-client';
import { crmTaskQueue } from '../libs/temporal/crm-task-queues';
import { signalTokenRefresh } from '../libs/temporal/token-refresh-signal';
import { crmFailure } from './crm.activities';
import { alreadyRecommended, REAUTH_RECOMMENDED_ALERT } from './grants.activities';
import type { ActivityDeps } from './deps';
import { countAttemptError, countCheck, countRefresh } from './metrics';
import { insertAudit } from './reauthorization.activities';

const LOG_CONTEXT = 'RefreshActivities';

/**
 * Keeping credentials fresh and healthy (the `tokenRefresh` workflow's activities). Every write is
 * a compare-and-swap on the integration's credential version, so nothing here can overwrite newer
 * credentials from a reauthorization.
 */
export function createRefreshActivities({
  dataSource: ds,
  credentialsKeyRing: ring,
  config: cfg,
  providers,
  temporal,
  logger,
  egress,
}: Pick<ActivityDeps, 'dataSource' | 'credentialsKeyRing' | 'config' | 'providers' | 'temporal' | 'logger' | 'egress'>) {
  /** Whether the integration moved on from `version` (a swap) while a CRM call on it was under way. */
  async function supersededSince(integrationId: string, version: number): Promise<boolean> {
    const now = await ds.getRepository(Integration).findOne({ where: { id: integrationId } });
    return now !== null && now.credentialVersion !== version;
  }

  return {
    /** New active credentials: (re)start the integration's refresh / health-check workflow. */
    async credentialsChanged(args: { tenantId: string; integrationId: string }): Promise<void> {
      // Names the integration in the summary of a refresh workflow this starts.
      const integration = await ds.getRepository(Integration).findOne({ where: { id: args.integrationId, tenantId: args.tenantId } });
      const providerName = integration ? ((await providers.resolve(integration.tenantId, integration.provider))?.name ?? integration.provider) : 'CRM';
      await signalTokenRefresh(temporal, cfg.taskQueue, args, 'credentialsUpdated', { providerName, displayName: integration?.displayName });
    },

    /** What the refresh workflow needs to schedule itself; no secret. */
    async loadRefreshPlan(args: { integrationId: string }): Promise<RefreshPlan> {
      const integration = await ds.getRepository(Integration).findOne({ where: { id: args.integrationId } });
      if (!integration || integration.credentialVersion === null) {
        return { exists: Boolean(integration), status: integration?.status ?? 'pending', credentialVersion: null } as RefreshPlan;
      }
      const cred = await ds.getRepository(CredentialVersion).findOneOrFail({
        where: { integrationId: integration.id, version: integration.credentialVersion },
      });
      const secret = openCredentialSecret(ring, cred);
      return {
        exists: true,
        tenantId: integration.tenantId,
        provider: integration.provider,
        authType: integration.authType as RefreshPlan['authType'],
        status: integration.status,
        statusReason: integration.statusReason,
        credentialVersion: integration.credentialVersion,
        expiresAt: cred.expiresAt?.toISOString() ?? null,
        issuedAt: cred.createdAt.toISOString(),
        refreshable: integration.authType === 'oauth2' && Boolean(secret.refreshToken),
        lastCheckedAt: integration.lastCheckedAt?.toISOString() ?? null,
        marginSeconds: cfg.refreshMarginSeconds,
        jitterSeconds: cfg.refreshJitterSeconds,
        spreadPercent: cfg.refreshSpreadPercent,
        healthCheckIntervalSeconds: cfg.healthCheckIntervalSeconds,
        crmTaskQueue: providers.isBuiltIn(integration.provider) && cfg.crmCallsPerSecond[integration.provider] ? crmTaskQueue(cfg.taskQueue, integration.provider) : null,
        refreshTokenExpiresAt: cred.refreshTokenExpiresAt?.toISOString() ?? null,
        reauthRecommendedBeforeSeconds: cfg.reauthRecommendedBeforeSeconds,
        // Looked up only once the warning period has begun (before it, nothing can have been raised for this expiry).
        reauthRecommended:
          cred.refreshTokenExpiresAt && reauthRecommendedAt(cred.refreshTokenExpiresAt.toISOString(), cfg.reauthRecommendedBeforeSeconds) <= Date.now()
            ? await alreadyRecommended(ds.manager, integration.tenantId, integration.id, grantIdOf(cred), cred.refreshTokenExpiresAt.toISOString(), cfg.reauthRecommendedBeforeSeconds)
            : false,
      };
    },

    /**
     * Refresh-token grant. The answer — possibly a rotated refresh token that invalidates the old one —
     * is written as the next credential version immediately, before anything else happens. Idempotent
     * per `refreshId`: a retry after a crash finds the version it already wrote.
     */
    async refreshCredentials(args: { integrationId: string; expectedVersion: number; refreshId: string }): Promise<RefreshResult> {
      const repo = ds.getRepository(CredentialVersion);
      const done = await repo
        .createQueryBuilder('cv')
        .where('cv.integration_id = :id', { id: args.integrationId })
        .andWhere(`cv.metadata->>'refreshId' = :rid`, { rid: args.refreshId })
        .getOne();
      if (done) return { outcome: 'refreshed', version: done.version!, expiresAt: done.expiresAt?.toISOString() ?? null };

      const integration = await ds.getRepository(Integration).findOneOrFail({ where: { id: args.integrationId } });
      // Disabled meanwhile (also on a retry): nothing goes to the CRM for it any more.
      if (integration.credentialVersion !== args.expectedVersion || integration.status === 'disabled') return countRefresh(integration.provider, { outcome: 'superseded' });
      const cred = await repo.findOneOrFail({ where: { integrationId: integration.id, version: args.expectedVersion } });
      const secret = openCredentialSecret(ring, cred);
      const provider = await providers.resolve(integration.tenantId, integration.provider);
      const app = await providers.oauthApp(integration.tenantId, integration.provider);
      if (!provider?.oauth2 || !app || !secret.refreshToken) {
        throw ApplicationFailure.create({ type: 'provider_not_configured', message: 'cannot refresh: no OAuth app or refresh token', nonRetryable: true });
      }
      let tokens;
      try {
        tokens = await refreshAccessToken(egress.forProvider(provider), provider.oauth2, app, secret.refreshToken, cred.region);
      } catch (err) {
        const verdict = err instanceof CrmError ? classifyRefreshError({ kind: err.kind, description: err.remoteDescription }) : null;
        if (verdict && Context.current().info.attempt > 1) {
          // The lost-answer window: an earlier attempt may have been answered (and the token rotated)
          // without our commit; outside a CRM's reuse grace period the old token is then refused.
          logger.log(`refresh of ${integration.id} refused on attempt ${Context.current().info.attempt}: an earlier attempt's answer may have been lost`, LOG_CONTEXT);
        }
        if (verdict) {
          // A reauthorization swapped newer credentials in meanwhile (and revoked this grant): not this integration's failure.
          if (await supersededSince(integration.id, args.expectedVersion)) return countRefresh(integration.provider, { outcome: 'superseded' });
          return countRefresh(integration.provider, { outcome: 'failed', status: verdict.status, reason: verdict.reason, detail: (err as Error).message });
        }
        countAttemptError('refresh', integration.provider);
        throw crmFailure(err);
      }
      const rotated = Boolean(tokens.refreshToken && tokens.refreshToken !== secret.refreshToken);
      const rtExpiry = refreshTokenExpiry({
        now: Date.now(),
        hasRefreshToken: true,
        statedExpiresAt: tokens.refreshTokenExpiresAt,
        previousStatedExpiresAt: typeof cred.metadata.refreshTokenStatedExpiresAt === 'string' ? cred.metadata.refreshTokenStatedExpiresAt : null,
        refreshTokenChanged: rotated,
        idleSeconds: provider.oauth2.refreshTokenPolicy?.idleSeconds,
      });
      // Persist first: if the refresh token rotated, the old one is already dead at the CRM.
      const stored = await ds.transaction(async (tx) => {
        const locked = await tx.findOneOrFail(Integration, { where: { id: integration.id }, lock: { mode: 'pessimistic_write' } });
        // An earlier attempt of this same refresh that outlived its timeout may have committed meanwhile.
        const committed = await tx
          .getRepository(CredentialVersion)
          .createQueryBuilder('cv')
          .where('cv.integration_id = :id', { id: integration.id })
          .andWhere(`cv.metadata->>'refreshId' = :rid`, { rid: args.refreshId })
          .getOne();
        if (committed) return { outcome: 'refreshed', version: committed.version!, expiresAt: committed.expiresAt?.toISOString() ?? null } as RefreshResult;
        if (locked.credentialVersion !== args.expectedVersion) {
          // A reauthorization swapped in newer credentials meanwhile; they win. These tokens belong
          // to the superseded grant and are dropped.
          logger.log(`refresh of ${integration.id} superseded by version ${locked.credentialVersion}`, LOG_CONTEXT);
          return { outcome: 'superseded' } as RefreshResult;
        }
        const version = await supersedeActiveVersion(tx, integration.id);
        await tx.save(
          sealedCredentialRow(tx, ring, {
            tenantId: integration.tenantId,
            integrationId: integration.id,
            version,
            state: 'active',
            credentials: {
              secret: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? secret.refreshToken },
              identity: { accountId: cred.accountId ?? '', userId: cred.userId, scopes: tokens.grantedScopes ?? cred.scopes },
              expiresAt: tokens.expiresAt,
              region: cred.region,
              baseUrl: tokens.metadata.apiBaseUrl ?? cred.baseUrl,
              refreshTokenExpiresAt: rtExpiry.expiresAt,
            },
            reauthorizationId: null,
            metadata: {
              ...withoutKey(cred.metadata, 'refreshTokenStatedExpiresAt'),
              ...tokens.metadata,
              refreshId: args.refreshId,
              rotated,
              // The grant these tokens belong to (the row its code exchange wrote): revoked as one.
              grantId: grantIdOf(cred),
              ...(rtExpiry.statedExpiresAt ? { refreshTokenStatedExpiresAt: rtExpiry.statedExpiresAt } : {}),
            },
          }),
        );
        await tx.update(Integration, { id: integration.id }, { credentialVersion: version, lastCheckedAt: new Date() });
        // Using the refresh token moved its idle window: a reauthorization recommended for the old expiry is moot.
        if (!rtExpiry.expiresAt || Date.parse(rtExpiry.expiresAt) - Date.now() > cfg.reauthRecommendedBeforeSeconds * 1000) {
          await tx.update(Alert, { integrationId: integration.id, code: REAUTH_RECOMMENDED_ALERT, resolvedAt: IsNull() }, { resolvedAt: new Date() });
        }
        await insertAudit(tx.getRepository(AuditEvent), {
          tenantId: integration.tenantId,
          integrationId: integration.id,
          type: 'credentials.refreshed',
          data: { fromVersion: args.expectedVersion, toVersion: version, rotated },
          dedupeKey: `refresh:${args.refreshId}`,
        });
        return { outcome: 'refreshed', version, expiresAt: tokens.expiresAt } as RefreshResult;
      });
      // Counted after the commit; a retry that finds this refresh done (above) counts nothing.
      return countRefresh(integration.provider, stored);
    },

    /**
     * Who-am-I with the current credentials, plus the scope check: required scopes of the integration
     * (missing → `missing_scopes`) and of the provider package (missing → `package_update`).
     */
    async checkCredentialHealth(args: { integrationId: string; expectedVersion: number }): Promise<RefreshResult> {
      const integration = await ds.getRepository(Integration).findOneOrFail({ where: { id: args.integrationId } });
      const counted = <R extends RefreshResult>(result: R): R => countCheck(integration.provider, result);
      if (integration.credentialVersion !== args.expectedVersion || integration.status === 'disabled') return counted({ outcome: 'superseded' });
      const cred = await ds.getRepository(CredentialVersion).findOneOrFail({ where: { integrationId: integration.id, version: args.expectedVersion } });
      const secret = openCredentialSecret(ring, cred);
      const provider = await providers.resolve(integration.tenantId, integration.provider);
      let scopes: string[];
      try {
        if (provider?.oauth2 && secret.accessToken) {
          scopes = (await whoAmIWithAccessToken(egress.forProvider(provider), provider.oauth2, { accessToken: secret.accessToken, metadata: cred.metadata as Record<string, string> })).scopes;
        } else if (provider?.apiToken && secret.apiToken) {
          scopes = (await whoAmIWithApiToken(egress.forProvider(provider), provider.apiToken, secret.apiToken)).scopes;
        } else {
          return counted({ outcome: 'healthy', status: integration.status === 'pending' ? 'pending' : 'active', reason: null });
        }
      } catch (err) {
        if (err instanceof CrmError) {
          // An expired access token is the refresh's business, not a health problem.
          const expired = cred.expiresAt && cred.expiresAt.getTime() <= Date.now();
          const verdict = classifyRefreshError({ kind: err.kind, description: err.remoteDescription });
          if (verdict && !(expired && err.kind === 'invalid_credentials')) {
            if (await supersededSince(integration.id, args.expectedVersion)) return counted({ outcome: 'superseded' });
            return counted({ outcome: 'failed', status: verdict.status, reason: verdict.reason, detail: err.message });
          }
        }
        countAttemptError('check', integration.provider);
        throw crmFailure(err);
      }
      await ds.getRepository(Integration).update({ id: integration.id }, { lastCheckedAt: new Date() });
      const granted = scopes.length ? scopes : cred.scopes;
      const pkg = await providers.packageRequirements(integration.tenantId, integration.provider);
      const missingRequired = integration.requiredScopes.filter((s) => !granted.includes(s));
      if (missingRequired.length) return counted({ outcome: 'failed', status: 'degraded', reason: 'missing_scopes', detail: `missing: ${missingRequired.join(', ')}` });
      const missingPackage = pkg.requiredScopes.filter((s) => !granted.includes(s));
      if (missingPackage.length) {
        return counted({ outcome: 'failed', status: 'degraded', reason: 'package_update', detail: `package v${pkg.packageVersion} needs: ${missingPackage.join(', ')}` });
      }
      return counted({ outcome: 'healthy', status: 'active', reason: null });
    },

    /**
     * Sets the integration's status, opening or resolving the admin alert in the same transaction.
     * Only applies while `expectedVersion` is still active (a newer swap has the last word).
     */
    async setIntegrationStatus(args: {
      integrationId: string;
      expectedVersion: number;
      status: 'active' | 'degraded' | 'blocked';
      reason: StatusReason | null;
    }): Promise<StatusChange> {
      return ds.transaction(async (tx) => {
        const integration = await tx.findOne(Integration, { where: { id: args.integrationId }, lock: { mode: 'pessimistic_write' } });
        if (!integration || integration.credentialVersion !== args.expectedVersion || integration.status === 'disabled') {
          return { changed: false, previousStatus: integration?.status ?? 'pending', superseded: true };
        }
        const previousStatus = integration.status;
        if (previousStatus === args.status && integration.statusReason === args.reason) return { changed: false, previousStatus, superseded: false };
        await tx.update(Integration, { id: integration.id }, { status: args.status, statusReason: args.reason });
        const providerName = (await providers.resolve(integration.tenantId, integration.provider, tx))?.name ?? integration.provider;
        if (args.status === 'active') {
          await tx.update(Alert, { integrationId: integration.id, resolvedAt: IsNull() }, { resolvedAt: new Date() });
        } else {
          const message = `${integration.displayName}: ${statusMessage(args.status, args.reason, providerName)}`;
          const open = await tx.findOne(Alert, { where: { integrationId: integration.id, resolvedAt: IsNull() } });
          if (open) await tx.update(Alert, { id: open.id }, { code: args.reason ?? args.status, level: alertLevel(args.status), message });
          else await tx.insert(Alert, { tenantId: integration.tenantId, integrationId: integration.id, code: args.reason ?? args.status, level: alertLevel(args.status), message });
        }
        await tx.insert(AuditEvent, {
          tenantId: integration.tenantId,
          integrationId: integration.id,
          type: 'integration.status_changed',
          data: { from: previousStatus, to: args.status, reason: args.reason, credentialVersion: args.expectedVersion } as never,
        });
        return { changed: true, previousStatus, superseded: false };
      });
    },
  };
}

function withoutKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}
