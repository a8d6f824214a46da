/**
 * The `webhookDelivery` workflow (id `webhook:<eventId>:<endpointId>`): one event to one endpoint,
 * retried for a window. Started as an abandoned child by whichever workflow emits the event.
 */
export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDelivery';

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
  /**
   * A resend (redelivery, replay) of a delivery that ran before: its resend key (also the end of
   * the workflow id). The first attempt makes the delivery row pending for this resend if whoever
   * started it has not already. Absent for an event's first delivery.
   */
  resendKey?: string;
}

export interface WebhookDeliveryResult {
  status: 'delivered' | 'failed';
  attempts?: number;
  statusCode?: number;
  reason?: string;
}
export type WebhookDeliveryWorkflow = (input: WebhookDeliveryInput) => Promise<WebhookDeliveryResult>;

export const DEFAULT_WEBHOOK_RETRY_INITIAL_SECONDS = 5;
export const DEFAULT_WEBHOOK_RETRY_WINDOW_SECONDS = 24 * 3600;
