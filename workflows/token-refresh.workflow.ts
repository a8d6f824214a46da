import {
  ActivityFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, RefreshPlan, RefreshResult } from './activity-types';
import { emitEvent } from './events';

export interface TokenRefreshInput {
  tenantId: string;
  integrationId: string;
}

/** Refresh (or check) now, e.g. after a 401 seen elsewhere: POST /v1/integrations/:id/refresh. */
export const refreshNowSignal = defineSignal('refreshNow');
/** New active credentials were swapped in (reauthorization): plan again from them. */
export const credentialsUpdatedSignal = defineSignal('credentialsUpdated');

export interface TokenRefreshState {
  integrationId: string;
  nextRunAt: string | null;
  lastResult: string | null;
  refreshes: number;
  checks: number;
}
export const refreshStateQuery = defineQuery<TokenRefreshState>('status');

const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

// Talking to the CRM: transient faults (network, 5xx, 429) retry with backoff; a Retry-After from
// the CRM becomes the next retry delay (set by the activity), so we never come back sooner.
const crm = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '60 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['provider_not_configured', 'provider_misconfigured', 'invalid_credentials', 'invalid_grant'],
  },
});

/** Lifetime of the current token (at least a second, so the arithmetic below never degenerates). */
function lifetimeMs(plan: Pick<RefreshPlan, 'expiresAt' | 'issuedAt'>): number {
  return Math.max(1000, Date.parse(plan.expiresAt!) - Date.parse(plan.issuedAt));
}

/** How long before expiry to refresh: the configured margin, shrunk for short-lived tokens. */
export function refreshMarginMs(plan: Pick<RefreshPlan, 'expiresAt' | 'issuedAt' | 'marginSeconds'>): number {
  return Math.min(plan.marginSeconds * 1000, Math.max(1000, lifetimeMs(plan) / 5));
}

/** When the next refresh or health check is due (workflow time; deterministic random jitter). */
export function nextRunAt(plan: RefreshPlan, now: number, random: number): number {
  if (plan.refreshable && plan.expiresAt) {
    const margin = refreshMarginMs(plan);
    const jitter = random * Math.min(plan.jitterSeconds * 1000, margin / 2);
    // Never sooner than a tenth of the lifetime after issue: a token that comes back already
    // (nearly) expired must not put us in a hot loop.
    const earliest = Date.parse(plan.issuedAt) + Math.max(1000, lifetimeMs(plan) / 10);
    return Math.max(earliest, Date.parse(plan.expiresAt) - margin - jitter);
  }
  const last = plan.lastCheckedAt ? Date.parse(plan.lastCheckedAt) : now;
  return Math.max(now, last + plan.healthCheckIntervalSeconds * 1000 - random * plan.jitterSeconds * 1000);
}

/**
 * Keeps one integration's credentials fresh and healthy (id `refresh:<integrationId>`): sleeps until
 * expiry minus a margin, refreshes (persisting a rotated refresh token before anything else), checks
 * the credentials with who-am-I, and turns terminal failures into a status, an alert and webhooks.
 * Credentials that do not expire are health-checked periodically instead. Continues-as-new.
 */
export async function tokenRefresh(input: TokenRefreshInput): Promise<string> {
  let refreshRequested = false;
  let credentialsUpdated = false;
  const state: TokenRefreshState = { integrationId: input.integrationId, nextRunAt: null, lastResult: null, refreshes: 0, checks: 0 };
  setHandler(refreshNowSignal, () => {
    refreshRequested = true;
  });
  setHandler(credentialsUpdatedSignal, () => {
    credentialsUpdated = true;
  });
  setHandler(refreshStateQuery, () => state);

  const applyResult = async (version: number, result: RefreshResult): Promise<void> => {
    if (result.outcome !== 'failed' && result.outcome !== 'healthy') return;
    if (result.outcome === 'healthy' && result.status !== 'active') return;
    const change = await db.setIntegrationStatus({
      integrationId: input.integrationId,
      expectedVersion: version,
      status: result.status as 'active' | 'degraded' | 'blocked',
      reason: result.outcome === 'failed' ? result.reason : null,
    });
    if (!change.changed) return;
    log.info('integration status changed', { from: change.previousStatus, to: result.status, reason: result.outcome === 'failed' ? result.reason : null });
    if (result.outcome === 'failed') {
      await emitEvent({ tenantId: input.tenantId, type: 'integrated_account:authentication_error', integrationId: input.integrationId, reason: result.reason });
    }
    await emitEvent({
      tenantId: input.tenantId,
      type: 'integrated_account:status_changed',
      integrationId: input.integrationId,
      reason: result.outcome === 'failed' ? result.reason : undefined,
    });
  };

  /** One refresh-and-check round on credential version `version`. */
  const runOnce = async (plan: RefreshPlan, version: number): Promise<void> => {
    try {
      if (plan.refreshable) {
        const refreshed = await crm.refreshCredentials({ integrationId: input.integrationId, expectedVersion: version, refreshId: uuid4() });
        state.lastResult = refreshed.outcome;
        if (refreshed.outcome === 'failed') return applyResult(version, refreshed);
        if (refreshed.outcome !== 'refreshed') return;
        state.refreshes += 1;
        version = refreshed.version;
      }
      const checked = await crm.checkCredentialHealth({ integrationId: input.integrationId, expectedVersion: version });
      state.checks += 1;
      state.lastResult = checked.outcome === 'failed' ? `${checked.status}:${checked.reason}` : checked.outcome;
      await applyResult(version, checked);
    } catch (err) {
      // Retries exhausted on a transient fault: leave the status alone and try again later.
      const cause = err instanceof ActivityFailure ? err.cause : err;
      log.warn('refresh round failed; will retry', { error: (cause as Error)?.message });
      state.lastResult = 'retrying';
      await condition(() => credentialsUpdated || refreshRequested, '1 minute');
    }
  };

  for (let round = 0; round < 200; round++) {
    credentialsUpdated = false; // before loading: a swap signalled during the load is not lost
    const plan = await db.loadRefreshPlan({ integrationId: input.integrationId });
    if (!plan.exists || plan.status === 'disabled') return 'stopped';
    const version = plan.credentialVersion;
    if (version === null || plan.status === 'blocked') {
      // Nothing to refresh until someone re-authorizes (or asks for a new check).
      state.nextRunAt = null;
      await condition(() => credentialsUpdated || refreshRequested);
      if (credentialsUpdated) continue;
      refreshRequested = false;
      if (version !== null) await runOnce(plan, version);
      continue;
    }
    const due = nextRunAt(plan, Date.now(), Math.random());
    state.nextRunAt = new Date(due).toISOString();
    await condition(() => credentialsUpdated || refreshRequested, Math.max(0, due - Date.now()));
    if (credentialsUpdated) continue;
    refreshRequested = false;
    await runOnce(plan, version);
    if (workflowInfo().continueAsNewSuggested) break;
  }
  // Bounded history: start over with a fresh one (signals are not lost: they wait in the new run).
  return continueAsNew<typeof tokenRefresh>(input);
}
