/** Webhook events. Integrated-account events carry `{integrated_account, reason?}`. */
export const WEBHOOK_EVENT_TYPES = [
  'integrated_account:authentication_error',
  'integrated_account:reauthorized',
  'integrated_account:reauthorization_failed',
  'integrated_account:status_changed',
  'integrated_account:reauthorization_recommended',
  'integrated_account:disabled',
  'integrated_account:enabled',
  'integrated_account:deleted',
  'resync:requested',
  'resync:completed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface EmitEventInput {
  tenantId: string;
  type: WebhookEventType;
  /** For `integrated_account:*` events: the integration whose (secret-free) view becomes the payload. */
  integrationId?: string;
  reason?: string;
  /** Payload for other events (e.g. `{resyncId, integrationId, entity}`); never a secret. */
  payload?: Record<string, unknown>;
}
