/** Webhook facts shared by the API, the activities and the workflows (pure: safe in the workflow bundle). */

/**
 * Workflow id of the delivery of one event to one endpoint; a resend (redelivery, replay) is a
 * delivery of its own with its resend key appended (`webhook:<eventId>:<endpointId>:redelivery-2`).
 */
export function webhookDeliveryWorkflowId(eventId: string, endpointId: string, resendKey?: string | null): string {
  return resendKey ? `webhook:${eventId}:${endpointId}:${resendKey}` : `webhook:${eventId}:${endpointId}`;
}

/** The resend key of the n-th redelivery of a delivery (n counts every resend of it, replays included). */
export function redeliveryResendKey(n: number): string {
  return `redelivery-${n}`;
}

/** The resend key of every delivery a replay sends again. */
export function replayResendKey(replayId: string): string {
  return `replay-${replayId}`;
}

/** Workflow id of an endpoint's replay: one at a time per endpoint. */
export function webhookReplayWorkflowId(endpointId: string): string {
  return `webhook-replay:${endpointId}`;
}

/** A replay sends at most this many events; the answer says where the rest starts (`resumeFrom`). */
export const MAX_REPLAY_EVENTS = 1000;

/** How far back a replay may reach. */
export const MAX_REPLAY_AGE_DAYS = 30;

/** Events a replay's workflow hands to their deliveries per step (one activity, then that many child starts). */
export const REPLAY_PAGE_SIZE = 100;

/** Where a replay stands in its events, oldest first: `created_at` to the microsecond (UTC text) and the event id. */
export type ReplayPosition = [string, string];

/** One step of a replay: the events whose deliveries were made pending for it. */
export interface ReplayPage {
  /** Events to send again, each with its integration (for the delivery's search attributes). */
  events: Array<{ eventId: string; type: string; integrationId: string | null }>;
  /** Deliveries in this step left alone because they were already being delivered (pending). */
  skipped: number;
  /** The last delivery looked at; null when the window had no more. */
  last: ReplayPosition | null;
  delivery: WebhookDeliverySettings;
}

/** AAD of an endpoint's sealed signing secret: a ciphertext cannot be moved to another endpoint. */
export function webhookSecretAad(endpointId: string): string {
  return `webhook-endpoint:${endpointId}`;
}

/** The body of a delivery: `{id, event, created_at, payload}`, the same bytes on every attempt. */
export function webhookBody(event: { id: string; type: string; createdAt: Date; payload: Record<string, unknown> }): string {
  return JSON.stringify({ id: event.id, event: event.type, created_at: event.createdAt.toISOString(), payload: event.payload });
}

/** Retry settings of webhook deliveries, read from the worker's config (workflows cannot read env). */
export interface WebhookDeliverySettings {
  retryInitialSeconds: number;
  retryWindowSeconds: number;
}

/** What recording an event hands the emitting workflow. */
export interface RecordedWebhookEvent {
  /** Endpoints with a delivery row for this event (subscribed when it was recorded). */
  endpointIds: string[];
  delivery: WebhookDeliverySettings;
}

/** A delivered attempt: the receiver's 2xx status and how many attempts it took. */
export interface WebhookAttemptResult {
  statusCode: number;
  attempts: number;
}
