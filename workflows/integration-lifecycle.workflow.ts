import { isCancellation, log, patched, proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { IntegrationLifecycleInput, IntegrationLifecycleResult, LifecycleStep } from '../libs/contracts';
import type { RefreshResult } from '../libs/domain/refresh';
import { refreshMarginMs } from '../libs/domain/refresh-schedule';
import type { Activities } from '../activities';
import { bookkeeping, crmWhileUserWaits } from './activity-proxies';
import { deliverEvent, emitEvent, recordEvent } from './events';
import { tagWorkflow } from './search-attributes';

/**
 * Ending the integration's other workflows: each activity asks, waits up to a grace period and,
 * when allowed, terminates (about a minute at most). Retried a little; a failure does not undo the
 * status change, which already stops the refresh workflow and refuses new work.
 */
const workflowControl = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 3 },
});

/**
 * Disables, enables or deletes one integration (id `lifecycle:<integrationId>:<op>:<requestId>`,
 * or `lifecycle:<integrationId>:delete`); the API waits for the result.
 *
 * - disable: status `disabled` (open alert resolved), then its open reauthorization is cancelled,
 *   its token refresh stopped and a running re-sync cancelled; `integrated_account:disabled`.
 * - enable: back to `active` (or `pending`), the credentials checked against the CRM right away
 *   (refreshed first if due) so the status says what they are worth, refreshes resumed;
 *   `integrated_account:enabled` with the resulting status.
 * - delete: disabled first (nothing new starts), every workflow of the integration ended, then the
 *   secrets destroyed and the rows deleted; `integrated_account:deleted`, recorded with the
 *   integration as it was and delivered once it is gone.
 *
 * Asking again is harmless: an operation with nothing to change answers `unchanged` (delete:
 * `not_found`) and emits nothing.
 */
export async function integrationLifecycle(input: IntegrationLifecycleInput): Promise<IntegrationLifecycleResult> {
  tagWorkflow({ tenantId: input.tenantId, integrationId: input.integrationId });
  const step: LifecycleStep = { tenantId: input.tenantId, integrationId: input.integrationId, requestId: input.requestId, actor: input.actor };
  switch (input.operation) {
    case 'disable':
      return disable(step);
    case 'enable':
      return enable(step);
    case 'delete':
      return remove(step);
  }
}

async function disable(step: LifecycleStep): Promise<IntegrationLifecycleResult> {
  const change = await bookkeeping.disableIntegration(step);
  if (!change.found) return { outcome: 'not_found' };
  // Also when it was disabled already: a disable that was cut short finishes the job.
  await endOtherWorkflows(step, { reason: 'integration disabled', terminate: false });
  if (!change.changed) return { outcome: 'unchanged' };
  await emitEvent({ tenantId: step.tenantId, type: 'integrated_account:disabled', integrationId: step.integrationId });
  return { outcome: 'done' };
}

async function enable(step: LifecycleStep): Promise<IntegrationLifecycleResult> {
  const change = await bookkeeping.enableIntegration(step);
  if (!change.found) return { outcome: 'not_found' };
  if (!change.changed) return { outcome: 'unchanged' };
  if (change.credentialVersion !== null) {
    await checkCredentials(step);
    // Refreshes and health checks resume (the refresh workflow stopped when it was disabled).
    await bookkeeping.credentialsChanged({ tenantId: step.tenantId, integrationId: step.integrationId });
  }
  await emitEvent({ tenantId: step.tenantId, type: 'integrated_account:enabled', integrationId: step.integrationId });
  return { outcome: 'done' };
}

async function remove(step: LifecycleStep): Promise<IntegrationLifecycleResult> {
  const begun = await bookkeeping.beginIntegrationDeletion(step);
  if (!begun.found) return { outcome: 'not_found' };
  await endOtherWorkflows(step, { reason: 'integration deleted', terminate: true });
  try {
    await workflowControl.terminateIntegrationWorkflows({ integrationId: step.integrationId, exceptWorkflowId: workflowInfo().workflowId, reason: 'integration deleted' });
  } catch (err) {
    if (isCancellation(err)) throw err;
    // Whatever still runs finds no integration and stops (a refresh plan says it no longer exists).
    log.warn('could not terminate every workflow of the integration', { error: (err as Error)?.message });
  }
  // Its grants at the CRM go too, while the tokens to name them still exist (a few quick tries:
  // the deletion does not wait for a CRM that is down, it records the failure instead).
  if (patched('revoke-grant-on-delete')) await revokeGrants(step);
  // The payload is the integration as it was; receivers hear of the deletion once it is done.
  const event = await recordEvent({ tenantId: step.tenantId, type: 'integrated_account:deleted', integrationId: step.integrationId });
  const destroyed = await bookkeeping.destroyIntegration(step);
  await deliverEvent(event);
  return { outcome: destroyed.found ? 'done' : 'not_found' };
}

/**
 * Revokes the deleted integration's grants at the CRM (active and not yet revoked superseded ones).
 * Never stops the deletion: what could not be revoked is in the audit trail.
 */
async function revokeGrants(step: LifecycleStep): Promise<void> {
  try {
    const done = await crmWhileUserWaits.revokeIntegrationGrants({ tenantId: step.tenantId, integrationId: step.integrationId });
    if (done.failed) log.warn('some grants of the deleted integration could not be revoked', { failed: done.failed });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('could not revoke the grants of the deleted integration', { error: (err as Error)?.message });
  }
}

/** The open reauthorization, the token refresh and a running re-sync, side by side. */
async function endOtherWorkflows(step: LifecycleStep, how: { reason: string; terminate: boolean }): Promise<void> {
  const args = { integrationId: step.integrationId, ...how };
  const endings = await Promise.allSettled([
    workflowControl.endReauthorizationWorkflow(args),
    // A stopped refresh loses nothing: it is terminated if it does not stop by itself.
    workflowControl.endTokenRefreshWorkflow({ ...args, terminate: true }),
    workflowControl.endResyncWorkflow(args),
  ]);
  for (const ending of endings) {
    if (ending.status === 'rejected') {
      if (isCancellation(ending.reason)) throw ending.reason;
      log.warn('could not end a workflow of the integration', { error: (ending.reason as Error)?.message });
    } else if (ending.value === 'still_running' || ending.value === 'terminated') {
      log.info('a workflow of the integration did not end within the grace period', { ending: ending.value });
    }
  }
}

/**
 * The check the refresh workflow would run, done now so the enable answers with the status the
 * credentials warrant: refresh first if the token is due (or expired), then who-am-I and the scope
 * check. A CRM that does not answer leaves the status `active`; the refresh workflow tries again.
 */
async function checkCredentials(step: LifecycleStep): Promise<void> {
  const plan = await bookkeeping.loadRefreshPlan({ integrationId: step.integrationId });
  if (!plan.exists || plan.status === 'disabled' || plan.credentialVersion === null) return;
  let version = plan.credentialVersion;
  try {
    if (plan.refreshable && plan.expiresAt && Date.parse(plan.expiresAt) - refreshMarginMs(plan) <= Date.now()) {
      const refreshed = await crmWhileUserWaits.refreshCredentials({ integrationId: step.integrationId, expectedVersion: version, refreshId: uuid4() });
      if (refreshed.outcome === 'failed') return await applyCheck(step, version, refreshed);
      if (refreshed.outcome !== 'refreshed') return;
      version = refreshed.version;
    }
    const checked = await crmWhileUserWaits.checkCredentialHealth({ integrationId: step.integrationId, expectedVersion: version });
    await applyCheck(step, version, checked);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('credential check after enabling did not complete; the refresh workflow retries it', { error: (err as Error)?.message });
  }
}

/** Records what the check found (degraded / blocked open an alert); credentials that stopped working are announced. */
async function applyCheck(step: LifecycleStep, version: number, result: RefreshResult): Promise<void> {
  if (result.outcome !== 'failed' && !(result.outcome === 'healthy' && result.status === 'active')) return;
  const reason = result.outcome === 'failed' ? result.reason : null;
  const change = await bookkeeping.setIntegrationStatus({
    integrationId: step.integrationId,
    expectedVersion: version,
    status: result.status as 'active' | 'degraded' | 'blocked',
    reason,
  });
  if (change.changed && reason) {
    await emitEvent({ tenantId: step.tenantId, type: 'integrated_account:authentication_error', integrationId: step.integrationId, reason });
  }
}
