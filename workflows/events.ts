import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, startChild, uuid4, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { EmitEventInput } from '../libs/domain/events';
import type { RecordedWebhookEvent, WebhookDeliverySettings } from '../libs/domain/webhooks';
import { webhookDeliveryWorkflowId } from '../libs/domain/webhooks';
import { webhookDeliverySummary } from '../libs/domain/workflow-texts';
import { bookkeeping } from './activity-proxies';
import { webhookDelivery } from './webhook-delivery.workflow';

/** An event recorded (payload frozen) but not yet handed to its deliveries. */
export interface RecordedEvent {
  eventId: string;
  event: EmitEventInput;
  recorded: RecordedWebhookEvent;
}

/**
 * Emits a webhook event from any workflow: records it and fans out one durable `webhookDelivery`
 * per subscribed endpoint. The event id is made in the workflow, so a replay emits the same event;
 * the deliveries are abandoned children, so the emitting workflow never waits for a receiver.
 */
export async function emitEvent(e: EmitEventInput): Promise<string> {
  const recorded = await recordEvent(e);
  await deliverEvent(recorded);
  return recorded.eventId;
}

/**
 * The first half of {@link emitEvent}: the event and its delivery rows, with the payload as things
 * stand now. For a workflow that must freeze the payload before a change it announces (a deletion)
 * and deliver only after it.
 */
export async function recordEvent(e: EmitEventInput): Promise<RecordedEvent> {
  const eventId = uuid4();
  const recorded = await bookkeeping.recordWebhookEvent({ ...e, eventId });
  return { eventId, event: e, recorded };
}

/** The second half of {@link emitEvent}: one `webhookDelivery` per endpoint the event was recorded for. */
export async function deliverEvent({ eventId, event: e, recorded }: RecordedEvent): Promise<void> {
  // Started side by side (one command batch), each tolerant of a start that already happened.
  await Promise.all(
    recorded.endpointIds.map((endpointId) =>
      startWebhookDelivery({ eventId, endpointId, tenantId: e.tenantId, integrationId: e.integrationId, eventType: e.type, settings: recorded.delivery }),
    ),
  );
}

/**
 * Starts the durable delivery of one event to one endpoint as an abandoned child, or of a resend of
 * it (`resendKey`: another workflow id, the same event, body and `webhook-id`). A start that already
 * happened (a replayed workflow task) is fine.
 */
export async function startWebhookDelivery(d: {
  eventId: string;
  endpointId: string;
  tenantId: string;
  integrationId?: string | null;
  eventType: string;
  settings: WebhookDeliverySettings;
  resendKey?: string;
}): Promise<void> {
  try {
    await startChild(webhookDelivery, {
      workflowId: webhookDeliveryWorkflowId(d.eventId, d.endpointId, d.resendKey),
      args: [
        {
          eventId: d.eventId,
          endpointId: d.endpointId,
          tenantId: d.tenantId,
          ...(d.integrationId ? { integrationId: d.integrationId } : {}),
          retryInitialSeconds: d.settings.retryInitialSeconds,
          retryWindowSeconds: d.settings.retryWindowSeconds,
          ...(d.resendKey ? { resendKey: d.resendKey } : {}),
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // What the Temporal UI's list shows for the delivery (start metadata, not part of replay's checks).
      staticSummary: webhookDeliverySummary(d.eventType, d.endpointId, d.resendKey),
      // Never deliver one event twice to one endpoint under one id, even after its first delivery closed.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
