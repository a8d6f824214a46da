import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from '@temporalio/client';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { WebhookEndpoint, type WebhookDeliveryStatus } from '../../../libs/db/entities';
import { WEBHOOK_EVENT_TYPES } from '../../../libs/domain/events';
import { webhookDeliveryWorkflowId, webhookSecretAad } from '../../../libs/domain/webhooks';
import { EgressRefused } from '../../../libs/http/egress-policy';
import { CREDENTIALS_KEY_RING, EGRESS } from '../../../libs/nest/tokens';
import type { ProcessEgress } from '../../../libs/providers/provider-egress';
import { ApiError, isUuid } from '../common/api-error';
import type { CreateWebhookEndpointDto } from './webhooks.dto';

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
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
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
          RETURNING "event_id"`,
        [endpoint.id, tenantId],
      )) as [Array<{ event_id: string }>, number];
      return rows.map((r) => r.event_id);
    });
    // Best effort: a delivery that misses the cancel stops at its next attempt (the endpoint is gone).
    await Promise.allSettled(
      pending.map((eventId) =>
        this.temporal.workflow
          .getHandle(webhookDeliveryWorkflowId(eventId, endpoint.id))
          .cancel()
          .catch((err: unknown) => this.logger.debug(`cancel webhook delivery ${eventId}: ${(err as Error).message}`)),
      ),
    );
    return { id: endpoint.id, deleted: true };
  }

  async deliveries(tenantId: string, id: string): Promise<WebhookDeliveryView[]> {
    const endpoint = await this.findOwned(tenantId, id);
    const rows = (await this.ds.query(
      `SELECT d."id", d."event_id", e."type", d."status", d."attempts", d."last_status_code", d."last_error", d."created_at", d."delivered_at"
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
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      createdAt: new Date(r.created_at).toISOString(),
      deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
    }));
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
