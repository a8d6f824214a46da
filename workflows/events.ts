import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild, uuid4, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { EmitEventInput } from '../libs/domain/events';
import { webhookDeliveryWorkflowId } from '../libs/domain/webhooks';
import type { Activities } from './activity-types';
import { webhookDelivery } from './webhook-delivery.workflow';

// Recording an event is a small write to our own Postgres: retried patiently, never given up.
const events = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

/**
 * Emits a webhook event from any workflow: records it and fans out one durable `webhookDelivery`
 * per subscribed endpoint. The event id is made in the workflow, so a replay emits the same event;
 * the deliveries are abandoned children, so the emitting workflow never waits for a receiver.
 */
export async function emitEvent(e: EmitEventInput): Promise<string> {
  const eventId = uuid4();
  const recorded = await events.recordWebhookEvent({ ...e, eventId });
  // Started side by side (one command batch), each tolerant of a start that already happened.
  await Promise.all(
    recorded.endpointIds.map(async (endpointId) => {
      try {
        await startChild(webhookDelivery, {
          workflowId: webhookDeliveryWorkflowId(eventId, endpointId),
          args: [
            {
              eventId,
              endpointId,
              tenantId: e.tenantId,
              ...(e.integrationId ? { integrationId: e.integrationId } : {}),
              retryInitialSeconds: recorded.delivery.retryInitialSeconds,
              retryWindowSeconds: recorded.delivery.retryWindowSeconds,
            },
          ],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          // Never deliver one event twice to one endpoint, even after its first delivery closed.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }),
  );
  return eventId;
}
