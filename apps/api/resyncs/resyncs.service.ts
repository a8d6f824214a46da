import { HttpStatus, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { DataSource } from 'typeorm';
import { Resync, ResyncEntity } from '../../../libs/db/entities';
import { entityResyncWorkflowId, FINAL_ENTITY_STATUSES, FINAL_RESYNC_STATUSES, type ResyncError } from '../../../libs/domain/resync';
import { ResyncRequestError, ResyncStarter } from '../../../libs/resync/resync-starter';
import { entityCompletedSignal } from '../../../libs/contracts';
import { ApiError, isUuid } from '../common/api-error';
import { IntegrationsService } from '../integrations/integrations.service';
import { type CompleteResyncEntityDto, normalizeError, type StartResyncDto } from './resyncs.dto';

const POLL_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Full re-syncs over HTTP. Starts and signals the `fullResync` / `entityResync` workflows and reads
 * the rows they keep; it writes nothing itself.
 */
@Injectable()
export class ResyncsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly starter: ResyncStarter,
    private readonly integrations: IntegrationsService,
    private readonly temporal: Client,
  ) {}

  async start(tenantId: string, integrationId: string, dto: StartResyncDto) {
    if (!isUuid(integrationId)) throw ApiError.notFound('integration');
    if (dto.all && dto.entities) throw ApiError.badRequest('validation_error', 'Give either entities or all, not both');
    let started: { resyncId: string; created: boolean };
    try {
      started = await this.starter.start({
        tenantId,
        integrationId,
        trigger: 'api',
        entities: dto.entities,
        all: dto.all,
        delegateTimeoutSeconds: dto.delegateTimeoutSeconds,
      });
    } catch (err) {
      if (err instanceof ResyncRequestError) {
        if (err.status === 404) throw ApiError.notFound('integration');
        throw new ApiError(err.status as HttpStatus, err.code, err.message);
      }
      throw err;
    }
    return { created: started.created, body: await this.view(await this.findOwned(tenantId, started.resyncId)) };
  }

  async list(tenantId: string, integrationId: string) {
    const integration = await this.integrations.findOwned(tenantId, integrationId);
    const rows = await this.ds.getRepository(Resync).find({ where: { tenantId, integrationId: integration.id }, order: { createdAt: 'DESC' }, take: 100 });
    return { data: await this.views(rows) };
  }

  async findOwned(tenantId: string, id: string): Promise<Resync> {
    if (!isUuid(id)) throw ApiError.notFound('resync');
    const row = await this.ds.getRepository(Resync).findOne({ where: { id, tenantId } });
    if (!row) throw ApiError.notFound('resync');
    return row;
  }

  /** Long-polls Postgres (the workflow's mirror) until the re-sync is final or `waitSeconds` pass. */
  async get(tenantId: string, id: string, waitSeconds: number, clientGone: () => boolean = () => false) {
    let row = await this.findOwned(tenantId, id);
    const deadline = Date.now() + waitSeconds * 1000;
    while (row.status === 'running' && Date.now() < deadline && !clientGone()) {
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
      const [status] = (await this.ds.query('SELECT status FROM resyncs WHERE id = $1', [id])) as Array<{ status: string }>;
      if (status && FINAL_RESYNC_STATUSES.has(status.status)) row = await this.findOwned(tenantId, id);
    }
    return this.view(row);
  }

  /**
   * An external sync service reports a delegated entity: signals its `entityResync` child, then
   * answers with the re-sync once the child has recorded it. Repeating the same report is fine
   * (200); contradicting a final entity, or reporting a built-in one, is a 409.
   */
  async complete(tenantId: string, id: string, entity: string, dto: CompleteResyncEntityDto) {
    const resync = await this.findOwned(tenantId, id);
    const error = normalizeError(dto.error);
    let row = await this.entityRow(resync.id, entity);
    if (row.mode !== 'delegated') {
      throw ApiError.conflict('not_delegated', `${entity} is imported by the engine itself; only delegated entities take completion reports.`);
    }
    const handle = this.temporal.workflow.getHandle(entityResyncWorkflowId(resync.id, entity));
    for (let attempt = 0; ; attempt++) {
      if (FINAL_ENTITY_STATUSES.has(row.status)) return this.repeatOrConflict(resync, row, error);
      try {
        await handle.signal(entityCompletedSignal, { imported: dto.imported, updated: dto.updated, error });
        break;
      } catch (err) {
        // Not started yet (the re-sync is starting its children) or just finished: look again.
        if (!(err instanceof WorkflowNotFoundError) || attempt >= 25) throw err;
        await sleep(200);
        row = await this.entityRow(resync.id, entity);
      }
    }
    const deadline = Date.now() + 10_000;
    while (!FINAL_ENTITY_STATUSES.has(row.status) && Date.now() < deadline) {
      await sleep(POLL_MS);
      row = await this.entityRow(resync.id, entity);
    }
    if (FINAL_ENTITY_STATUSES.has(row.status) && !this.sameOutcome(row, error)) return this.repeatOrConflict(resync, row, error);
    return this.view(await this.findOwned(tenantId, id));
  }

  private sameOutcome(row: ResyncEntity, error: ResyncError | null): boolean {
    // A timeout is the engine's verdict, not the service's: a late report contradicts it.
    return error ? row.status === 'failed' && row.errorCode !== 'timeout' && row.errorCode !== 'cancelled' : row.status === 'completed';
  }

  private async repeatOrConflict(resync: Resync, row: ResyncEntity, error: ResyncError | null) {
    if (this.sameOutcome(row, error)) return this.view(resync.status === 'running' ? await this.findOwned(resync.tenantId, resync.id) : resync);
    throw ApiError.conflict(
      'resync_entity_finished',
      `${row.entity} already ${row.status}${row.errorCode ? ` (${row.errorCode})` : ''}; start a new re-sync with POST /v1/integrations/${resync.integrationId}/resyncs.`,
    );
  }

  private async entityRow(resyncId: string, entity: string): Promise<ResyncEntity> {
    const row = await this.ds.getRepository(ResyncEntity).findOne({ where: { resyncId, entity } });
    if (!row) throw ApiError.notFound('resync entity');
    return row;
  }

  async view(row: Resync) {
    const [view] = await this.views([row]);
    return view;
  }

  private async views(rows: Resync[]) {
    if (rows.length === 0) return [];
    const entities = await this.ds
      .getRepository(ResyncEntity)
      .createQueryBuilder('e')
      .where('e.resync_id IN (:...ids)', { ids: rows.map((r) => r.id) })
      .getMany();
    return rows.map((r) => ({
      id: r.id,
      integrationId: r.integrationId,
      status: r.status,
      trigger: r.trigger,
      reauthorizationId: r.reauthorizationId,
      workflowId: r.workflowId,
      entities: entities
        .filter((e) => e.resyncId === r.id)
        .sort((a, b) => r.entities.indexOf(a.entity) - r.entities.indexOf(b.entity))
        .map((e) => ({
          entity: e.entity,
          mode: e.mode,
          status: e.status,
          imported: e.imported,
          updated: e.updated,
          pages: e.pages,
          error: e.errorCode ? { code: e.errorCode, message: e.errorMessage ?? '' } : null,
          startedAt: e.startedAt ? e.startedAt.toISOString() : null,
          completedAt: e.completedAt ? e.completedAt.toISOString() : null,
        })),
      createdAt: r.createdAt.toISOString(),
      completedAt: r.completedAt ? r.completedAt.toISOString() : null,
    }));
  }
}
