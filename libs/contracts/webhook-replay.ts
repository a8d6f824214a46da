import type { AuditActor } from '../domain/audit';

/**
 * The `webhookReplay` workflow (id `webhook-replay:<endpointId>`, one at a time per endpoint):
 * sends every event of a time window that had a delivery to the endpoint again, oldest first, each
 * as a durable `webhookDelivery` (same `webhook-id`, same body) started as an abandoned child.
 */
export const WEBHOOK_REPLAY_WORKFLOW = 'webhookReplay';

export interface WebhookReplayInput {
  replayId: string;
  tenantId: string;
  endpointId: string;
  /** Inclusive bounds of the window, ISO-8601 (`until` to the microsecond). */
  since: string;
  until: string;
  /** At most this many deliveries are looked at (the replay limit). */
  maxEvents: number;
  /** Deliveries in the window when it was requested (at most `maxEvents`). */
  matched: number;
  /** Whether the window held more than `maxEvents`, and where the rest starts (kept on the replay row). */
  truncated: boolean;
  resumeFrom: string | null;
  /** Who asked (an API key's id, never the key). */
  actor: AuditActor;
}

export interface WebhookReplayResult {
  queued: number;
  skipped: number;
}
export type WebhookReplayWorkflow = (input: WebhookReplayInput) => Promise<WebhookReplayResult>;
