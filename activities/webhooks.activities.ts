import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Webhook } from 'standardwebhooks';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import type { AppConfig } from '../libs/config/config';
import type { KeyRing } from '../libs/crypto/key-ring';
import { CredentialVersion, Integration, Reauthorization, WebhookDelivery, WebhookEndpoint, WebhookEvent } from '../libs/db/entities';
import { type EmitEventInput, WEBHOOK_EVENT_TYPES } from '../libs/domain/events';
import { integrationView } from '../libs/domain/integration-view';
import { webhookBody, webhookSecretAad } from '../libs/domain/webhooks';
import { APP_CONFIG, CREDENTIALS_KEY_RING } from '../libs/nest/tokens';
import { ProviderRegistry } from '../libs/providers/provider-registry';
import type { RecordedWebhookEvent, WebhookAttemptResult } from '../workflows/activity-types';

/** Receivers get this long to answer one delivery attempt. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** A `Retry-After` longer than this is not honoured (the backoff's own maximum interval). */
const MAX_RETRY_AFTER_SECONDS = 3600;

/** Standard Webhooks headers for one attempt; `webhook-id` is the event id (stable across retries). */
export function signedHeaders(secret: string, eventId: string, body: string, now: Date): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'reauth-engine-webhooks/1',
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(eventId, now, body),
  };
}

/**
 * Webhook events and their delivery. Recording is idempotent per
 * event id; a delivery attempt signs the body with the endpoint's secret, which is unsealed here and
 * never leaves this activity (not in workflow history, not in logs).
 */
@Injectable()
export class WebhooksActivities {
  private readonly logger = new Logger('Webhooks');

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    private readonly providers: ProviderRegistry,
  ) {}

  /**
   * Stores the event (payload frozen now) and one pending delivery per subscribed endpoint, in one
   * transaction; returns the endpoints to deliver to. A retry of this activity finds the event and
   * returns the same endpoints without creating anything twice.
   */
  async recordWebhookEvent(args: EmitEventInput & { eventId: string }): Promise<RecordedWebhookEvent> {
    if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(args.type)) {
      throw ApplicationFailure.create({ type: 'unknown_event_type', message: `unknown webhook event type "${String(args.type)}"`, nonRetryable: true });
    }
    await this.ds.transaction(async (tx) => {
      if (await tx.exists(WebhookEvent, { where: { id: args.eventId } })) return;
      const payload = await this.buildPayload(tx, args);
      const inserted = await tx
        .createQueryBuilder()
        .insert()
        .into(WebhookEvent)
        .values({
          id: args.eventId,
          tenantId: args.tenantId,
          type: args.type,
          integrationId: args.integrationId ?? null,
          payload: payload as never,
        })
        .orIgnore()
        .returning(['id'])
        .execute();
      if ((inserted.raw as unknown[]).length === 0) return; // a concurrent attempt recorded it
      const endpoints = await tx
        .getRepository(WebhookEndpoint)
        .createQueryBuilder('e')
        .select(['e.id'])
        .where('e.tenantId = :tenantId', { tenantId: args.tenantId })
        .andWhere('e.deletedAt IS NULL')
        .andWhere('(e.events IS NULL OR :type = ANY(e.events))', { type: args.type })
        .orderBy('e.createdAt', 'ASC')
        .getMany();
      if (endpoints.length === 0) return;
      await tx
        .createQueryBuilder()
        .insert()
        .into(WebhookDelivery)
        .values(endpoints.map((e) => ({ tenantId: args.tenantId, eventId: args.eventId, endpointId: e.id, status: 'pending' as const })))
        .orIgnore()
        .execute();
    });
    const deliveries = await this.ds.getRepository(WebhookDelivery).find({
      select: { endpointId: true },
      where: { eventId: args.eventId, tenantId: args.tenantId },
      order: { createdAt: 'ASC', endpointId: 'ASC' },
    });
    return {
      endpointIds: deliveries.map((d) => d.endpointId),
      delivery: { retryInitialSeconds: this.cfg.webhookRetryInitialSeconds, retryWindowSeconds: this.cfg.webhookRetryWindowSeconds },
    };
  }

  /**
   * One delivery attempt: POST the signed body, record the attempt on the delivery row. 2xx is
   * delivered; anything else (status, timeout, refused connection) throws a retryable failure and
   * the workflow's retry policy tries again later. A deleted endpoint ends the delivery for good.
   */
  async deliverWebhook(args: { eventId: string; endpointId: string }): Promise<WebhookAttemptResult> {
    const delivery = await this.ds.getRepository(WebhookDelivery).findOne({ where: { eventId: args.eventId, endpointId: args.endpointId } });
    if (!delivery) {
      throw ApplicationFailure.create({ type: 'webhook_delivery_not_found', message: 'no such webhook delivery', nonRetryable: true });
    }
    if (delivery.status === 'delivered') return { statusCode: delivery.lastStatusCode ?? 200, attempts: delivery.attempts };
    const endpoint = await this.ds.getRepository(WebhookEndpoint).findOne({ where: { id: args.endpointId, tenantId: delivery.tenantId } });
    if (!endpoint || endpoint.deletedAt) {
      await this.markFailed(delivery.id, 'endpoint deleted');
      throw ApplicationFailure.create({ type: 'webhook_endpoint_deleted', message: 'the webhook endpoint was deleted', nonRetryable: true });
    }
    const event = await this.ds.getRepository(WebhookEvent).findOne({ where: { id: args.eventId, tenantId: delivery.tenantId } });
    if (!event) {
      throw ApplicationFailure.create({ type: 'webhook_event_not_found', message: 'no such webhook event', nonRetryable: true });
    }

    const secret = this.ring.openJson<string>({ keyId: endpoint.secretKeyId, data: endpoint.secretCiphertext }, webhookSecretAad(endpoint.id));
    const body = webhookBody(event);
    const headers = signedHeaders(secret, event.id, body, new Date());

    let statusCode: number | null = null;
    let error: string | null = null;
    let retryAfterSeconds: number | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers,
        body,
        // A redirect is not a delivery: following it would send the signed body somewhere unchecked.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(DELIVERY_TIMEOUT_MS), activityCancellation()]),
      });
      statusCode = res.status;
      if (res.ok) {
        await res.body?.cancel().catch(() => undefined);
      } else {
        const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim();
        error = `receiver answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
        retryAfterSeconds = parseRetryAfter(res.headers.get('retry-after'));
      }
    } catch (err) {
      error = describeFetchError(err);
    }

    const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const rows = (await this.ds.query(
      `UPDATE "webhook_deliveries"
          SET "attempts" = "attempts" + 1,
              "last_status_code" = $2,
              "last_error" = $3,
              "status" = CASE WHEN $4::boolean THEN 'delivered' ELSE "status" END,
              "delivered_at" = CASE WHEN $4::boolean THEN now() ELSE "delivered_at" END,
              "updated_at" = now()
        WHERE "id" = $1
        RETURNING "attempts"`,
      [delivery.id, statusCode, delivered ? null : error, delivered],
    )) as [Array<{ attempts: number }>, number];
    const attempts = rows[0][0]?.attempts ?? delivery.attempts + 1;
    this.logger.debug(
      `webhook ${event.type} event=${event.id} endpoint=${endpoint.id} attempt=${attempts} ${delivered ? 'delivered' : 'failed'} (${statusCode ?? error})`,
    );
    if (delivered) return { statusCode: statusCode!, attempts };
    throw ApplicationFailure.create({
      type: 'webhook_delivery_failed',
      message: error ?? 'delivery failed',
      ...(retryAfterSeconds !== null ? { nextRetryDelay: `${retryAfterSeconds} seconds` } : {}),
    });
  }

  /** The retry window is over (or the delivery was cancelled): the delivery stays failed. */
  async markWebhookDeliveryFailed(args: { eventId: string; endpointId: string; reason: string }): Promise<void> {
    const delivery = await this.ds.getRepository(WebhookDelivery).findOne({ where: { eventId: args.eventId, endpointId: args.endpointId } });
    if (delivery) await this.markFailed(delivery.id, args.reason);
  }

  private async markFailed(deliveryId: string, reason: string): Promise<void> {
    // Keeps the receiver's last answer next to the reason; a delivered row is never downgraded.
    await this.ds.query(
      `UPDATE "webhook_deliveries"
          SET "status" = 'failed',
              "last_error" = CASE WHEN "last_error" IS NULL THEN $2::text ELSE $2::text || '; last error: ' || "last_error" END,
              "updated_at" = now()
        WHERE "id" = $1 AND "status" = 'pending'`,
      [deliveryId, reason],
    );
  }

  /** `{integrated_account, reason?}` for integrated-account events; the given payload otherwise. */
  private async buildPayload(tx: EntityManager, e: EmitEventInput): Promise<Record<string, unknown>> {
    if (!e.type.startsWith('integrated_account:')) return { ...(e.payload ?? {}) };
    const reason = e.reason !== undefined && e.reason !== null ? { reason: e.reason } : {};
    if (!e.integrationId) return { integrated_account: null, ...reason };
    const integration = await tx.findOne(Integration, { where: { id: e.integrationId, tenantId: e.tenantId } });
    if (!integration) return { integrated_account: { id: e.integrationId }, ...reason };
    const cred = integration.credentialVersion
      ? await tx.findOne(CredentialVersion, { where: { integrationId: integration.id, version: integration.credentialVersion, state: 'active' } })
      : null;
    const openReauth = await tx.findOne(Reauthorization, {
      where: { integrationId: integration.id, outcome: IsNull() },
      order: { createdAt: 'DESC' },
    });
    // The same object as `GET /v1/integrations/:id`, banner included.
    const providerName = (await this.providers.resolve(integration.tenantId, integration.provider).catch(() => undefined))?.name ?? integration.provider;
    return { integrated_account: integrationView(integration, cred, openReauth, providerName), ...reason };
  }
}

function activityCancellation(): AbortSignal {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return new AbortController().signal; // called outside an activity (unit tests)
  }
}

/** `Retry-After` in seconds (delta or HTTP date), capped; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  let seconds: number;
  if (/^\d+$/.test(trimmed)) seconds = Number(trimmed);
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return null;
    seconds = Math.ceil((at - now) / 1000);
  }
  return Math.min(Math.max(seconds, 1), MAX_RETRY_AFTER_SECONDS);
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`;
  if (e?.name === 'AbortError') return 'attempt cancelled';
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `could not reach the receiver${cause ? ` (${cause})` : e?.message ? ` (${e.message})` : ''}`;
}
