import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Webhook } from 'standardwebhooks';
import { type EntityManager, IsNull } from 'typeorm';
import { CredentialVersion, Integration, Reauthorization, WebhookDelivery, WebhookEndpoint, WebhookEvent } from '../libs/db/entities';
import { type EmitEventInput, WEBHOOK_EVENT_TYPES } from '../libs/domain/events';
import { integrationView } from '../libs/domain/integration-view';
import type { WebhookReplayInput, WebhookReplayResult } from '../libs/contracts';
import {
  type RecordedWebhookEvent,
  type ReplayPage,
  type ReplayPosition,
  replayResendKey,
  type WebhookAttemptResult,
  webhookBody,
  webhookSecretAad,
} from '../libs/domain/webhooks';
import { EgressRefused } from '../libs/http/egress-policy';
import { parseRetryAfter } from '../libs/providers/errors';
import type { ActivityDeps } from './deps';
import { countWebhookAttempt, countWebhookFailed } from './metrics';

const LOG_CONTEXT = 'Webhooks';

/** Receivers get this long to answer one delivery attempt. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** A receiver's answer is read (and dropped) up to this size; a larger one is a failed attempt. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The delivery log's words for an endpoint URL the egress policy refuses (stored before it applied, or now resolving elsewhere). */
const URL_NOT_ALLOWED = 'the endpoint URL is not allowed (egress policy)';

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
export function createWebhooksActivities({
  dataSource: ds,
  credentialsKeyRing: ring,
  config: cfg,
  providers,
  logger,
  egress,
}: Pick<ActivityDeps, 'dataSource' | 'credentialsKeyRing' | 'config' | 'providers' | 'logger' | 'egress'>) {
  async function markFailed(deliveryId: string, reason: string): Promise<void> {
    // Keeps the receiver's last answer next to the reason; a delivered row is never downgraded.
    const [, marked] = (await ds.query(
      `UPDATE "webhook_deliveries"
          SET "status" = 'failed',
              "last_error" = CASE WHEN "last_error" IS NULL THEN $2::text ELSE $2::text || '; last error: ' || "last_error" END,
              "updated_at" = now()
        WHERE "id" = $1 AND "status" = 'pending'`,
      [deliveryId, reason],
    )) as [unknown[], number];
    if (marked > 0) countWebhookFailed();
  }

  /** `{integrated_account, reason?}` for integrated-account events; the given payload otherwise. */
  async function buildPayload(tx: EntityManager, e: EmitEventInput): Promise<Record<string, unknown>> {
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
    const providerName = (await providers.resolve(integration.tenantId, integration.provider, tx).catch(() => undefined))?.name ?? integration.provider;
    return { integrated_account: integrationView(integration, cred, openReauth, providerName), ...reason };
  }

  return {
    /**
     * Stores the event (payload frozen now) and one pending delivery per subscribed endpoint, in one
     * transaction; returns the endpoints to deliver to. A retry of this activity finds the event and
     * returns the same endpoints without creating anything twice.
     */
    async recordWebhookEvent(args: EmitEventInput & { eventId: string }): Promise<RecordedWebhookEvent> {
      if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(args.type)) {
        throw ApplicationFailure.create({ type: 'unknown_event_type', message: `unknown webhook event type "${String(args.type)}"`, nonRetryable: true });
      }
      await ds.transaction(async (tx) => {
        if (await tx.exists(WebhookEvent, { where: { id: args.eventId } })) return;
        const payload = await buildPayload(tx, args);
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
      const deliveries = await ds.getRepository(WebhookDelivery).find({
        select: { endpointId: true },
        where: { eventId: args.eventId, tenantId: args.tenantId },
        order: { createdAt: 'ASC', endpointId: 'ASC' },
      });
      return {
        endpointIds: deliveries.map((d) => d.endpointId),
        delivery: { retryInitialSeconds: cfg.webhookRetryInitialSeconds, retryWindowSeconds: cfg.webhookRetryWindowSeconds },
      };
    },

    /**
     * One delivery attempt: POST the signed body, record the attempt on the delivery row. 2xx is
     * delivered; anything else (status, timeout, refused connection) throws a retryable failure and
     * the workflow's retry policy tries again later. A deleted endpoint ends the delivery for good.
     */
    async deliverWebhook(args: { eventId: string; endpointId: string; resendKey?: string }): Promise<WebhookAttemptResult> {
      if (args.resendKey) {
        // A resend makes the row pending for itself once (whoever started it usually has already:
        // then this waits for that transaction and changes nothing). Later attempts of the same
        // resend find their own key and go on as any delivery does.
        await ds.query(
          `UPDATE "webhook_deliveries"
              SET "status" = 'pending', "resend_key" = $3, "resends" = "resends" + 1, "updated_at" = now()
            WHERE "event_id" = $1 AND "endpoint_id" = $2 AND "resend_key" IS DISTINCT FROM $3`,
          [args.eventId, args.endpointId, args.resendKey],
        );
      }
      const delivery = await ds.getRepository(WebhookDelivery).findOne({ where: { eventId: args.eventId, endpointId: args.endpointId } });
      if (!delivery) {
        throw ApplicationFailure.create({ type: 'webhook_delivery_not_found', message: 'no such webhook delivery', nonRetryable: true });
      }
      if (delivery.status === 'delivered') return { statusCode: delivery.lastStatusCode ?? 200, attempts: delivery.attempts };
      const endpoint = await ds.getRepository(WebhookEndpoint).findOne({ where: { id: args.endpointId, tenantId: delivery.tenantId } });
      if (!endpoint || endpoint.deletedAt) {
        await markFailed(delivery.id, 'endpoint deleted');
        throw ApplicationFailure.create({ type: 'webhook_endpoint_deleted', message: 'the webhook endpoint was deleted', nonRetryable: true });
      }
      const event = await ds.getRepository(WebhookEvent).findOne({ where: { id: args.eventId, tenantId: delivery.tenantId } });
      if (!event) {
        throw ApplicationFailure.create({ type: 'webhook_event_not_found', message: 'no such webhook event', nonRetryable: true });
      }

      const secret = ring.openJson<string>({ keyId: endpoint.secretKeyId, data: endpoint.secretCiphertext }, webhookSecretAad(endpoint.id));
      const body = webhookBody(event);
      const headers = signedHeaders(secret, event.id, body, new Date());

      let statusCode: number | null = null;
      let error: string | null = null;
      let retryAfterSeconds: number | undefined;
      let refusedForGood = false;
      try {
        // Through the egress policy: public receivers (or EGRESS_ALLOWLIST) only, checked again at
        // every attempt; a redirect is not a delivery and is never followed (it would send the
        // signed body somewhere unchecked). The answer's body is never kept: only its status.
        const res = await egress.tenantUrls.fetch(endpoint.url, {
          method: 'POST',
          headers,
          body,
          signal: activityCancellation(),
          timeoutMs: DELIVERY_TIMEOUT_MS,
          maxBytes: MAX_ANSWER_BYTES,
        });
        statusCode = res.status;
        if (!res.ok) {
          error = `receiver answered HTTP ${res.status}`;
          retryAfterSeconds = parseRetryAfter(res.headers.get('retry-after'));
        }
      } catch (err) {
        if (err instanceof EgressRefused && err.code === 'redirect_not_allowed') statusCode = err.status ?? null;
        refusedForGood = err instanceof EgressRefused && err.code === 'url_not_allowed';
        error = describeDeliveryError(err);
      }

      const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
      const rows = (await ds.query(
        `UPDATE "webhook_deliveries"
            SET "attempts" = "attempts" + 1,
                "last_status_code" = $2,
                "last_error" = $3,
                "status" = CASE WHEN $4::boolean THEN 'delivered' ELSE "status" END,
                "delivered_at" = CASE WHEN $4::boolean THEN now() ELSE "delivered_at" END,
                "last_attempt_at" = now(),
                "updated_at" = now()
          WHERE "id" = $1
          RETURNING "attempts", "delivered_at"`,
        [delivery.id, statusCode, delivered ? null : error, delivered],
      )) as [Array<{ attempts: number; delivered_at: Date | null }>, number];
      const attempts = rows[0][0]?.attempts ?? delivery.attempts + 1;
      countWebhookAttempt(delivered, event.createdAt, rows[0][0]?.delivered_at);
      logger.debug(
        `webhook ${event.type} event=${event.id} endpoint=${endpoint.id} attempt=${attempts} ${delivered ? 'delivered' : 'failed'} (${statusCode ?? error})`,
        LOG_CONTEXT,
      );
      if (delivered) return { statusCode: statusCode!, attempts };
      if (refusedForGood) {
        throw ApplicationFailure.create({ type: 'url_not_allowed', message: URL_NOT_ALLOWED, nonRetryable: true });
      }
      throw ApplicationFailure.create({
        type: 'webhook_delivery_failed',
        message: error ?? 'delivery failed',
        ...(retryAfterSeconds !== undefined ? { nextRetryDelay: `${retryAfterSeconds} seconds` } : {}),
      });
    },

    /**
     * One step of a replay: the next deliveries of the endpoint whose events fall in the window,
     * oldest first, made pending for this replay (resend key `replay-<replayId>`) in one
     * transaction. A delivery already pending for something else is being delivered and is left
     * alone (counted as skipped). Retried after a crash, the step finds its own rows again and
     * answers the same events.
     */
    async pageWebhookReplay(args: {
      replayId: string;
      tenantId: string;
      endpointId: string;
      since: string;
      until: string;
      after: ReplayPosition | null;
      limit: number;
    }): Promise<ReplayPage> {
      const key = replayResendKey(args.replayId);
      const rows = await ds.transaction(async (tx) => {
        const found = (await tx.query(
          `SELECT d."id", d."event_id", e."type", e."integration_id", d."status", d."resend_key",
                  to_char(e."created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS "position"
             FROM "webhook_deliveries" d JOIN "webhook_events" e ON e."id" = d."event_id"
            WHERE d."endpoint_id" = $1 AND d."tenant_id" = $2
              AND e."created_at" >= $3::timestamptz
              AND e."created_at" <= ($4::timestamp AT TIME ZONE 'UTC')
              AND ($5::text IS NULL OR (e."created_at", e."id") > ($5::timestamp AT TIME ZONE 'UTC', $6::uuid))
            ORDER BY e."created_at", e."id"
            LIMIT $7
            FOR UPDATE OF d`,
          [args.endpointId, args.tenantId, args.since, args.until, args.after?.[0] ?? null, args.after?.[1] ?? null, Math.max(1, args.limit)],
        )) as Array<{ id: string; event_id: string; type: string; integration_id: string | null; status: string; resend_key: string | null; position: string }>;
        const reset = found.filter((r) => r.resend_key !== key && r.status !== 'pending').map((r) => r.id);
        if (reset.length > 0) {
          await tx.query(
            `UPDATE "webhook_deliveries" SET "status" = 'pending', "resend_key" = $2, "resends" = "resends" + 1, "updated_at" = now() WHERE "id" = ANY($1::uuid[])`,
            [reset, key],
          );
        }
        return found.map((r) => ({ ...r, mine: r.resend_key === key || reset.includes(r.id) }));
      });
      const last = rows[rows.length - 1];
      return {
        events: rows.filter((r) => r.mine).map((r) => ({ eventId: r.event_id, type: r.type, integrationId: r.integration_id })),
        skipped: rows.filter((r) => !r.mine).length,
        last: last ? [last.position, last.event_id] : null,
        delivery: { retryInitialSeconds: cfg.webhookRetryInitialSeconds, retryWindowSeconds: cfg.webhookRetryWindowSeconds },
      };
    },

    /** The replay handed every event to its delivery: its row says so (written here if the API's never was). */
    async finishWebhookReplay(args: WebhookReplayInput & WebhookReplayResult): Promise<void> {
      await ds.query(
        `INSERT INTO "webhook_replays" ("id", "tenant_id", "endpoint_id", "since", "until", "status", "matched", "truncated", "resume_from",
                                        "queued", "skipped", "actor_kind", "actor_id", "completed_at")
         VALUES ($1, $2, $3, $4::timestamptz, ($5::timestamp AT TIME ZONE 'UTC'), 'completed', $6, $7, $8::timestamptz, $9, $10, $11, $12, now())
         ON CONFLICT ("id") DO UPDATE SET "status" = 'completed', "queued" = $9, "skipped" = $10, "completed_at" = COALESCE("webhook_replays"."completed_at", now())`,
        [
          args.replayId,
          args.tenantId,
          args.endpointId,
          args.since,
          args.until,
          args.matched,
          args.truncated,
          args.resumeFrom,
          args.queued,
          args.skipped,
          args.actor.kind,
          args.actor.id ?? null,
        ],
      );
    },

    /** The retry window is over (or the delivery was cancelled): the delivery stays failed. */
    async markWebhookDeliveryFailed(args: { eventId: string; endpointId: string; reason: string }): Promise<void> {
      const delivery = await ds.getRepository(WebhookDelivery).findOne({ where: { eventId: args.eventId, endpointId: args.endpointId } });
      if (delivery) await markFailed(delivery.id, args.reason);
    },
  };
}

function activityCancellation(): AbortSignal {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return new AbortController().signal; // called outside an activity (unit tests)
  }
}

/** A failed attempt in the delivery log's words: ours, never the receiver's (nor which port of a refused host is open). */
function describeDeliveryError(err: unknown): string {
  if (err instanceof EgressRefused) {
    switch (err.code) {
      case 'url_not_allowed':
        return URL_NOT_ALLOWED;
      case 'redirect_not_allowed':
        return `receiver answered HTTP ${err.status ?? '3xx'} (a redirect; redirects are not followed)`;
      case 'response_too_large':
        return `the receiver's answer is larger than ${MAX_ANSWER_BYTES / 1024} KiB`;
      case 'egress_timeout':
        return `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`;
      case 'egress_unreachable':
        return 'could not reach the receiver';
    }
  }
  const name = (err as Error | null)?.name;
  if (name === 'AbortError' || name === 'CancelledFailure') return 'attempt cancelled';
  return 'the request could not be sent';
}
