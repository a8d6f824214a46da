import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from './activity-types';

export interface WebhookDeliveryInput {
  eventId: string;
  endpointId: string;
  /** For operators: searchable in the Temporal UI. */
  tenantId?: string;
  integrationId?: string;
  /** First retry after this many seconds, doubling up to 1 h (worker config `WEBHOOK_RETRY_INITIAL_SECONDS`). */
  retryInitialSeconds?: number;
  /** Give up after this long (worker config `WEBHOOK_RETRY_WINDOW_SECONDS`, default 24 h). */
  retryWindowSeconds?: number;
}

export interface WebhookDeliveryResult {
  status: 'delivered' | 'failed';
  attempts?: number;
  statusCode?: number;
  reason?: string;
}

export const DEFAULT_WEBHOOK_RETRY_INITIAL_SECONDS = 5;
export const DEFAULT_WEBHOOK_RETRY_WINDOW_SECONDS = 24 * 3600;

// Bookkeeping against our own Postgres: retried patiently.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

/**
 * Delivers one event to one endpoint, id `webhook:<eventId>:<endpointId>`. The retries
 * are the activity's retry policy (exponential backoff, at most 1 h apart) bounded by a
 * schedule-to-close timeout: a receiver that is down for hours still gets the event once it is back.
 * When the window is over, the delivery is marked failed and the workflow fails (visible to operators).
 * A deleted endpoint (or a cancelled workflow) ends it quietly as failed.
 */
export async function webhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const initialSeconds = Math.max(1, input.retryInitialSeconds ?? DEFAULT_WEBHOOK_RETRY_INITIAL_SECONDS);
  const windowSeconds = Math.max(initialSeconds, input.retryWindowSeconds ?? DEFAULT_WEBHOOK_RETRY_WINDOW_SECONDS);
  if (input.tenantId) {
    upsertSearchAttributes({ TenantId: [input.tenantId], ...(input.integrationId ? { IntegrationId: [input.integrationId] } : {}) });
  }
  const receiver = proxyActivities<Activities>({
    // One attempt is a 10 s HTTP call plus two small queries.
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: `${windowSeconds} seconds`,
    retry: {
      initialInterval: `${initialSeconds} seconds`,
      backoffCoefficient: 2,
      maximumInterval: '1 hour',
      nonRetryableErrorTypes: ['webhook_endpoint_deleted', 'webhook_delivery_not_found', 'webhook_event_not_found'],
    },
  });
  const ids = { eventId: input.eventId, endpointId: input.endpointId };

  try {
    const r = await receiver.deliverWebhook(ids);
    return { status: 'delivered', attempts: r.attempts, statusCode: r.statusCode };
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => db.markWebhookDeliveryFailed({ ...ids, reason: 'delivery cancelled' }));
      return { status: 'failed', reason: 'cancelled' };
    }
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === 'webhook_endpoint_deleted') {
      log.info('webhook endpoint deleted; delivery stopped', ids);
      return { status: 'failed', reason: 'endpoint_deleted' };
    }
    const reason =
      cause instanceof ApplicationFailure && cause.nonRetryable
        ? `delivery failed for good (${cause.type ?? 'error'})`
        : `gave up after retrying for ${windowSeconds} s`;
    await db.markWebhookDeliveryFailed({ ...ids, reason });
    throw ApplicationFailure.create({
      type: 'webhook_delivery_failed',
      message: `webhook ${input.eventId} could not be delivered to endpoint ${input.endpointId} within ${windowSeconds} s`,
      nonRetryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  }
}
