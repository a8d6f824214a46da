import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import type { AppConfig } from '../../../libs/config/config';
import {
  WEBHOOK_DELIVERY_WORKFLOW,
  WEBHOOK_REPLAY_WORKFLOW,
  type WebhookDeliveryInput,
  type WebhookDeliveryWorkflow,
  type WebhookReplayInput,
  type WebhookReplayWorkflow,
} from '../../../libs/contracts';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { AuditEvent, WebhookEndpoint, WebhookReplay, type WebhookDeliveryStatus } from '../../../libs/db/entities';
import type { AuditActor } from '../../../libs/domain/audit';
import { WEBHOOK_EVENT_TYPES } from '../../../libs/domain/events';
import {
  MAX_REPLAY_AGE_DAYS,
  MAX_REPLAY_EVENTS,
  redeliveryResendKey,
  replayResendKey,
  webhookDeliveryWorkflowId,
  webhookReplayWorkflowId,
  webhookSecretAad,
} from '../../../libs/domain/webhooks';
import { webhookDeliverySummary, webhookReplaySummary } from '../../../libs/domain/workflow-texts';
import { EgressRefused } from '../../../libs/http/egress-policy';
import { APP_CONFIG, CREDENTIALS_KEY_RING, EGRESS } from '../../../libs/nest/tokens';
import type { ProcessEgress } from '../../../libs/providers/provider-egress';
import { ApiError, isUuid } from '../common/api-error';
import { DELIVERY_COLUMNS, type DeliveryRow, deliveryView, type EventDeliveryView } from './events.service';
import type { CreateWebhookEndpointDto, ReplayWebhookEndpointDto } from './webhooks.dto';

export interface WebhookEndpointView {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  event: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  resends: number;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A redelivery's answer: the delivery, now pending again, with its event. */
export interface RedeliveryView extends EventDeliveryView {
  eventId: string;
  event: string;
}

/** A replay and, while its deliveries run, where they stand. */
export interface WebhookReplayView {
  id: string;
  endpointId: string;
  since: string;
  until: string;
  /** `running` while its workflow hands the events to their deliveries; `completed` once every one is queued. */
  status: 'running' | 'completed';
  /** Deliveries in the window when it was requested (at most the replay limit). */
  matched: number;
  /** The window held more than the limit: the oldest ones are sent; the rest start at `resumeFrom`. */
  truncated: boolean;
  resumeFrom: string | null;
  limit: number;
  /** Once completed: sent again, and left alone because they were already being delivered. */
  queued: number | null;
  skipped: number | null;
  /** The deliveries this replay made, by status (a later redelivery of one moves it out). */
  deliveries: Record<WebhookDeliveryStatus, number>;
  createdAt: string;
  completedAt: string | null;
}

/** How many deliveries the delivery log answers with (newest first). */
const DELIVERY_LOG_LIMIT = 100;

/** A signing secret in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

@Injectable()
export class WebhooksService {
  private readonly logger = new Logger('Webhooks');

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
    private readonly temporal: Client,
    @Inject(EGRESS) private readonly egress: ProcessEgress,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
  ) {}

  /**
   * The one answer that carries the secret; it is stored sealed and never shown again. A URL the
   * egress policy already refuses (loopback, private or metadata addresses in any spelling, names
   * resolving there, http where https is required) is refused with 422 url_not_allowed and nothing
   * is stored; every delivery checks it again.
   */
  async create(tenantId: string, dto: CreateWebhookEndpointDto): Promise<WebhookEndpointView & { secret: string }> {
    try {
      await this.egress.tenantUrls.check(dto.url);
    } catch (err) {
      if (err instanceof EgressRefused) throw ApiError.unprocessable('url_not_allowed', `url: ${err.message}`);
      throw err;
    }
    const id = randomUUID();
    const secret = generateWebhookSecret();
    const sealed = this.ring.sealJson(secret, webhookSecretAad(id));
    const events = dto.events ? WEBHOOK_EVENT_TYPES.filter((t) => dto.events!.includes(t)) : null;
    await this.ds.getRepository(WebhookEndpoint).insert({
      id,
      tenantId,
      url: dto.url,
      events,
      secretKeyId: sealed.keyId,
      secretCiphertext: sealed.data,
    });
    const view = this.view(await this.findOwned(tenantId, id));
    return { id: view.id, url: view.url, events: view.events, secret, createdAt: view.createdAt };
  }

  async list(tenantId: string): Promise<WebhookEndpointView[]> {
    const rows = await this.ds.getRepository(WebhookEndpoint).find({ where: { tenantId, deletedAt: IsNull() }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((r) => this.view(r));
  }

  async get(tenantId: string, id: string): Promise<WebhookEndpointView> {
    return this.view(await this.findOwned(tenantId, id));
  }

  /**
   * Soft delete: nothing new is delivered to it, pending deliveries are marked failed and their
   * workflows cancelled (a running attempt that still fails ends there too). The log stays in Postgres.
   */
  async remove(tenantId: string, id: string): Promise<{ id: string; deleted: true }> {
    const endpoint = await this.findOwned(tenantId, id);
    const pending = await this.ds.transaction(async (tx) => {
      await tx.getRepository(WebhookEndpoint).update({ id: endpoint.id, tenantId }, { deletedAt: () => 'now()' } as never);
      const [rows] = (await tx.query(
        `UPDATE "webhook_deliveries" SET "status" = 'failed', "updated_at" = now(),
                "last_error" = CASE WHEN "last_error" IS NULL THEN 'endpoint deleted' ELSE 'endpoint deleted; last error: ' || "last_error" END
          WHERE "endpoint_id" = $1 AND "tenant_id" = $2 AND "status" = 'pending'
          RETURNING "event_id", "resend_key"`,
        [endpoint.id, tenantId],
      )) as [Array<{ event_id: string; resend_key: string | null }>, number];
      return rows;
    });
    // Best effort: a delivery that misses the cancel stops at its next attempt (the endpoint is gone),
    // and so does a replay (its deliveries stop at their first attempt).
    await Promise.allSettled([
      ...pending.map((r) =>
        this.temporal.workflow
          .getHandle(webhookDeliveryWorkflowId(r.event_id, endpoint.id, r.resend_key))
          .cancel()
          .catch((err: unknown) => this.logger.debug(`cancel webhook delivery ${r.event_id}: ${(err as Error).message}`)),
      ),
      this.temporal.workflow
        .getHandle(webhookReplayWorkflowId(endpoint.id))
        .terminate('webhook endpoint deleted')
        .catch(() => undefined),
    ]);
    return { id: endpoint.id, deleted: true };
  }

  async deliveries(tenantId: string, id: string): Promise<WebhookDeliveryView[]> {
    const endpoint = await this.findOwned(tenantId, id);
    const rows = (await this.ds.query(
      `SELECT d."id", d."event_id", e."type", d."status", d."attempts", d."resends", d."last_attempt_at", d."last_status_code", d."last_error",
              d."created_at", d."delivered_at"
         FROM "webhook_deliveries" d JOIN "webhook_events" e ON e."id" = d."event_id"
        WHERE d."endpoint_id" = $1 AND d."tenant_id" = $2
        ORDER BY d."created_at" DESC, e."created_at" DESC, d."id" DESC
        LIMIT ${DELIVERY_LOG_LIMIT}`,
      [endpoint.id, tenantId],
    )) as Array<{
      id: string;
      event_id: string;
      type: string;
      status: WebhookDeliveryStatus;
      attempts: number;
      resends: number;
      last_attempt_at: Date | null;
      last_status_code: number | null;
      last_error: string | null;
      created_at: Date;
      delivered_at: Date | null;
    }>;
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      event: r.type,
      status: r.status,
      attempts: r.attempts,
      resends: r.resends,
      lastAttemptAt: r.last_attempt_at ? new Date(r.last_attempt_at).toISOString() : null,
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      createdAt: new Date(r.created_at).toISOString(),
      deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
    }));
  }

  /**
   * Sends one delivery's event again to its endpoint, as a new durable `webhookDelivery` (workflow
   * id `webhook:<eventId>:<endpointId>:redelivery-<n>`) with the same `webhook-id` and body. The
   * row is made pending, the audit event written and the workflow started in one transaction (a
   * start that fails leaves nothing changed; a workflow whose transaction did not commit makes the
   * row pending itself). A delivery still being retried is 409 `delivery_in_progress`.
   */
  async redeliver(tenantId: string, endpointId: string, deliveryId: string, actor: AuditActor): Promise<RedeliveryView> {
    const endpoint = await this.findOwned(tenantId, endpointId);
    if (!isUuid(deliveryId)) throw ApiError.notFound('webhook delivery');
    return this.ds.transaction(async (tx) => {
      const [row] = (await tx.query(
        `SELECT ${DELIVERY_COLUMNS}, d."resend_key", e."type", e."integration_id"
           FROM "webhook_deliveries" d JOIN "webhook_events" e ON e."id" = d."event_id"
          WHERE d."id" = $1 AND d."endpoint_id" = $2 AND d."tenant_id" = $3
          FOR UPDATE OF d`,
        [deliveryId, endpoint.id, tenantId],
      )) as Array<DeliveryRow & { resend_key: string | null; type: string; integration_id: string | null }>;
      if (!row) throw ApiError.notFound('webhook delivery');
      if (row.status === 'pending' && (await this.isRunning(webhookDeliveryWorkflowId(row.event_id, endpoint.id, row.resend_key)))) {
        throw ApiError.conflict('delivery_in_progress', 'This delivery is still being attempted (it is retried with backoff); redeliver it once it is delivered or failed.');
      }
      const resends = row.resends + 1;
      const resendKey = redeliveryResendKey(resends);
      await tx.query(
        `UPDATE "webhook_deliveries" SET "status" = 'pending', "resends" = $2, "resend_key" = $3, "updated_at" = now() WHERE "id" = $1`,
        [row.id, resends, resendKey],
      );
      await tx.insert(AuditEvent, {
        tenantId,
        integrationId: row.integration_id,
        type: 'webhook_delivery.redelivered',
        data: { endpointId: endpoint.id, deliveryId: row.id, eventId: row.event_id, event: row.type, previousStatus: row.status, resend: resends } as never,
        actorKind: actor.kind,
        actorId: actor.id ?? null,
      });
      const input: WebhookDeliveryInput = {
        eventId: row.event_id,
        endpointId: endpoint.id,
        tenantId,
        ...(row.integration_id ? { integrationId: row.integration_id } : {}),
        retryInitialSeconds: this.cfg.webhookRetryInitialSeconds,
        retryWindowSeconds: this.cfg.webhookRetryWindowSeconds,
        resendKey,
      };
      await this.startWorkflow(async () => {
        await this.temporal.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW, {
          workflowId: webhookDeliveryWorkflowId(row.event_id, endpoint.id, resendKey),
          taskQueue: this.cfg.taskQueue,
          args: [input],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          staticSummary: webhookDeliverySummary(row.type, endpoint.id, resendKey),
        });
      }, 'delivery_in_progress');
      return { ...deliveryView({ ...row, status: 'pending', resends }), eventId: row.event_id, event: row.type };
    });
  }

  /**
   * Sends again every event of `[since, now]` that had a delivery to this endpoint (the endpoint
   * was subscribed to it when it happened), oldest first, at most MAX_REPLAY_EVENTS — the answer
   * says whether there were more and where they start. The work is the `webhookReplay` workflow
   * (one per endpoint at a time: another replay while one runs is 409 `replay_in_progress`); each
   * event goes out as its own durable `webhookDelivery`, same `webhook-id`. Deliveries still being
   * attempted are left alone (`skipped`).
   */
  async replay(tenantId: string, endpointId: string, dto: ReplayWebhookEndpointDto, actor: AuditActor): Promise<WebhookReplayView> {
    const endpoint = await this.findOwned(tenantId, endpointId);
    const since = checkReplaySince(dto.since, new Date());
    const [{ until }] = (await this.ds.query(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS "until"`)) as Array<{ until: string }>;
    const window = `FROM "webhook_deliveries" d JOIN "webhook_events" e ON e."id" = d."event_id"
       WHERE d."endpoint_id" = $1 AND d."tenant_id" = $2 AND e."created_at" >= $3::timestamptz AND e."created_at" <= ($4::timestamp AT TIME ZONE 'UTC')`;
    const params = [endpoint.id, tenantId, since.toISOString(), until];
    const [{ matched }] = (await this.ds.query(`SELECT count(*)::int AS "matched" FROM (SELECT 1 ${window} LIMIT ${MAX_REPLAY_EVENTS}) w`, params)) as Array<{
      matched: number;
    }>;
    const [beyond] = (await this.ds.query(`SELECT e."created_at" ${window} ORDER BY e."created_at", e."id" OFFSET ${MAX_REPLAY_EVENTS} LIMIT 1`, params)) as Array<{
      created_at: Date;
    }>;
    const replayId = randomUUID();
    const input: WebhookReplayInput = {
      replayId,
      tenantId,
      endpointId: endpoint.id,
      since: since.toISOString(),
      until,
      maxEvents: MAX_REPLAY_EVENTS,
      matched,
      truncated: beyond !== undefined,
      // Milliseconds, rounded down: a replay from here may send one or two events of that millisecond twice (receivers de-duplicate).
      resumeFrom: beyond ? new Date(beyond.created_at).toISOString() : null,
      actor,
    };
    await this.ds.transaction(async (tx) => {
      await tx.insert(WebhookReplay, {
        id: replayId,
        tenantId,
        endpointId: endpoint.id,
        since,
        until: new Date(`${until}Z`),
        status: matched === 0 ? 'completed' : 'running',
        matched,
        truncated: input.truncated,
        resumeFrom: input.resumeFrom ? new Date(input.resumeFrom) : null,
        ...(matched === 0 ? { queued: 0, skipped: 0, completedAt: () => 'now()' } : {}),
        actorKind: actor.kind,
        actorId: actor.id ?? null,
      } as never);
      await tx.insert(AuditEvent, {
        tenantId,
        integrationId: null,
        type: 'webhook_endpoint.replayed',
        data: { endpointId: endpoint.id, replayId, since: input.since, matched, truncated: input.truncated, resumeFrom: input.resumeFrom } as never,
        actorKind: actor.kind,
        actorId: actor.id ?? null,
      });
      if (matched === 0) return;
      await this.startWorkflow(async () => {
        await this.temporal.workflow.start<WebhookReplayWorkflow>(WEBHOOK_REPLAY_WORKFLOW, {
          workflowId: webhookReplayWorkflowId(endpoint.id),
          taskQueue: this.cfg.taskQueue,
          args: [input],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          workflowIdConflictPolicy: 'FAIL',
          staticSummary: webhookReplaySummary(endpoint.id, input.since),
        });
      }, 'replay_in_progress');
    });
    return this.getReplay(tenantId, endpoint.id, replayId);
  }

  async getReplay(tenantId: string, endpointId: string, replayId: string): Promise<WebhookReplayView> {
    const endpoint = await this.findOwned(tenantId, endpointId);
    if (!isUuid(replayId)) throw ApiError.notFound('replay');
    const replay = await this.ds.getRepository(WebhookReplay).findOne({ where: { id: replayId, endpointId: endpoint.id, tenantId } });
    if (!replay) throw ApiError.notFound('replay');
    const counts = (await this.ds.query(
      `SELECT "status", count(*)::int AS "n" FROM "webhook_deliveries" WHERE "endpoint_id" = $1 AND "tenant_id" = $2 AND "resend_key" = $3 GROUP BY "status"`,
      [endpoint.id, tenantId, replayResendKey(replay.id)],
    )) as Array<{ status: WebhookDeliveryStatus; n: number }>;
    const deliveries: Record<WebhookDeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const c of counts) deliveries[c.status] = c.n;
    return {
      id: replay.id,
      endpointId: replay.endpointId,
      since: replay.since.toISOString(),
      until: replay.until.toISOString(),
      status: replay.status,
      matched: replay.matched,
      truncated: replay.truncated,
      resumeFrom: replay.resumeFrom ? replay.resumeFrom.toISOString() : null,
      limit: MAX_REPLAY_EVENTS,
      queued: replay.queued,
      skipped: replay.skipped,
      deliveries,
      createdAt: replay.createdAt.toISOString(),
      completedAt: replay.completedAt ? replay.completedAt.toISOString() : null,
    };
  }

  private async isRunning(workflowId: string): Promise<boolean> {
    try {
      const d = await this.temporal.workflow.getHandle(workflowId).describe();
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw temporalUnavailable(err);
    }
  }

  /** A start inside the caller's transaction: a duplicate id is `conflictCode` (409), any other failure 503 — and the transaction rolls back. */
  private async startWorkflow(start: () => Promise<void>, conflictCode: string): Promise<void> {
    try {
      await start();
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw ApiError.conflict(
          conflictCode,
          conflictCode === 'replay_in_progress'
            ? 'A replay of this endpoint is still running; try again once it has completed.'
            : 'This delivery is being sent again already; try again shortly.',
        );
      }
      throw temporalUnavailable(err);
    }
  }

  /** This tenant's live endpoint, or 404 (also for other tenants' ids, deleted and malformed ones). */
  private async findOwned(tenantId: string, id: string): Promise<WebhookEndpoint> {
    if (!isUuid(id)) throw ApiError.notFound('webhook endpoint');
    const endpoint = await this.ds.getRepository(WebhookEndpoint).findOne({ where: { id, tenantId, deletedAt: IsNull() } });
    if (!endpoint) throw ApiError.notFound('webhook endpoint');
    return endpoint;
  }

  private view(e: WebhookEndpoint): WebhookEndpointView {
    return { id: e.id, url: e.url, events: e.events ?? [...WEBHOOK_EVENT_TYPES], createdAt: e.createdAt.toISOString() };
  }
}

function temporalUnavailable(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'temporal_unavailable', 'The webhook could not be queued right now; nothing was changed. Try again shortly.');
}

/**
 * A replay's `since` (already ISO-8601 with a time zone, by the DTO): a real instant, not in the
 * future, at most MAX_REPLAY_AGE_DAYS back. 400 `invalid_since` otherwise.
 */
export function checkReplaySince(text: string, now: Date): Date {
  const ms = Date.parse(text);
  // Date.parse takes 2026-02-30 for March 2: the calendar date must exist as written.
  const [y, m, d] = text.slice(0, 10).split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  const realDay = day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
  if (!Number.isFinite(ms) || !realDay) throw ApiError.badRequest('invalid_since', 'since is not a valid date and time');
  if (ms > now.getTime()) throw ApiError.badRequest('invalid_since', 'since is in the future');
  if (ms < now.getTime() - MAX_REPLAY_AGE_DAYS * 24 * 3600_000) {
    throw ApiError.badRequest('invalid_since', `since is more than ${MAX_REPLAY_AGE_DAYS} days ago; a replay reaches back at most ${MAX_REPLAY_AGE_DAYS} days`);
  }
  return new Date(ms);
}
