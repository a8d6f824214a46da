import { setCurrentDetails } from '@temporalio/workflow';
import type { WebhookReplayInput, WebhookReplayResult } from '../libs/contracts';
import { REPLAY_PAGE_SIZE, type ReplayPage, type ReplayPosition, replayResendKey } from '../libs/domain/webhooks';
import { webhookReplayDetails } from '../libs/domain/workflow-texts';
import { bookkeeping as db } from './activity-proxies';
import { startWebhookDelivery } from './events';
import { tagWorkflow } from './search-attributes';

/**
 * Sends the events of a time window again to one endpoint, id `webhook-replay:<endpointId>`: in
 * steps of REPLAY_PAGE_SIZE deliveries, oldest first, each step makes its deliveries pending for
 * this replay (one activity) and starts one `webhookDelivery` per event as an abandoned child —
 * the same durable, retried delivery as the first one, with the same `webhook-id` and body. At most
 * `maxEvents` deliveries are looked at. The replay ends once every child is started; the
 * deliveries go on by themselves (GET /v1/events shows them).
 */
export async function webhookReplay(input: WebhookReplayInput): Promise<WebhookReplayResult> {
  tagWorkflow({ tenantId: input.tenantId });
  const resendKey = replayResendKey(input.replayId);
  let after: ReplayPosition | null = null;
  let looked = 0;
  let queued = 0;
  let skipped = 0;
  setCurrentDetails(webhookReplayDetails(0, 0, input.matched));
  while (looked < input.maxEvents) {
    const limit = Math.min(REPLAY_PAGE_SIZE, input.maxEvents - looked);
    const page: ReplayPage = await db.pageWebhookReplay({
      replayId: input.replayId,
      tenantId: input.tenantId,
      endpointId: input.endpointId,
      since: input.since,
      until: input.until,
      after,
      limit,
    });
    await Promise.all(
      page.events.map((e) =>
        startWebhookDelivery({
          eventId: e.eventId,
          endpointId: input.endpointId,
          tenantId: input.tenantId,
          integrationId: e.integrationId,
          eventType: e.type,
          settings: page.delivery,
          resendKey,
        }),
      ),
    );
    queued += page.events.length;
    skipped += page.skipped;
    looked += page.events.length + page.skipped;
    setCurrentDetails(webhookReplayDetails(queued, skipped, input.matched));
    if (!page.last || page.events.length + page.skipped < limit) break;
    after = page.last;
  }
  await db.finishWebhookReplay({ ...input, queued, skipped });
  return { queued, skipped };
}
