/**
 * `webhookReplay`: pages through an endpoint's deliveries of a window (the activity picks and resets
 * them), starts one resend `webhookDelivery` per event with the replay's resend key, stops at the
 * replay limit or at the window's end, and records what it queued and skipped.
 */
import { WEBHOOK_REPLAY_WORKFLOW, type WebhookReplayInput, type WebhookReplayWorkflow } from '../../libs/contracts';
import { type ReplayPage, replayResendKey, webhookDeliveryWorkflowId, webhookReplayWorkflowId } from '../../libs/domain/webhooks';
import { callArgs, eventually, setUpWorkflowTestBed, stubActivities, uniqueId } from './support';

const bed = setUpWorkflowTestBed();

function replayInput(overrides: Partial<WebhookReplayInput> = {}): WebhookReplayInput {
  return {
    replayId: uniqueId('replay'),
    tenantId: 'tenant-1',
    endpointId: uniqueId('endpoint'),
    since: '2026-12-01T08:00:00.000Z',
    until: '2026-12-01T12:00:00.123456',
    maxEvents: 250,
    matched: 211,
    truncated: false,
    resumeFrom: null,
    actor: { kind: 'api_key', id: 'key-1' },
    ...overrides,
  };
}

/** A page of `events` events and `skipped` deliveries left alone, ending at position `n`. */
function page(n: number, events: string[], skipped: number): ReplayPage {
  return {
    events: events.map((eventId) => ({ eventId, type: 'integrated_account:disabled', integrationId: 'integration-1' })),
    skipped,
    last: [`2026-12-01T09:00:00.00000${n}`, `00000000-0000-4000-8000-00000000000${n}`],
    delivery: { retryInitialSeconds: 1, retryWindowSeconds: 30 },
  };
}

describe('webhookReplay', () => {
  test.concurrent('pages on until the window ends; one resend delivery per event, same event, replay key', async () => {
    const events = [uniqueId('e'), uniqueId('e'), uniqueId('e')];
    const stubs = stubActivities();
    stubs.pageWebhookReplay
      .mockResolvedValueOnce(page(1, [events[0]], 99))
      .mockResolvedValueOnce(page(2, [events[1]], 99))
      .mockResolvedValueOnce(page(3, [events[2]], 10)); // 11 of 50: the window is over
    const input = replayInput();

    const result = await bed.withActivities(stubs, async ({ client, taskQueue }) => {
      const handle = await client.workflow.start<WebhookReplayWorkflow>(WEBHOOK_REPLAY_WORKFLOW, {
        taskQueue,
        workflowId: webhookReplayWorkflowId(input.endpointId),
        args: [input],
      });
      const r = await handle.result();
      // The deliveries are abandoned children: they run on after the replay completed.
      await eventually(() => expect(stubs.deliverWebhook).toHaveBeenCalledTimes(3));
      for (const eventId of events) {
        const child = await client.workflow.getHandle(webhookDeliveryWorkflowId(eventId, input.endpointId, replayResendKey(input.replayId))).result();
        expect(child.status).toBe('delivered');
      }
      return r;
    });

    expect(result).toEqual({ queued: 3, skipped: 208 });
    const pages = callArgs(stubs.pageWebhookReplay);
    expect(pages.map((p) => p.limit)).toEqual([100, 100, 50]);
    expect(pages.map((p) => p.after)).toEqual([null, page(1, [], 0).last, page(2, [], 0).last]);
    for (const p of pages) expect(p).toMatchObject({ replayId: input.replayId, endpointId: input.endpointId, since: input.since, until: input.until });
    expect(callArgs(stubs.deliverWebhook).sort((a, b) => a.eventId.localeCompare(b.eventId))).toEqual(
      [...events].sort().map((eventId) => ({ eventId, endpointId: input.endpointId, resendKey: replayResendKey(input.replayId) })),
    );
    expect(callArgs(stubs.finishWebhookReplay)).toEqual([{ ...input, queued: 3, skipped: 208 }]);
  });

  test.concurrent('stops at the replay limit even when the window holds more', async () => {
    const stubs = stubActivities();
    stubs.pageWebhookReplay.mockResolvedValueOnce(page(1, [], 100)).mockResolvedValueOnce(page(2, [], 20));
    const input = replayInput({ maxEvents: 120, matched: 120, truncated: true, resumeFrom: '2026-12-01T10:00:00.000Z' });

    const result = await bed.withActivities(stubs, async ({ client, taskQueue }) =>
      client.workflow.execute<WebhookReplayWorkflow>(WEBHOOK_REPLAY_WORKFLOW, { taskQueue, workflowId: webhookReplayWorkflowId(input.endpointId), args: [input] }),
    );

    expect(result).toEqual({ queued: 0, skipped: 120 });
    expect(callArgs(stubs.pageWebhookReplay).map((p) => p.limit)).toEqual([100, 20]);
    expect(stubs.deliverWebhook).not.toHaveBeenCalled();
    expect(callArgs(stubs.finishWebhookReplay)).toEqual([{ ...input, queued: 0, skipped: 120 }]);
  });
});
