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
import type { ConnectIntegrationInput } from '../../../workflows/connect-integration.workflow';
import { ApiError, isUuid } from '../common/api-error';
import type { CreateIntegrationDto, UpdateIntegrationDto } from './integrations.dto';
import { integrationView, type IntegrationView } from '../../../libs/domain/integration-view';

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

  /** Asks the integration's refresh workflow to refresh (or check) now, starting it if needed. */
  async refreshNow(tenantId: string, id: string) {
    const integration = await this.findOwned(tenantId, id);
    if (integration.credentialVersion === null) throw ApiError.conflict('not_connected', 'This integration has no credentials to refresh yet.');
    const workflowId = `refresh:${integration.id}`;
    await this.temporal.workflow.signalWithStart('tokenRefresh', {
      workflowId,
      taskQueue: this.cfg.taskQueue,
      args: [{ tenantId, integrationId: integration.id }],
      signal: 'refreshNow',
      signalArgs: [],
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
    const creds = await this.ds.getRepository(CredentialVersion).find({ where: { integrationId: In(ids), state: 'active' } });
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

  async create(tenantId: string, dto: CreateIntegrationDto): Promise<IntegrationView> {
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
        await tx.insert(AuditEvent, { tenantId, integrationId: id, type: 'integration.created', data: { provider: base.provider, withCredentials: false } as never });
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
      await this.temporal.workflow.execute('connectIntegration', {
        workflowId: `${CONNECT_WORKFLOW_PREFIX}${id}`,
        taskQueue: this.cfg.taskQueue,
        args: [input],
        workflowExecutionTimeout: '2 minutes',
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
