import { ActivityFailure, condition, continueAsNew, log, patched, setCurrentDetails, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import {
  credentialsUpdatedSignal,
  refreshNowSignal,
  refreshStateQuery,
  type TokenRefreshInput,
  type TokenRefreshState,
  type TokenRefreshWorkflow,
} from '../libs/contracts';
import { nextRunAt } from '../libs/domain/refresh-schedule';
import { reauthRecommendedAt } from '../libs/domain/refresh-token-expiry';
import type { RefreshPlan, RefreshResult } from '../libs/domain/refresh';
import {
  tokenRefreshParkedDetails,
  tokenRefreshRetryDetails,
  tokenRefreshStoppedDetails,
  tokenRefreshWaitingDetails,
  tokenRefreshWorkingDetails,
} from '../libs/domain/workflow-texts';
import { bookkeeping, bookkeepingInTask, crmInBackground, crmInBackgroundOn } from './activity-proxies';
import { emitEvent } from './events';

/** Rounds per run before continuing as new, unless the server suggests it sooner. */
const MAX_ROUNDS_PER_RUN = 200;

/**
 * Keeps one integration's credentials fresh and healthy for its whole life (id
 * `refresh:<integrationId>`): sleeps until expiry minus a margin, refreshes (persisting a rotated
 * refresh token before anything else), checks the credentials with who-am-I, and turns terminal
 * failures into a status, an alert and webhooks. Credentials that do not expire are health-checked
 * periodically instead. Continues as new to keep its history short.
 */
export async function tokenRefresh(input: TokenRefreshInput): Promise<string> {
  const requests = { refreshNow: false, credentialsUpdated: false };
  const state: TokenRefreshState = { integrationId: input.integrationId, nextRunAt: null, lastResult: null, refreshes: 0, checks: 0 };
  setHandler(refreshNowSignal, () => void (requests.refreshNow = true));
  setHandler(credentialsUpdatedSignal, () => void (requests.credentialsUpdated = true));
  setHandler(refreshStateQuery, () => state);
  const woken = () => requests.credentialsUpdated || requests.refreshNow;
  // Runs that began before refresh-token expiry was watched keep their recorded commands.
  const recommendsReauthorization = patched('reauth-recommended');
  // Reading the plan and recording the status are a few Postgres statements each: run inside the
  // workflow task that needs them (local activities), they cost no activity task, no extra workflow
  // task and no server round trip. Of a round's four activities only the two CRM calls remain, which
  // must go through the CRM's rate-capped task queue. Runs recorded before keep ordinary activities.
  const bookkeepingOfRounds = patched('refresh-bookkeeping-in-task') ? bookkeepingInTask : bookkeeping;

  /**
   * When the refresh token expires by itself soon: recommend a reauthorization once (warning alert,
   * `integrated_account:reauthorization_recommended`). Answers when to wake up for it, or null.
   */
  const recommendIfDue = async (plan: RefreshPlan, version: number): Promise<number | null> => {
    if (!recommendsReauthorization || !plan.refreshTokenExpiresAt || plan.reauthRecommended || plan.reauthRecommendedBeforeSeconds === undefined) return null;
    const at = reauthRecommendedAt(plan.refreshTokenExpiresAt, plan.reauthRecommendedBeforeSeconds);
    if (at > Date.now()) return at;
    const { raised } = await bookkeeping.recommendReauthorization({ integrationId: input.integrationId, expectedVersion: version });
    if (raised) {
      log.info('reauthorization recommended', { refreshTokenExpiresAt: plan.refreshTokenExpiresAt });
      await emitEvent({ tenantId: input.tenantId, type: 'integrated_account:reauthorization_recommended', integrationId: input.integrationId, reason: 'refresh_token_expiring' });
    }
    return null;
  };

  /** One refresh-and-check round on credential version `version`. */
  const refreshAndCheck = async (plan: RefreshPlan, version: number): Promise<void> => {
    const crm = crmCallsFor(plan);
    try {
      if (plan.refreshable) {
        setCurrentDetails(tokenRefreshWorkingDetails(true));
        const refreshed = await crm.refreshCredentials({ integrationId: input.integrationId, expectedVersion: version, refreshId: uuid4() });
        state.lastResult = refreshed.outcome;
        if (refreshed.outcome === 'failed') return applyStatus(input, version, refreshed, bookkeepingOfRounds);
        if (refreshed.outcome !== 'refreshed') return;
        state.refreshes += 1;
        version = refreshed.version;
      }
      setCurrentDetails(tokenRefreshWorkingDetails(false));
      const checked = await crm.checkCredentialHealth({ integrationId: input.integrationId, expectedVersion: version });
      state.checks += 1;
      state.lastResult = checked.outcome === 'failed' ? `${checked.status}:${checked.reason}` : checked.outcome;
      await applyStatus(input, version, checked, bookkeepingOfRounds);
    } catch (err) {
      // Retries exhausted on a transient fault: leave the status alone and try again later.
      const cause = err instanceof ActivityFailure ? err.cause : err;
      log.warn('refresh round failed; will retry', { error: (cause as Error)?.message });
      state.lastResult = 'retrying';
      setCurrentDetails(tokenRefreshRetryDetails(Date.now()));
      await condition(woken, '1 minute');
    }
  };

  /**
   * A round that `refreshNow` asked for, on `version`. When newer credentials superseded that
   * version meanwhile (a reauthorization swapped them, and its `credentialsUpdated` is still on its
   * way), the request is kept for the next round, on the new version: a refresh asked for right
   * after a reauthorization is not used up on the credentials it replaced.
   */
  const askedRound = async (plan: RefreshPlan, version: number): Promise<void> => {
    requests.refreshNow = false;
    await refreshAndCheck(plan, version);
    if (state.lastResult === 'superseded' && patched('refresh-now-outlives-swap')) requests.refreshNow = true;
  };

  for (let round = 0; round < MAX_ROUNDS_PER_RUN; round++) {
    requests.credentialsUpdated = false; // before loading: a swap signalled during the load is not lost
    const plan = await bookkeepingOfRounds.loadRefreshPlan({ integrationId: input.integrationId });
    if (!plan.exists || plan.status === 'disabled') {
      setCurrentDetails(tokenRefreshStoppedDetails());
      return 'stopped';
    }
    const version = plan.credentialVersion;
    if (version === null || plan.status === 'blocked') {
      // Nothing to refresh until someone re-authorizes (or asks for a new check).
      state.nextRunAt = null;
      setCurrentDetails(tokenRefreshParkedDetails(plan.status, plan.statusReason, version !== null));
      await condition(woken);
      if (requests.credentialsUpdated) continue;
      if (version !== null) await askedRound(plan, version);
      else requests.refreshNow = false;
      continue;
    }
    const recommendAt = await recommendIfDue(plan, version);
    const due = nextRunAt(plan, Date.now(), Math.random());
    state.nextRunAt = new Date(due).toISOString();
    setCurrentDetails(tokenRefreshWaitingDetails(plan.refreshable && Boolean(plan.expiresAt), due, Date.now(), plan.status, plan.statusReason));
    await condition(woken, Math.max(0, (recommendAt !== null ? Math.min(due, recommendAt) : due) - Date.now()));
    if (requests.credentialsUpdated) continue;
    // Woken to recommend a reauthorization, before the round is due: plan again (which raises it).
    if (!requests.refreshNow && recommendAt !== null && Date.now() < due) continue;
    if (requests.refreshNow) await askedRound(plan, version);
    else await refreshAndCheck(plan, version);
    if (workflowInfo().continueAsNewSuggested) break;
  }
  // Signals are not lost: the ones not yet handled wait for the new run.
  return continueAsNew<TokenRefreshWorkflow>(input);
}

/**
 * Where this round's CRM calls run: on the CRM's rate-capped task queue when the plan names one
 * (plans recorded before it existed name none, so their runs replay as they were), else on the
 * workflow's own queue.
 */
function crmCallsFor(plan: RefreshPlan): typeof crmInBackground {
  if (plan.crmTaskQueue && patched('crm-calls-on-crm-task-queue')) return crmInBackgroundOn(plan.crmTaskQueue);
  return crmInBackground;
}

/** A refresh or check changed how the credentials stand: record it and tell people once. */
async function applyStatus(input: TokenRefreshInput, version: number, result: RefreshResult, statusBookkeeping: typeof bookkeeping): Promise<void> {
  if (result.outcome !== 'failed' && result.outcome !== 'healthy') return;
  if (result.outcome === 'healthy' && result.status !== 'active') return;
  const reason = result.outcome === 'failed' ? result.reason : null;
  const change = await statusBookkeeping.setIntegrationStatus({
    integrationId: input.integrationId,
    expectedVersion: version,
    status: result.status as 'active' | 'degraded' | 'blocked',
    reason,
  });
  if (!change.changed) return;
  log.info('integration status changed', { from: change.previousStatus, to: result.status, reason });
  if (reason) {
    await emitEvent({ tenantId: input.tenantId, type: 'integrated_account:authentication_error', integrationId: input.integrationId, reason });
  }
  await emitEvent({ tenantId: input.tenantId, type: 'integrated_account:status_changed', integrationId: input.integrationId, reason: reason ?? undefined });
}
