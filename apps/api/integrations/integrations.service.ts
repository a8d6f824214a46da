import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ApplicationFailure, Client, WorkflowFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { DataSource, In, IsNull } from 'typeorm';
import type { AppConfig } from '../../../libs/config/config';
import { AuditEvent, CredentialVersion, Integration, Reauthorization } from '../../../libs/db/entities';
import { CONNECT_WORKFLOW_PREFIX } from '../../../libs/domain/reauthorization';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { ProviderRegistry } from '../../../libs/providers/provider-registry';
import {
  CONNECT_INTEGRATION_WORKFLOW,
  type ConnectIntegrationInput,
  type ConnectIntegrationWorkflow,
  INTEGRATION_LIFECYCLE_WORKFLOW,
  type IntegrationLifecycleInput,
  type IntegrationLifecycleWorkflow,
  type LifecycleOperation,
  lifecycleWorkflowId,
} from '../../../libs/contracts';
import type { AuditActor } from '../../../libs/domain/audit';
import { ApiError, isUuid } from '../common/api-error';
import type { CreateIntegrationDto, UpdateIntegrationDto } from './integrations.dto';
import { integrationView, type IntegrationView } from '../../../libs/domain/integration-view';
import { signalTokenRefresh } from '../../../libs/temporal/token-refresh-signal';
import { connectIntegrationSummary } from '../../../libs/domain/workflow-texts';

@Injectable()
export class IntegrationsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    private readonly providers: ProviderRegistry,
    private readonly temporal: Client,
  ) {}

  /** Loads an integration of this tenant or answers 404 (also for other tenants' ids). */
  async findOwned(tenantId: string, id: string): Promise<Integration> {
    if (!isUuid(id)) throw ApiError.notFound('integration');
    const integration = await this.ds.getRepository(Integration).findOne({ where: { id, tenantId } });
    if (!integration) throw ApiError.notFound('integration');
    return integration;
  }

  /** A disabled integration does nothing until it is enabled again: no reauthorization, refresh or re-sync. */
  assertEnabled(integration: Integration): void {
    if (integration.status === 'disabled') {
      throw ApiError.conflict('integration_disabled', 'This integration is disabled. Enable it first (POST /v1/integrations/:id/enable).');
    }
  }

  /** Asks the integration's refresh workflow to refresh (or check) now, starting it if needed. */
  async refreshNow(tenantId: string, id: string) {
    const integration = await this.findOwned(tenantId, id);
    this.assertEnabled(integration);
    if (integration.credentialVersion === null) throw ApiError.conflict('not_connected', 'This integration has no credentials to refresh yet.');
    const providerName = (await this.providers.resolve(tenantId, integration.provider))?.name ?? integration.provider;
    const workflowId = await signalTokenRefresh(this.temporal, this.cfg.taskQueue, { tenantId, integrationId: integration.id }, 'refreshNow', {
      providerName,
      displayName: integration.displayName,
    });
    return { integrationId: integration.id, workflowId, requested: true };
  }

  async view(integration: Integration): Promise<IntegrationView> {
    const [view] = await this.views([integration]);
    return view;
  }

  async views(integrations: Integration[]): Promise<IntegrationView[]> {
    if (integrations.length === 0) return [];
    const ids = integrations.map((i) => i.id);
    // The version each row names, whatever its state now: a swap or refresh that commits between the
    // two reads has superseded it, and looking for the active one would then find none (the version's
    // facts are immutable, so this is the integration as of its row).
    const connected = integrations.filter((i) => i.credentialVersion !== null);
    const creds = connected.length
      ? await this.ds.getRepository(CredentialVersion).find({ where: connected.map((i) => ({ integrationId: i.id, version: i.credentialVersion! })) })
      : [];
    const reauths = await this.ds.getRepository(Reauthorization).find({
      where: { integrationId: In(ids), outcome: IsNull() },
      order: { createdAt: 'DESC' },
    });
    const providers = await this.providers.list(integrations[0].tenantId);
    return integrations.map((i) =>
      integrationView(
        i,
        creds.find((c) => c.integrationId === i.id && c.version === i.credentialVersion) ?? null,
        reauths.find((r) => r.integrationId === i.id) ?? null,
        providers.find((p) => p.key === i.provider)?.name ?? i.provider,
      ),
    );
  }

  async list(tenantId: string): Promise<IntegrationView[]> {
    const rows = await this.ds.getRepository(Integration).find({ where: { tenantId }, order: { createdAt: 'ASC' } });
    return this.views(rows);
  }

  /** Turns the integration off: refreshes and checks stop, an open reauthorization is cancelled, nothing new starts. */
  async disable(tenantId: string, id: string, actor: AuditActor): Promise<IntegrationView> {
    const integration = await this.runLifecycle(tenantId, id, 'disable', actor);
    return this.view(await this.findOwned(tenantId, integration.id));
  }

  /** Turns it back on; the answer carries the status its credentials were found in (active, degraded, blocked). */
  async enable(tenantId: string, id: string, actor: AuditActor): Promise<IntegrationView> {
    const integration = await this.runLifecycle(tenantId, id, 'enable', actor);
    return this.view(await this.findOwned(tenantId, integration.id));
  }

  /** Ends its workflows, destroys its secrets and deletes it; the audit trail stays. */
  async remove(tenantId: string, id: string, actor: AuditActor): Promise<void> {
    await this.runLifecycle(tenantId, id, 'delete', actor);
  }

  /**
   * The change runs as the `integrationLifecycle` workflow (the API writes no integration state
   * itself) and the request waits for it. Another tenant's id, or one deleted meanwhile, is a 404.
   */
  private async runLifecycle(tenantId: string, id: string, operation: LifecycleOperation, actor: AuditActor): Promise<Integration> {
    const integration = await this.findOwned(tenantId, id);
    const requestId = randomUUID();
    const input: IntegrationLifecycleInput = { tenantId, integrationId: integration.id, operation, requestId, actor };
    let outcome: string;
    try {
      ({ outcome } = await this.temporal.workflow.execute<IntegrationLifecycleWorkflow>(INTEGRATION_LIFECYCLE_WORKFLOW, {
        workflowId: lifecycleWorkflowId(integration.id, operation, requestId),
        taskQueue: this.cfg.taskQueue,
        args: [input],
        // A delete already running for this integration is joined, not raced.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowExecutionTimeout: '3 minutes',
      }));
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'lifecycle_incomplete', `The ${operation} did not complete. Try again; repeating it is safe.`);
      }
      throw err;
    }
    if (outcome === 'not_found') throw ApiError.notFound('integration');
    return integration;
  }

  async create(tenantId: string, dto: CreateIntegrationDto, actor?: AuditActor): Promise<IntegrationView> {
    const provider = await this.providers.resolve(tenantId, dto.provider);
    if (!provider) throw ApiError.unprocessable('unknown_provider', `Unknown provider "${dto.provider}". See GET /v1/providers.`);
    const id = randomUUID();
    const base = {
      integrationId: id,
      tenantId,
      provider: provider.key,
      authType: provider.authType,
      displayName: dto.displayName ?? provider.name,
      region: dto.region ?? null,
      config: dto.config ?? {},
      requiredScopes: dto.requiredScopes ?? [],
    };

    if (!dto.credentials) {
      await this.ds.transaction(async (tx) => {
        await tx.insert(Integration, {
          id,
          tenantId,
          provider: base.provider,
          authType: base.authType,
          displayName: base.displayName,
          status: 'pending',
          region: base.region,
          config: base.config as never,
          requiredScopes: base.requiredScopes,
          credentialVersion: null,
        });
        await tx.insert(AuditEvent, {
          tenantId,
          integrationId: id,
          type: 'integration.created',
          data: { provider: base.provider, withCredentials: false } as never,
          ...(actor ? { actorKind: actor.kind, actorId: actor.id ?? null } : {}),
        });
      });
      return this.view(await this.findOwned(tenantId, id));
    }

    const c = dto.credentials;
    if (provider.authType === 'api_token' && !c.apiToken) {
      throw ApiError.badRequest('validation_error', `credentials.apiToken is required for provider "${provider.key}"`);
    }
    if (provider.authType === 'oauth2' && !c.accessToken) {
      throw ApiError.badRequest('validation_error', `credentials.accessToken is required for provider "${provider.key}"`);
    }
    const input: ConnectIntegrationInput = {
      ...base,
      secret: { apiToken: c.apiToken, accessToken: c.accessToken, refreshToken: c.refreshToken },
      expiresAt: c.expiresAt ?? null,
      scopes: c.scopes,
    };
    // Credentials are written by a workflow (validated first); the API never writes them itself.
    try {
      await this.temporal.workflow.execute<ConnectIntegrationWorkflow>(CONNECT_INTEGRATION_WORKFLOW, {
        workflowId: `${CONNECT_WORKFLOW_PREFIX}${id}`,
        taskQueue: this.cfg.taskQueue,
        args: [input],
        workflowExecutionTimeout: '2 minutes',
        staticSummary: connectIntegrationSummary({ integrationId: id, providerName: provider.name, displayName: base.displayName }, provider.authType),
      });
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && err.cause.type) {
        const status = err.cause.type === 'crm_unavailable' ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.UNPROCESSABLE_ENTITY;
        throw new ApiError(status, err.cause.type, err.cause.message);
      }
      throw err;
    }
    return this.view(await this.findOwned(tenantId, id));
  }

  async update(tenantId: string, id: string, dto: UpdateIntegrationDto): Promise<IntegrationView> {
    const integration = await this.findOwned(tenantId, id);
    const patch: Partial<Integration> = {};
    if (dto.displayName !== undefined) patch.displayName = dto.displayName;
    if (dto.config !== undefined) patch.config = dto.config;
    if (Object.keys(patch).length) {
      await this.ds.getRepository(Integration).update({ id: integration.id, tenantId }, patch as never);
    }
    return this.view(await this.findOwned(tenantId, id));
  }
}
