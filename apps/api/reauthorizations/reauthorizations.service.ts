import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  ApplicationFailure,
  Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../../libs/config/config';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { linkTokenAad } from '../../../libs/crypto/link-token';
import { Reauthorization } from '../../../libs/db/entities';
import { reauthWorkflowId, type ReauthorizationInput, type ReauthorizationStatus } from '../../../libs/domain/reauthorization';
import { reauthorizationSummary } from '../../../libs/domain/workflow-texts';
import { APP_CONFIG, CREDENTIALS_KEY_RING } from '../../../libs/nest/tokens';
import { ProviderRegistry } from '../../../libs/providers/provider-registry';
import { StartRefused, updateWithStartBounded } from '../../../libs/temporal/update-with-start';
import { oauthAttemptAad, type SealedAttempt } from '../../../libs/crypto/oauth-attempt';
import { awaitStartedUpdate, cancelUpdate, REAUTHORIZATION_WORKFLOW, type ReauthorizationWorkflow, submitApiTokenUpdate } from '../../../libs/contracts';
import { ApiError, isUuid } from '../common/api-error';
import { IntegrationsService } from '../integrations/integrations.service';
import type { StartReauthorizationDto } from '../integrations/integrations.dto';

/** Failure codes that are the caller's input, each with its HTTP status. */
const UPDATE_FAILURE_STATUS: Record<string, HttpStatus> = {
  invalid_credentials: HttpStatus.UNPROCESSABLE_ENTITY,
  account_mismatch: HttpStatus.UNPROCESSABLE_ENTITY,
  missing_scopes: HttpStatus.UNPROCESSABLE_ENTITY,
  url_not_allowed: HttpStatus.UNPROCESSABLE_ENTITY,
  invalid_account_id: HttpStatus.UNPROCESSABLE_ENTITY,
  reauthorization_closed: HttpStatus.CONFLICT,
  crm_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/**
 * Starts, signals and updates `reauthorization` workflows. It never touches credentials: the
 * workflow validates and swaps them; this service maps its answers to HTTP.
 */
@Injectable()
export class ReauthorizationsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
    private readonly integrations: IntegrationsService,
    private readonly temporal: Client,
    private readonly providers: ProviderRegistry,
  ) {}

  /** Starts a reauthorization, or returns the one already running for the integration (`created: false`). */
  async start(tenantId: string, integrationId: string, dto: StartReauthorizationDto) {
    const integration = await this.integrations.findOwned(tenantId, integrationId);
    this.integrations.assertEnabled(integration);
    if (integration.authType === 'oauth2' && !(await this.providers.oauthApp(tenantId, integration.provider))) {
      throw ApiError.unprocessable(
        'provider_not_configured',
        `No OAuth app is configured for "${integration.provider}". Set it with PUT /v1/providers/${integration.provider} {clientId, clientSecret}.`,
      );
    }
    if (dto.region) {
      const def = (await this.providers.resolve(tenantId, integration.provider))?.oauth2;
      if (!def?.regions || !def.regions[dto.region]) {
        throw ApiError.badRequest('validation_error', `region "${dto.region}" is not a data center of ${integration.provider}`);
      }
    }
    const input: ReauthorizationInput = {
      reauthorizationId: randomUUID(),
      tenantId,
      integrationId: integration.id,
      provider: integration.provider,
      authType: integration.authType === 'oauth2' ? 'oauth2' : 'api_token',
      fullResync: dto.fullResync ?? false,
      scopes: dto.scopes ?? [],
      region: dto.region ?? null,
      reason: dto.reason ?? null,
      expiresInSeconds: dto.expiresInSeconds ?? this.cfg.reauthDefaultExpirySeconds,
      allowAccountChange: dto.allowAccountChange ?? false,
    };
    // The line the Temporal UI's list shows for the run (names only, no link or token).
    const providerName = (await this.providers.resolve(tenantId, integration.provider))?.name ?? integration.provider;
    const summary = reauthorizationSummary({ integrationId: integration.id, providerName, displayName: integration.displayName }, input.authType);
    // Update-with-start is atomic: concurrent requests for one integration all land on one workflow
    // (conflict policy USE_EXISTING) and each learns which reauthorization that is.
    for (let attempt = 0; ; attempt++) {
      const startOp = new WithStartWorkflowOperation<ReauthorizationWorkflow>(REAUTHORIZATION_WORKFLOW, {
        workflowId: reauthWorkflowId(integration.id),
        taskQueue: this.cfg.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: summary,
      });
      const status = await this.startOrJoin(startOp);
      // The running one may be finishing right now (its outcome is set, or it closed before taking
      // our update: null); then a new one must start.
      if ((status === null || status.outcome !== null) && attempt < 100) {
        await new Promise((r) => setTimeout(r, Math.min(25 * (attempt + 1), 250)));
        continue;
      }
      if (status === null || status.outcome !== null) {
        throw ApiError.conflict('reauthorization_finishing', 'The previous reauthorization of this integration is still closing. Try again in a moment.');
      }
      const row = await this.findOwned(tenantId, status.id);
      return { created: status.id === input.reauthorizationId, body: this.startView(row) };
    }
  }

  /**
   * Update-with-start under a deadline, its refusals in the API's words; null when the running
   * reauthorization closed between being joined and taking the update (the server then answers
   * FAILED_PRECONDITION for the whole operation: seen on the cluster topology), so the caller starts again.
   */
  private async startOrJoin(startOp: WithStartWorkflowOperation<ReauthorizationWorkflow>): Promise<ReauthorizationStatus | null> {
    try {
      return await updateWithStartBounded(this.temporal, awaitStartedUpdate, startOp);
    } catch (err) {
      if (!(err instanceof StartRefused) && (err as { code?: number }).code === 9 /* FAILED_PRECONDITION */) {
        return null;
      }
      if (!(err instanceof StartRefused)) throw err;
      if (err.reason === 'rejected' && err.type === 'integration_disabled') throw ApiError.conflict(err.type, err.message);
      if (err.reason === 'rejected') throw ApiError.unprocessable(err.type ?? 'reauthorization_failed', err.message);
      throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'temporal_unavailable', 'The reauthorization could not be started in time. Try again shortly.');
    }
  }

  async findOwned(tenantId: string, id: string): Promise<Reauthorization> {
    if (!isUuid(id)) throw ApiError.notFound('reauthorization');
    const row = await this.ds.getRepository(Reauthorization).findOne({ where: { id, tenantId } });
    if (!row) throw ApiError.notFound('reauthorization');
    return row;
  }

  private linkToken(row: Reauthorization): string {
    return this.ring.openJson<string>({ keyId: row.linkTokenKeyId, data: row.linkTokenCiphertext }, linkTokenAad(row.id));
  }

  /** The consent URL of the current OAuth attempt (holds `state`; shown to the tenant's admin only). */
  authorizeUrl(row: Reauthorization): string | undefined {
    if (row.authType !== 'oauth2' || !row.oauthKeyId || !row.oauthCiphertext || row.outcome !== null) return undefined;
    return this.ring.openJson<SealedAttempt>({ keyId: row.oauthKeyId, data: row.oauthCiphertext }, oauthAttemptAad(row.id)).authorizeUrl;
  }

  linkUrl(row: Reauthorization): string {
    return this.linkUrlFor(this.linkToken(row));
  }

  private linkUrlFor(linkToken: string): string {
    return `${this.cfg.publicUrl}/connect/${linkToken}`;
  }

  private startView(row: Reauthorization) {
    const linkToken = this.linkToken(row);
    return {
      id: row.id,
      integrationId: row.integrationId,
      workflowId: row.workflowId,
      authType: row.authType,
      phase: row.phase,
      linkToken,
      linkUrl: this.linkUrlFor(linkToken),
      authorizeUrl: this.authorizeUrl(row),
      expiresAt: row.expiresAt.toISOString(),
      fullResync: row.fullResync,
    };
  }

  view(row: Reauthorization) {
    // The link (sealed on the row) is only shown while the reauthorization is open.
    const linkToken = row.outcome === null ? this.linkToken(row) : null;
    return {
      id: row.id,
      integrationId: row.integrationId,
      workflowId: row.workflowId,
      authType: row.authType,
      phase: row.phase,
      outcome: row.outcome,
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
      attempts: row.attempts,
      fullResync: row.fullResync,
      resyncId: row.resyncId,
      scopes: row.scopes,
      region: row.region,
      reason: row.reason,
      ...(linkToken ? { linkToken, linkUrl: this.linkUrlFor(linkToken), authorizeUrl: this.authorizeUrl(row) } : {}),
      expiresAt: row.expiresAt.toISOString(),
      createdAt: row.createdAt.toISOString(),
      completedAt: row.completedAt ? row.completedAt.toISOString() : null,
    };
  }

  async get(tenantId: string, id: string) {
    return this.view(await this.findOwned(tenantId, id));
  }

  handle(row: Reauthorization) {
    return this.temporal.workflow.getHandle(row.workflowId, row.runId ?? undefined);
  }

  /** Hands the token to the workflow as an Update: the answer comes after validation (and swap). */
  async submitApiToken(tenantId: string, id: string, apiToken: string) {
    const row = await this.findOwned(tenantId, id);
    if (row.authType !== 'api_token') {
      throw ApiError.conflict('wrong_auth_type', 'This reauthorization expects an OAuth callback, not an API token');
    }
    if (row.outcome !== null) throw ApiError.conflict('reauthorization_closed', `This reauthorization is already ${row.outcome}. Start a new one.`);
    await this.runUpdate(() => this.handle(row).executeUpdate(submitApiTokenUpdate, { args: [{ apiToken }] }));
    return this.get(tenantId, id);
  }

  async cancel(tenantId: string, id: string, reason?: string) {
    const row = await this.findOwned(tenantId, id);
    if (row.outcome !== null) throw ApiError.conflict('reauthorization_closed', `This reauthorization is already ${row.outcome}.`);
    await this.runUpdate(() => this.handle(row).executeUpdate(cancelUpdate, { args: [{ reason }] }));
    return this.get(tenantId, id);
  }

  async runUpdate<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw ApiError.conflict('reauthorization_closed', 'This reauthorization is already finished. Start a new one.');
      }
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        const type = err.cause.type ?? '';
        const status = UPDATE_FAILURE_STATUS[type];
        if (status) throw new ApiError(status, type, err.cause.message);
        // Rejected by the update's validator: the input was wrong.
        throw ApiError.badRequest('invalid_request', err.cause.message);
      }
      throw err;
    }
  }
}
