/** Webhook facts shared by the API, the activities and the workflows (pure: safe in the workflow bundle). */

/** Workflow id of the delivery of one event to one endpoint. */
export function webhookDeliveryWorkflowId(eventId: string, endpointId: string): string {
  return `webhook:${eventId}:${endpointId}`;
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
