import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DataSource, IsNull } from 'typeorm';
import type { AppConfig } from '../libs/config/config';
import { KeyRing } from '../libs/crypto/key-ring';
import { openCredentialSecret, sealedCredentialRow, supersedeActiveVersion } from '../libs/db/credential-store';
import { Alert, AuditEvent, CredentialVersion, Integration } from '../libs/db/entities';
import { alertLevel, classifyRefreshError, statusMessage, type StatusReason } from '../libs/domain/status';
import { APP_CONFIG, CREDENTIALS_KEY_RING } from '../libs/nest/tokens';
import { whoAmIWithApiToken } from '../libs/providers/api-token-client';
import { CrmError } from '../libs/providers/errors';
import { refreshAccessToken, whoAmIWithAccessToken } from '../libs/providers/oauth-client';
import { ProviderRegistry } from '../libs/providers/provider-registry';
import type { RefreshPlan, RefreshResult, StatusChange } from '../workflows/activity-types';
import { crmFailure } from './crm.activities';
import { insertAudit } from './reauthorization.activities';

/**
 * Keeping credentials fresh and healthy (the `tokenRefresh` workflow's activities). Every write is
 * a compare-and-swap on the integration's credential version, so nothing here can overwrite newer
 * credentials from a reauthorization.
 */
@Injectable()
export class RefreshActivities {
  private readonly logger = new Logger('RefreshActivities');

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    private readonly providers: ProviderRegistry,
    private readonly temporal: Client,
  ) {}

  /** New active credentials: (re)start the integration's refresh / health-check workflow. */
  async credentialsChanged(args: { tenantId: string; integrationId: string }): Promise<void> {
    await this.temporal.workflow.signalWithStart('tokenRefresh', {
      workflowId: `refresh:${args.integrationId}`,
      taskQueue: this.cfg.taskQueue,
      args: [{ tenantId: args.tenantId, integrationId: args.integrationId }],
      signal: 'credentialsUpdated',
      signalArgs: [],
    });
  }

  /** What the refresh workflow needs to schedule itself; no secret. */
  async loadRefreshPlan(args: { integrationId: string }): Promise<RefreshPlan> {
    const integration = await this.ds.getRepository(Integration).findOne({ where: { id: args.integrationId } });
    if (!integration || integration.credentialVersion === null) {
      return { exists: Boolean(integration), status: integration?.status ?? 'pending', credentialVersion: null } as RefreshPlan;
    }
    const cred = await this.ds.getRepository(CredentialVersion).findOneOrFail({
      where: { integrationId: integration.id, version: integration.credentialVersion },
    });
    const secret = openCredentialSecret(this.ring, cred);
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
      marginSeconds: this.cfg.refreshMarginSeconds,
      jitterSeconds: this.cfg.refreshJitterSeconds,
      healthCheckIntervalSeconds: this.cfg.healthCheckIntervalSeconds,
    };
  }

  /**
   * Refresh-token grant. The answer — possibly a rotated refresh token that invalidates the old one —
   * is written as the next credential version immediately, before anything else happens. Idempotent
   * per `refreshId`: a retry after a crash finds the version it already wrote.
   */
  async refreshCredentials(args: { integrationId: string; expectedVersion: number; refreshId: string }): Promise<RefreshResult> {
    const repo = this.ds.getRepository(CredentialVersion);
    const done = await repo
      .createQueryBuilder('cv')
      .where('cv.integration_id = :id', { id: args.integrationId })
      .andWhere(`cv.metadata->>'refreshId' = :rid`, { rid: args.refreshId })
      .getOne();
    if (done) return { outcome: 'refreshed', version: done.version!, expiresAt: done.expiresAt?.toISOString() ?? null };

    const integration = await this.ds.getRepository(Integration).findOneOrFail({ where: { id: args.integrationId } });
    if (integration.credentialVersion !== args.expectedVersion) return { outcome: 'superseded' };
    const cred = await repo.findOneOrFail({ where: { integrationId: integration.id, version: args.expectedVersion } });
    const secret = openCredentialSecret(this.ring, cred);
    const provider = await this.providers.resolve(integration.tenantId, integration.provider);
    const app = await this.providers.oauthApp(integration.tenantId, integration.provider);
    if (!provider?.oauth2 || !app || !secret.refreshToken) {
      throw ApplicationFailure.create({ type: 'provider_not_configured', message: 'cannot refresh: no OAuth app or refresh token', nonRetryable: true });
    }
    let tokens;
    try {
      tokens = await refreshAccessToken(provider.oauth2, app, secret.refreshToken, cred.region);
    } catch (err) {
      const verdict = err instanceof CrmError ? classifyRefreshError({ kind: err.kind, description: err.message }) : null;
      if (verdict) return { outcome: 'failed', status: verdict.status, reason: verdict.reason, detail: (err as Error).message };
      throw crmFailure(err);
    }
    // Persist first: if the refresh token rotated, the old one is already dead at the CRM.
    return this.ds.transaction(async (tx) => {
      const locked = await tx.findOneOrFail(Integration, { where: { id: integration.id }, lock: { mode: 'pessimistic_write' } });
      if (locked.credentialVersion !== args.expectedVersion) {
        // A reauthorization swapped in newer credentials meanwhile; they win. These tokens belong
        // to the superseded grant and are dropped.
        this.logger.log(`refresh of ${integration.id} superseded by version ${locked.credentialVersion}`);
        return { outcome: 'superseded' } as RefreshResult;
      }
      const version = await supersedeActiveVersion(tx, integration.id);
      await tx.save(
        sealedCredentialRow(tx, this.ring, {
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
          },
          reauthorizationId: null,
          metadata: { ...cred.metadata, ...tokens.metadata, refreshId: args.refreshId, rotated: Boolean(tokens.refreshToken && tokens.refreshToken !== secret.refreshToken) },
        }),
      );
      await tx.update(Integration, { id: integration.id }, { credentialVersion: version, lastCheckedAt: new Date() });
      await insertAudit(tx.getRepository(AuditEvent), {
        tenantId: integration.tenantId,
        integrationId: integration.id,
        type: 'credentials.refreshed',
        data: { fromVersion: args.expectedVersion, toVersion: version, rotated: Boolean(tokens.refreshToken && tokens.refreshToken !== secret.refreshToken) },
        dedupeKey: `refresh:${args.refreshId}`,
      });
      return { outcome: 'refreshed', version, expiresAt: tokens.expiresAt } as RefreshResult;
    });
  }

  /**
   * Who-am-I with the current credentials, plus the scope check: required scopes of the integration
   * (missing → `missing_scopes`) and of the provider package (missing → `package_update`).
   */
  async checkCredentialHealth(args: { integrationId: string; expectedVersion: number }): Promise<RefreshResult> {
    const integration = await this.ds.getRepository(Integration).findOneOrFail({ where: { id: args.integrationId } });
    if (integration.credentialVersion !== args.expectedVersion) return { outcome: 'superseded' };
    const cred = await this.ds.getRepository(CredentialVersion).findOneOrFail({ where: { integrationId: integration.id, version: args.expectedVersion } });
    const secret = openCredentialSecret(this.ring, cred);
    const provider = await this.providers.resolve(integration.tenantId, integration.provider);
    let scopes: string[];
    try {
      if (provider?.oauth2 && secret.accessToken) {
        scopes = (await whoAmIWithAccessToken(provider.oauth2, { accessToken: secret.accessToken, metadata: cred.metadata as Record<string, string> })).scopes;
      } else if (provider?.apiToken && secret.apiToken) {
        scopes = (await whoAmIWithApiToken(provider.apiToken, secret.apiToken)).scopes;
      } else {
        return { outcome: 'healthy', status: integration.status === 'pending' ? 'pending' : 'active', reason: null };
      }
    } catch (err) {
      if (err instanceof CrmError) {
        // An expired access token is the refresh's business, not a health problem.
        const expired = cred.expiresAt && cred.expiresAt.getTime() <= Date.now();
        const verdict = classifyRefreshError({ kind: err.kind, description: err.message });
        if (verdict && !(expired && err.kind === 'invalid_credentials')) {
          return { outcome: 'failed', status: verdict.status, reason: verdict.reason, detail: err.message };
        }
      }
      throw crmFailure(err);
    }
    await this.ds.getRepository(Integration).update({ id: integration.id }, { lastCheckedAt: new Date() });
    const granted = scopes.length ? scopes : cred.scopes;
    const pkg = await this.providers.packageRequirements(integration.tenantId, integration.provider);
    const missingRequired = integration.requiredScopes.filter((s) => !granted.includes(s));
    if (missingRequired.length) return { outcome: 'failed', status: 'degraded', reason: 'missing_scopes', detail: `missing: ${missingRequired.join(', ')}` };
    const missingPackage = pkg.requiredScopes.filter((s) => !granted.includes(s));
    if (missingPackage.length) {
      return { outcome: 'failed', status: 'degraded', reason: 'package_update', detail: `package v${pkg.packageVersion} needs: ${missingPackage.join(', ')}` };
    }
    return { outcome: 'healthy', status: 'active', reason: null };
  }

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
    return this.ds.transaction(async (tx) => {
      const integration = await tx.findOne(Integration, { where: { id: args.integrationId }, lock: { mode: 'pessimistic_write' } });
      if (!integration || integration.credentialVersion !== args.expectedVersion || integration.status === 'disabled') {
        return { changed: false, previousStatus: integration?.status ?? 'pending', superseded: true };
      }
      const previousStatus = integration.status;
      if (previousStatus === args.status && integration.statusReason === args.reason) return { changed: false, previousStatus, superseded: false };
      await tx.update(Integration, { id: integration.id }, { status: args.status, statusReason: args.reason });
      const providerName = (await this.providers.resolve(integration.tenantId, integration.provider))?.name ?? integration.provider;
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
  }
}
