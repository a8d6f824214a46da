import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow';
import {
  DEFAULT_WEBHOOK_RETRY_INITIAL_SECONDS,
  DEFAULT_WEBHOOK_RETRY_WINDOW_SECONDS,
  type WebhookDeliveryInput,
  type WebhookDeliveryResult,
} from '../libs/contracts';
import { webhookDeliveredDetails, webhookDeliveryDetails } from '../libs/domain/workflow-texts';
import type { Activities } from '../activities';
import { bookkeeping as db } from './activity-proxies';
import { tagWorkflow } from './search-attributes';

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
  if (input.tenantId) tagWorkflow({ tenantId: input.tenantId, integrationId: input.integrationId });
  const receiver = proxyActivities<Activities>({
    // One attempt is a 10 s HTTP call plus two small queries.
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: `${windowSeconds} seconds`,
    retry: {
      initialInterval: `${initialSeconds} seconds`,
      backoffCoefficient: 2,
      maximumInterval: '1 hour',
    },
  });
  const ids = { eventId: input.eventId, endpointId: input.endpointId };

  setCurrentDetails(webhookDeliveryDetails(input.eventId, input.endpointId, windowSeconds));
  try {
    // A resend tells the attempt which one it is (the first one makes the row pending for it).
    const r = await receiver.deliverWebhook(input.resendKey ? { ...ids, resendKey: input.resendKey } : ids);
    setCurrentDetails(webhookDeliveredDetails(r.attempts, r.statusCode));
    return { status: 'delivered', attempts: r.attempts, statusCode: r.statusCode };
  } catch (err) {
    if (isCancellation(err)) {
      setCurrentDetails('Cancelled: the delivery was stopped before the receiver took it');
      await CancellationScope.nonCancellable(() => db.markWebhookDeliveryFailed({ ...ids, reason: 'delivery cancelled' }));
      return { status: 'failed', reason: 'cancelled' };
    }
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === 'webhook_endpoint_deleted') {
      log.info('webhook endpoint deleted; delivery stopped', ids);
      setCurrentDetails('Stopped: the webhook endpoint was deleted');
      return { status: 'failed', reason: 'endpoint_deleted' };
    }
    const reason =
      cause instanceof ApplicationFailure && cause.nonRetryable
        ? `delivery failed for good (${cause.type ?? 'error'})`
        : `gave up after retrying for ${windowSeconds} s`;
    setCurrentDetails(`Failed: ${reason}`);
    await db.markWebhookDeliveryFailed({ ...ids, reason });
    throw ApplicationFailure.create({
      type: 'webhook_delivery_failed',
      message: `webhook ${input.eventId} could not be delivered to endpoint ${input.endpointId} within ${windowSeconds} s`,
      nonRetryable: true,
      cause: err instanceof Error ? err : undefined,
    });
  }
}
