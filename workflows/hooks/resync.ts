import { isCancellation, log, uuid4 } from '@temporalio/workflow';
import type { ReauthorizationInput } from '../../libs/domain/reauthorization';
import { workflowStarter } from '../activity-proxies';

/**
 * After a successful swap, and only if the admin opted in (`fullResync: true`): start the full
 * entity re-sync without waiting for it, and return its id (null when no re-sync was asked for).
 * The re-sync runs as its own workflow (`resync:<integrationId>`), so it outlives this one; if one
 * is already running for the integration, that one's id is returned. A re-sync that cannot start
 * must not undo or block a successful swap: after a few tries it is given up on.
 */
export async function startResyncAfterReauthorization(input: ReauthorizationInput): Promise<string | null> {
  if (!input.fullResync) return null;
  try {
    return await workflowStarter.startResync({
      // Made in the workflow, so a retried activity (or a replay) asks for the same re-sync.
      resyncId: uuid4(),
      tenantId: input.tenantId,
      integrationId: input.integrationId,
      trigger: 'reauthorization',
      reauthorizationId: input.reauthorizationId,
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the full re-sync could not be started', { integrationId: input.integrationId, error: (err as Error)?.message });
    return null;
  }
}
