import { ActivityFailure, isCancellation, log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { RevokeGrantInput, RevokeGrantResult } from '../libs/contracts';
import type { Activities } from '../activities';
import { bookkeeping } from './activity-proxies';
import { tagWorkflow } from './search-attributes';

/**
 * Revoking a grant at the CRM in the background: transient failures (network, 5xx, 429 with its
 * Retry-After) are retried with backoff for up to a day; nothing waits on it.
 */
const grantRevoker = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
});

/**
 * Revokes the grant of one superseded credential version (id `revoke-grant:<credentialId>`), so
 * reauthorizations do not leave live grants behind at the CRM. Never fails: a revocation that
 * does not go through is recorded in the audit trail (`credentials.grant_revocation_failed`) and
 * the grant is left to the CRM's own expiry.
 */
export async function revokeGrant(input: RevokeGrantInput): Promise<RevokeGrantResult> {
  tagWorkflow(input);
  setCurrentDetails('Revoking the superseded grant at the CRM');
  try {
    const { outcome } = await grantRevoker.revokeSupersededGrant({ credentialId: input.credentialId });
    setCurrentDetails(`Done: ${outcome.replace('_', ' ')}`);
    return outcome;
  } catch (err) {
    if (isCancellation(err)) throw err;
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const message = (cause as Error)?.message ?? 'revocation failed';
    log.warn('could not revoke the superseded grant', { error: message });
    await bookkeeping.recordGrantRevocationFailure({ credentialId: input.credentialId, error: message });
    setCurrentDetails(`Failed: ${message}`);
    return 'failed';
  }
}
