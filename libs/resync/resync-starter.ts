import { type Client, WithStartWorkflowOperation } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { type DataSource, Not } from 'typeorm';
import type { AppConfig } from '../config/config';
import { Integration, Resync, ResyncEntity } from '../db/entities';
import {
  type EntityPlan,
  type FullResyncInput,
  type ResyncStatus,
  type ResyncTrigger,
  resyncWorkflowId,
} from '../domain/resync';
import type { ProviderRegistry } from '../providers/provider-registry';
import { hasBuiltInImporter } from '../providers/records-client';
import { StartRefused, updateWithStartBounded } from '../temporal/update-with-start';
import { awaitResyncStartedUpdate, FULL_RESYNC_WORKFLOW, type FullResyncWorkflow } from '../contracts';

/** A request the caller must fix (mapped to 4xx by the API, to a non-retryable failure by activities). */
export class ResyncRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 422 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ResyncRequestError';
  }
}

export interface StartResyncRequest {
  tenantId: string;
  integrationId: string;
  trigger: ResyncTrigger;
  reauthorizationId?: string | null;
  /** Only these entity types. */
  entities?: string[];
  /** Every entity type (otherwise: what failed last time, or everything if nothing failed). */
  all?: boolean;
  delegateTimeoutSeconds?: number;
  /** Id to use for a new re-sync (idempotent retries of the same start pass the same id). */
  resyncId?: string;
}

/** What a {@link ResyncStarter} works with; the API and the worker each hand over their own. */
export interface ResyncStarterDeps {
  dataSource: DataSource;
  config: AppConfig;
  providers: ProviderRegistry;
  temporal: Client;
}

/**
 * Starts a full re-sync, or joins the one already running for the integration (workflow id
 * `resync:<integrationId>`, conflict policy USE_EXISTING). Update-with-start answers once the
 * workflow has recorded its rows, with the id of whichever re-sync is running, so concurrent
 * requests all learn the same one. Reads Postgres to plan; writes nothing itself.
 * A plain class: the API provides it with a factory provider, the worker hands it to the activities.
 */
export class ResyncStarter {
  private readonly ds: DataSource;
  private readonly cfg: AppConfig;
  private readonly providers: ProviderRegistry;
  private readonly temporal: Client;

  constructor(deps: ResyncStarterDeps) {
    this.ds = deps.dataSource;
    this.cfg = deps.config;
    this.providers = deps.providers;
    this.temporal = deps.temporal;
  }

  /** Which entity types, each built-in or delegated. */
  async plan(req: StartResyncRequest): Promise<FullResyncInput> {
    const integration = await this.ds.getRepository(Integration).findOne({ where: { id: req.integrationId, tenantId: req.tenantId } });
    if (!integration) throw new ResyncRequestError(404, 'not_found', 'integration not found');
    if (integration.status === 'disabled') {
      throw new ResyncRequestError(409, 'integration_disabled', 'This integration is disabled. Enable it before re-syncing.');
    }
    if (integration.credentialVersion === null) {
      throw new ResyncRequestError(409, 'integration_not_connected', 'This integration has no credentials yet; connect it before re-syncing.');
    }
    const provider = await this.providers.resolve(req.tenantId, integration.provider);
    if (!provider) throw new ResyncRequestError(422, 'unknown_provider', `Provider "${integration.provider}" is no longer configured.`);
    const available = provider.entities;
    if (available.length === 0) throw new ResyncRequestError(422, 'nothing_to_resync', `Provider "${provider.key}" declares no entity types.`);

    let entities: string[];
    if (req.entities && req.entities.length > 0) {
      const unknown = req.entities.filter((e) => !available.includes(e));
      if (unknown.length) {
        throw new ResyncRequestError(400, 'unknown_entity', `Unknown entity type(s) ${unknown.map((e) => `"${e}"`).join(', ')}; ${provider.key} has ${available.join(', ')}.`);
      }
      entities = available.filter((e) => req.entities!.includes(e));
    } else if (req.all || req.trigger === 'reauthorization') {
      entities = available;
    } else {
      entities = (await this.failedLastTime(integration.id, available)) ?? available;
    }
    const mode: EntityPlan['mode'] = hasBuiltInImporter(provider, { sandboxCrmUrl: this.cfg.sandboxCrmUrl, crmMode: this.cfg.crmMode }) ? 'builtin' : 'delegated';
    return {
      resyncId: req.resyncId ?? randomUUID(),
      tenantId: req.tenantId,
      integrationId: integration.id,
      provider: provider.key,
      trigger: req.trigger,
      reauthorizationId: req.reauthorizationId ?? null,
      entities: entities.map((entity) => ({ entity, mode })),
      delegateTimeoutSeconds: req.delegateTimeoutSeconds ?? this.cfg.resyncDelegateTimeoutSeconds,
    };
  }

  /** The entity types that did not complete in the last finished re-sync, if it was not a full success. */
  private async failedLastTime(integrationId: string, available: string[]): Promise<string[] | null> {
    const last = await this.ds.getRepository(Resync).findOne({
      where: { integrationId, status: Not('running') },
      order: { createdAt: 'DESC' },
    });
    if (!last || last.status === 'completed') return null;
    const rows = await this.ds.getRepository(ResyncEntity).find({ where: { resyncId: last.id } });
    const failed = rows.filter((r) => r.status !== 'completed').map((r) => r.entity);
    const retry = available.filter((e) => failed.includes(e));
    return retry.length ? retry : null;
  }

  async start(req: StartResyncRequest): Promise<{ resyncId: string; created: boolean }> {
    if (req.resyncId) {
      // A retried start (e.g. the re-authorization's activity after a crash) finds what it started.
      const existing = await this.ds.getRepository(Resync).findOne({ where: { id: req.resyncId } });
      if (existing) return { resyncId: existing.id, created: false };
    }
    const input = await this.plan(req);
    for (let attempt = 0; ; attempt++) {
      const startOp = new WithStartWorkflowOperation<FullResyncWorkflow>(FULL_RESYNC_WORKFLOW, {
        workflowId: resyncWorkflowId(input.integrationId),
        taskQueue: this.cfg.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `Full re-sync (${input.trigger}): ${input.entities.map((e) => `${e.entity}/${e.mode}`).join(', ')}`,
      });
      let started: { resyncId: string; status: ResyncStatus };
      try {
        started = await updateWithStartBounded(this.temporal, awaitResyncStartedUpdate, startOp);
      } catch (err) {
        if (err instanceof StartRefused && err.reason === 'rejected') throw new ResyncRequestError(422, err.type ?? 'resync_failed', err.message);
        if (err instanceof StartRefused) {
          throw new ResyncRequestError(503, 'temporal_unavailable', 'The re-sync could not be started in time. Try again shortly.');
        }
        // The running re-sync closed between our start and our update: start again.
        if (attempt < 5) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        throw err;
      }
      // Joined a re-sync that is finishing right now: wait for it to close, then start a new one.
      if (started.resyncId !== input.resyncId && started.status !== 'running' && attempt < 20) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      return { resyncId: started.resyncId, created: started.resyncId === input.resyncId };
    }
  }
}
