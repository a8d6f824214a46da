/**
 * `webhookDelivery`: one event to one endpoint, retried with backoff for a window, then marked
 * failed; a deleted endpoint or a cancellation ends it quietly as failed.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { WEBHOOK_DELIVERY_WORKFLOW, type WebhookDeliveryInput, type WebhookDeliveryWorkflow } from '../../libs/contracts';
import { webhookDeliveryWorkflowId } from '../../libs/domain/webhooks';
import { IntegrationIdKey, TenantIdKey } from '../../libs/temporal/search-attributes';
import { applicationFailureOf, callArgs, eventually, rejectionOf, setUpWorkflowTestBed, stubActivities, type TestContext, uniqueId } from './support';

const bed = setUpWorkflowTestBed();

function deliveryInput(overrides: Partial<WebhookDeliveryInput> = {}): WebhookDeliveryInput {
  return {
    eventId: uniqueId('event'),
    endpointId: 'endpoint-1',
    tenantId: 'tenant-1',
    integrationId: uniqueId('integration'),
    retryInitialSeconds: 1,
    retryWindowSeconds: 60,
    ...overrides,
  };
}

function startDelivery({ client, taskQueue }: TestContext, input: WebhookDeliveryInput) {
  return client.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW, {
    taskQueue,
    workflowId: webhookDeliveryWorkflowId(input.eventId, input.endpointId),
    args: [input],
  });
}

const receiverDown = () => ApplicationFailure.retryable('the receiver answered 503', 'webhook_receiver_error');

describe('webhookDelivery', () => {
  test.concurrent('delivered: the receiver`s answer is the result; the delivery is searchable by tenant and integration', async () => {
    const stubs = stubActivities({ deliverWebhook: async () => ({ statusCode: 204, attempts: 1 }) });
    const input = deliveryInput();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startDelivery(test, input);
      expect(await handle.result()).toEqual({ status: 'delivered', attempts: 1, statusCode: 204 });
      const { typedSearchAttributes } = await handle.describe();
      expect(typedSearchAttributes.get(TenantIdKey)).toBe(input.tenantId);
      expect(typedSearchAttributes.get(IntegrationIdKey)).toBe(input.integrationId);
    });

    expect(callArgs(stubs.deliverWebhook)).toEqual([{ eventId: input.eventId, endpointId: input.endpointId }]);
    expect(stubs.markWebhookDeliveryFailed).not.toHaveBeenCalled();
  });

  test.concurrent('a resend tells each attempt its resend key; a first delivery never sends one', async () => {
    const stubs = stubActivities();
    stubs.deliverWebhook.mockRejectedValueOnce(receiverDown()).mockResolvedValueOnce({ statusCode: 200, attempts: 3 });
    const input = deliveryInput({ resendKey: 'redelivery-1' });

    const result = await bed.withActivities(stubs, async ({ client, taskQueue }) =>
      client.workflow.execute<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW, {
        taskQueue,
        workflowId: webhookDeliveryWorkflowId(input.eventId, input.endpointId, input.resendKey),
        args: [input],
      }),
    );

    expect(result).toEqual({ status: 'delivered', attempts: 3, statusCode: 200 });
    const resend = { eventId: input.eventId, endpointId: input.endpointId, resendKey: 'redelivery-1' };
    expect(callArgs(stubs.deliverWebhook)).toEqual([resend, resend]);
  });

  test.concurrent('a receiver that is down for a while gets the event once it is back', async () => {
    const stubs = stubActivities();
    stubs.deliverWebhook.mockRejectedValueOnce(receiverDown()).mockResolvedValueOnce({ statusCode: 200, attempts: 2 });
    const input = deliveryInput({ retryInitialSeconds: 1 });

    const result = await bed.withActivities(stubs, async (test) => (await startDelivery(test, input)).result());

    expect(result).toEqual({ status: 'delivered', attempts: 2, statusCode: 200 });
    expect(stubs.deliverWebhook).toHaveBeenCalledTimes(2);
    expect(stubs.markWebhookDeliveryFailed).not.toHaveBeenCalled();
  });

  test.concurrent('a receiver still down when the window closes: the delivery is marked failed and the workflow fails', async () => {
    const stubs = stubActivities({
      deliverWebhook: async () => {
        throw receiverDown();
      },
    });
    // Attempts at 0 s and 1 s; the next one (3 s) would be past the window.
    const input = deliveryInput({ retryInitialSeconds: 1, retryWindowSeconds: 3 });

    const err = await bed.withActivities(stubs, async (test) => rejectionOf((await startDelivery(test, input)).result()));

    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(applicationFailureOf(err).type).toBe('webhook_delivery_failed');
    expect(stubs.deliverWebhook.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(callArgs(stubs.markWebhookDeliveryFailed)).toEqual([
      { eventId: input.eventId, endpointId: input.endpointId, reason: 'gave up after retrying for 3 s' },
    ]);
  });

  test.concurrent('a failure that no retry can fix: marked failed at once, and the workflow fails', async () => {
    const stubs = stubActivities({
      deliverWebhook: async () => {
        throw ApplicationFailure.nonRetryable('no such webhook event', 'webhook_event_not_found');
      },
    });
    const input = deliveryInput();

    const err = await bed.withActivities(stubs, async (test) => rejectionOf((await startDelivery(test, input)).result()));

    expect(applicationFailureOf(err).type).toBe('webhook_delivery_failed');
    expect(stubs.deliverWebhook).toHaveBeenCalledTimes(1);
    expect(callArgs(stubs.markWebhookDeliveryFailed)).toEqual([
      { eventId: input.eventId, endpointId: input.endpointId, reason: 'delivery failed for good (webhook_event_not_found)' },
    ]);
  });

  test.concurrent('a deleted endpoint ends the delivery quietly as failed', async () => {
    const stubs = stubActivities({
      deliverWebhook: async () => {
        throw ApplicationFailure.nonRetryable('the webhook endpoint was deleted', 'webhook_endpoint_deleted');
      },
    });

    const result = await bed.withActivities(stubs, async (test) => (await startDelivery(test, deliveryInput())).result());

    expect(result).toEqual({ status: 'failed', reason: 'endpoint_deleted' });
    expect(stubs.deliverWebhook).toHaveBeenCalledTimes(1);
    expect(stubs.markWebhookDeliveryFailed).not.toHaveBeenCalled();
  });

  test.concurrent('cancelled while waiting for a retry: marked failed, and the workflow ends quietly as failed', async () => {
    const stubs = stubActivities({
      deliverWebhook: async () => {
        throw receiverDown();
      },
    });
    const input = deliveryInput({ retryInitialSeconds: 60, retryWindowSeconds: 600 });

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startDelivery(test, input);
      await eventually(() => expect(stubs.deliverWebhook).toHaveBeenCalledTimes(1));
      await handle.cancel();
      return handle.result();
    });

    expect(result).toEqual({ status: 'failed', reason: 'cancelled' });
    expect(callArgs(stubs.markWebhookDeliveryFailed)).toEqual([{ eventId: input.eventId, endpointId: input.endpointId, reason: 'delivery cancelled' }]);
  });
});
