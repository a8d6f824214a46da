/**
 * `tokenRefresh`: one long-lived workflow per integration that refreshes expiring credentials
 * before they expire (or health-checks ones that do not expire), turns failures into a status and
 * events, reacts to `refreshNow` / `credentialsUpdated`, and keeps its history short by
 * continuing as new.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import {
  credentialsUpdatedSignal,
  refreshNowSignal,
  refreshStateQuery,
  TOKEN_REFRESH_WORKFLOW,
  tokenRefreshWorkflowId,
  type TokenRefreshInput,
  type TokenRefreshState,
  type TokenRefreshWorkflow,
} from '../../libs/contracts';
import {
  type ActivityStubs,
  callArgs,
  emittedEvents,
  eventually,
  setUpWorkflowTestBed,
  stubActivities,
  type TestContext,
  uniqueId,
  type WorkflowActivities,
} from './support';

type RefreshPlan = Awaited<ReturnType<WorkflowActivities['loadRefreshPlan']>>;
type RefreshResult = Awaited<ReturnType<WorkflowActivities['refreshCredentials']>>;

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** An OAuth token issued an hour ago that expires in an hour: nothing to do for a long while. */
function refreshPlan(overrides: Partial<RefreshPlan> = {}): RefreshPlan {
  const now = Date.now();
  return {
    exists: true,
    tenantId: 'tenant-1',
    provider: 'hubspot',
    authType: 'oauth2',
    status: 'active',
    statusReason: null,
    credentialVersion: 3,
    expiresAt: iso(now + HOUR),
    issuedAt: iso(now - HOUR),
    refreshable: true,
    lastCheckedAt: null,
    marginSeconds: 1,
    jitterSeconds: 0,
    healthCheckIntervalSeconds: 3600,
    ...overrides,
  };
}

/** A token past its refresh time already: refreshed as soon as the plan is loaded. */
const dueNow = (overrides: Partial<RefreshPlan> = {}) => refreshPlan({ expiresAt: iso(Date.now() + 500), ...overrides });

/** Credentials that do not expire and are checked every `intervalSeconds` (due at once with 0). */
const healthChecked = (intervalSeconds: number, overrides: Partial<RefreshPlan> = {}) =>
  refreshPlan({ authType: 'api_token', refreshable: false, expiresAt: null, healthCheckIntervalSeconds: intervalSeconds, ...overrides });

/** `loadRefreshPlan` answers these plans in turn, then the last one for ever. */
function plansInTurn(...plans: Array<RefreshPlan | (() => RefreshPlan)>): WorkflowActivities['loadRefreshPlan'] {
  let next = 0;
  return async () => {
    const plan = plans[Math.min(next++, plans.length - 1)];
    return typeof plan === 'function' ? plan() : plan;
  };
}

const refreshed = (version: number): RefreshResult => ({ outcome: 'refreshed', version, expiresAt: iso(Date.now() + HOUR) });
const healthy = (status: 'active' | 'pending' = 'active'): RefreshResult => ({ outcome: 'healthy', status, reason: null });

const input = (): TokenRefreshInput => ({ tenantId: 'tenant-1', integrationId: uniqueId('integration') });

function startRefresh({ client, taskQueue }: TestContext, args: TokenRefreshInput): Promise<WorkflowHandleWithFirstExecutionRunId<TokenRefreshWorkflow>> {
  return client.workflow.start<TokenRefreshWorkflow>(TOKEN_REFRESH_WORKFLOW, {
    taskQueue,
    workflowId: tokenRefreshWorkflowId(args.integrationId),
    args: [args],
  });
}

/** Waits until the workflow, having loaded its plan `loads` times, stands as `expected` says. */
async function waitForState(
  handle: WorkflowHandle<TokenRefreshWorkflow>,
  stubs: ActivityStubs,
  loads: number,
  expected: Partial<TokenRefreshState>,
): Promise<TokenRefreshState> {
  return eventually(async () => {
    expect(stubs.loadRefreshPlan).toHaveBeenCalledTimes(loads);
    const state = await handle.query(refreshStateQuery);
    expect(state).toMatchObject(expected);
    return state;
  });
}

// The 200-round test makes a long history: keep the server from suggesting a continue-as-new first.
const bed = setUpWorkflowTestBed({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40_000 } });
// And a server that suggests it after a few rounds.
const suggestingBed = setUpWorkflowTestBed({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 } });

/**
 * Stubs for the continue-as-new tests. Rounds are driven by signals, not timers (the dev server
 * fires even a 1 ms timer about a second late): every plan load of the first run sends `wake`,
 * which starts the next round at once. Any later run finds the integration gone, so the workflow
 * stops. Plan loads are counted per run.
 */
function continueAsNewStubs(firstRunPlan: RefreshPlan, wake: typeof refreshNowSignal | typeof credentialsUpdatedSignal) {
  let firstRunId: string | undefined;
  let handle: WorkflowHandleWithFirstExecutionRunId<TokenRefreshWorkflow> | undefined;
  const loadsPerRun = new Map<string, number>();
  const stubs = stubActivities({
    loadRefreshPlan: async () => {
      const runId = Context.current().info.workflowExecution?.runId;
      if (!runId) throw new Error('loadRefreshPlan called outside a workflow');
      firstRunId ??= runId;
      loadsPerRun.set(runId, (loadsPerRun.get(runId) ?? 0) + 1);
      if (runId !== firstRunId) return refreshPlan({ exists: false });
      await handle!.signal(wake);
      return firstRunPlan;
    },
    refreshCredentials: async () => refreshed(3),
    checkCredentialHealth: async () => healthy('pending'),
  });
  const run = async (test: TestContext, client: Client) => {
    handle = await startRefresh(test, input());
    const result = await handle.result();
    const firstRun = client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    return { result, firstRunStatus: (await firstRun.describe()).status.name, loadsPerRun: [...loadsPerRun.values()] };
  };
  return { stubs, run };
}

describe('tokenRefresh', () => {
  // First: the longest test, so that the others run meanwhile.
  test.concurrent('continues as new after 200 rounds', async () => {
    // Blocked credentials: each round loads the plan and waits for a signal, nothing else.
    const { stubs, run } = continueAsNewStubs(refreshPlan({ status: 'blocked' }), credentialsUpdatedSignal);

    const { result, firstRunStatus, loadsPerRun } = await bed.withActivities(stubs, (test) => run(test, bed.client));

    expect(result).toBe('stopped');
    expect(firstRunStatus).toBe('CONTINUED_AS_NEW');
    expect(loadsPerRun).toEqual([200, 1]);
  }, 60_000);

  test.concurrent('continues as new as soon as the server suggests it', async () => {
    // Refreshed at every round (refreshNow), after which the workflow looks at the suggestion.
    const { stubs, run } = continueAsNewStubs(refreshPlan(), refreshNowSignal);

    const { result, firstRunStatus, loadsPerRun } = await suggestingBed.withActivities(stubs, (test) => run(test, suggestingBed.client));

    expect(result).toBe('stopped');
    expect(firstRunStatus).toBe('CONTINUED_AS_NEW');
    const [firstRunLoads, ...laterRuns] = loadsPerRun;
    expect(firstRunLoads).toBeGreaterThan(1);
    expect(firstRunLoads).toBeLessThan(20);
    expect(laterRuns).toEqual([1]);
    expect(stubs.refreshCredentials).toHaveBeenCalledTimes(firstRunLoads);
  });

  test.concurrent("sends the refresh and the check to the CRM's own task queue when the plan names one", async () => {
    const queues: Record<string, string[]> = {};
    const onQueue = (name: string) => (queues[name] ??= []).push(Context.current().info.taskQueue);
    const stubs = stubActivities({
      loadRefreshPlan: async () => {
        onQueue('loadRefreshPlan');
        return dueNow({ crmTaskQueue: `${Context.current().info.taskQueue}.crm.test` });
      },
      refreshCredentials: async () => {
        onQueue('refreshCredentials');
        return refreshed(4);
      },
      checkCredentialHealth: async () => {
        onQueue('checkCredentialHealth');
        return healthy();
      },
    });
    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await eventually(() => expect(stubs.checkCredentialHealth).toHaveBeenCalled());
      await handle.terminate();
      expect(queues.loadRefreshPlan[0]).toBe(test.taskQueue);
      expect(queues.refreshCredentials).toEqual([`${test.taskQueue}.crm.test`]);
      expect(queues.checkCredentialHealth).toEqual([`${test.taskQueue}.crm.test`]);
    });
  });

  test.concurrent('reads its plan and records the status inside the workflow task (local activities): only the CRM calls are activity tasks', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(dueNow(), refreshPlan({ credentialVersion: 4 })),
      refreshCredentials: async () => refreshed(4),
      checkCredentialHealth: async () => healthy(),
    });
    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 2, { refreshes: 1, checks: 1 });
      const { events } = await handle.fetchHistory();
      await handle.terminate();
      const scheduled = events!.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name] : []));
      expect(scheduled).toEqual(['refreshCredentials', 'checkCredentialHealth']); // the CRM calls only
      const markers = events!.filter((e) => e.markerRecordedEventAttributes).map((e) => e.markerRecordedEventAttributes!.markerName);
      expect(markers.filter((name) => name === 'core_local_activity')).toHaveLength(3); // two plans, one status
      expect(stubs.setIntegrationStatus).toHaveBeenCalledTimes(1);
    });
  });

  test.concurrent('refreshes before the token expires, then checks the new credentials', async () => {
    // Due 3 s after the start (expiry minus the margin): time enough to see the workflow waiting for it.
    const expiring = refreshPlan({ expiresAt: iso(Date.now() + 6000), marginSeconds: 3 });
    const after = refreshPlan({ credentialVersion: 4 });
    const refreshCalledAt: number[] = [];
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(expiring, after),
      refreshCredentials: async () => {
        refreshCalledAt.push(Date.now());
        return refreshed(4);
      },
      checkCredentialHealth: async () => healthy(),
    });
    const args = input();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      const waiting = await waitForState(handle, stubs, 1, { integrationId: args.integrationId, refreshes: 0, checks: 0 });
      expect(waiting.nextRunAt).toBe(iso(Date.parse(expiring.expiresAt!) - 3000));
      await waitForState(handle, stubs, 2, { refreshes: 1, checks: 1, lastResult: 'healthy', nextRunAt: iso(Date.parse(after.expiresAt!) - 1000) });
    });

    expect(refreshCalledAt[0]).toBeGreaterThanOrEqual(Date.parse(expiring.expiresAt!) - 3000 - 100);
    expect(refreshCalledAt[0]).toBeLessThan(Date.parse(expiring.expiresAt!));
    expect(callArgs(stubs.loadRefreshPlan)).toEqual([{ integrationId: args.integrationId }, { integrationId: args.integrationId }]);
    expect(callArgs(stubs.refreshCredentials)).toEqual([{ integrationId: args.integrationId, expectedVersion: 3, refreshId: expect.any(String) }]);
    expect(callArgs(stubs.checkCredentialHealth)).toEqual([{ integrationId: args.integrationId, expectedVersion: 4 }]);
    // Healthy: the status is (re)asserted active against the new version; it did not change, so nothing is announced.
    expect(callArgs(stubs.setIntegrationStatus)).toEqual([{ integrationId: args.integrationId, expectedVersion: 4, status: 'active', reason: null }]);
    expect(emittedEvents(stubs)).toEqual([]);
  });

  test.concurrent('a refresh the CRM refuses blocks the integration, announced as authentication_error and status_changed', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(dueNow(), refreshPlan({ status: 'blocked', statusReason: 'refresh_token_revoked' })),
      refreshCredentials: async () => ({ outcome: 'failed', status: 'blocked', reason: 'refresh_token_revoked', detail: 'invalid_grant' }),
      setIntegrationStatus: async () => ({ changed: true, previousStatus: 'active', superseded: false }),
    });
    const args = input();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      // Blocked: nothing is scheduled until someone re-authorizes.
      await waitForState(handle, stubs, 2, { lastResult: 'failed', nextRunAt: null, refreshes: 0, checks: 0 });
    });

    expect(callArgs(stubs.setIntegrationStatus)).toEqual([
      { integrationId: args.integrationId, expectedVersion: 3, status: 'blocked', reason: 'refresh_token_revoked' },
    ]);
    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({ tenantId: args.tenantId, type: 'integrated_account:authentication_error', integrationId: args.integrationId, reason: 'refresh_token_revoked' }),
      expect.objectContaining({ tenantId: args.tenantId, type: 'integrated_account:status_changed', integrationId: args.integrationId, reason: 'refresh_token_revoked' }),
    ]);
    expect(stubs.refreshCredentials).toHaveBeenCalledTimes(1);
    expect(stubs.checkCredentialHealth).not.toHaveBeenCalled();
  });

  test.concurrent('a failed health check degrades the integration and says why', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(healthChecked(0), healthChecked(3600, { lastCheckedAt: iso(Date.now()) })),
      checkCredentialHealth: async () => ({ outcome: 'failed', status: 'degraded', reason: 'missing_scopes', detail: 'scope deals.read was removed' }),
      setIntegrationStatus: async () => ({ changed: true, previousStatus: 'active', superseded: false }),
    });
    const args = input();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      await waitForState(handle, stubs, 2, { checks: 1, lastResult: 'degraded:missing_scopes' });
    });

    expect(stubs.refreshCredentials).not.toHaveBeenCalled();
    expect(callArgs(stubs.setIntegrationStatus)).toEqual([
      { integrationId: args.integrationId, expectedVersion: 3, status: 'degraded', reason: 'missing_scopes' },
    ]);
    expect(emittedEvents(stubs).map((e) => [e.type, e.reason])).toEqual([
      ['integrated_account:authentication_error', 'missing_scopes'],
      ['integrated_account:status_changed', 'missing_scopes'],
    ]);
  });

  test.concurrent('a failure that does not change the status (already degraded) is not announced again', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(healthChecked(0, { status: 'degraded' }), healthChecked(3600, { lastCheckedAt: iso(Date.now()) })),
      checkCredentialHealth: async () => ({ outcome: 'failed', status: 'degraded', reason: 'missing_scopes', detail: 'still missing' }),
      setIntegrationStatus: async () => ({ changed: false, previousStatus: 'degraded', superseded: false }),
    });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 2, { checks: 1 });
    });

    expect(stubs.setIntegrationStatus).toHaveBeenCalledTimes(1);
    expect(emittedEvents(stubs)).toEqual([]);
  });

  test.concurrent('credentials that are healthy again: the integration is set active and the recovery announced', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(healthChecked(0, { status: 'degraded' }), healthChecked(3600, { lastCheckedAt: iso(Date.now()) })),
      checkCredentialHealth: async () => healthy('active'),
      setIntegrationStatus: async () => ({ changed: true, previousStatus: 'degraded', superseded: false }),
    });
    const args = input();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      await waitForState(handle, stubs, 2, { checks: 1, lastResult: 'healthy' });
    });

    expect(callArgs(stubs.setIntegrationStatus)).toEqual([{ integrationId: args.integrationId, expectedVersion: 3, status: 'active', reason: null }]);
    expect(emittedEvents(stubs).map((e) => [e.type, e.integrationId, e.reason])).toEqual([
      ['integrated_account:status_changed', args.integrationId, undefined],
    ]);
  });

  test.concurrent('healthy but still pending (never connected): the status is left alone', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(healthChecked(0, { status: 'pending' }), healthChecked(3600, { lastCheckedAt: iso(Date.now()) })),
      checkCredentialHealth: async () => healthy('pending'),
    });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 2, { checks: 1, lastResult: 'healthy' });
    });

    expect(stubs.setIntegrationStatus).not.toHaveBeenCalled();
    expect(emittedEvents(stubs)).toEqual([]);
  });

  test.concurrent('credentials that do not expire are checked when due, never refreshed', async () => {
    // Due 3 s after the start: time enough to see the workflow waiting for it.
    const lastCheckedAt = Date.now() - 3600_000 + 3000;
    const plan = healthChecked(3600, { lastCheckedAt: iso(lastCheckedAt) });
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(plan, healthChecked(3600, { lastCheckedAt: iso(Date.now() + 2000) })),
      checkCredentialHealth: async () => healthy(),
    });
    const args = input();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      const waiting = await waitForState(handle, stubs, 1, { checks: 0 });
      expect(waiting.nextRunAt).toBe(iso(lastCheckedAt + 3600_000));
      await waitForState(handle, stubs, 2, { checks: 1, refreshes: 0, lastResult: 'healthy' });
    });

    expect(callArgs(stubs.checkCredentialHealth)).toEqual([{ integrationId: args.integrationId, expectedVersion: 3 }]);
    expect(stubs.refreshCredentials).not.toHaveBeenCalled();
  });

  test.concurrent('superseded (newer credentials took over meanwhile): no check, no status, plan again', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(dueNow(), refreshPlan({ credentialVersion: 4 })),
      refreshCredentials: async () => ({ outcome: 'superseded' }),
    });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 2, { lastResult: 'superseded', refreshes: 0, checks: 0 });
    });

    expect(stubs.checkCredentialHealth).not.toHaveBeenCalled();
    expect(stubs.setIntegrationStatus).not.toHaveBeenCalled();
    expect(emittedEvents(stubs)).toEqual([]);
  });

  test.concurrent('refreshNow that lands on credentials a reauthorization just replaced is kept for the new ones', async () => {
    // Blocked on version 3; a reauthorization swaps in version 4 and the person asks for a refresh at
    // once: the refreshNow signal arrives before the swap's credentialsUpdated. The round on 3 is
    // superseded; the request must still refresh 4 now, not at 4's scheduled time an hour away.
    const blocked = refreshPlan({ status: 'blocked', statusReason: 'refresh_token_revoked' });
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(blocked, refreshPlan({ credentialVersion: 4 }), refreshPlan({ credentialVersion: 5 })),
      refreshCredentials: async (args: { expectedVersion: number }) => (args.expectedVersion === 3 ? { outcome: 'superseded' } : refreshed(5)),
      checkCredentialHealth: async () => healthy(),
    });
    const args = input();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      await waitForState(handle, stubs, 1, { nextRunAt: null });
      await handle.signal(refreshNowSignal);
      await waitForState(handle, stubs, 3, { refreshes: 1, checks: 1, lastResult: 'healthy' });
    });

    expect(callArgs(stubs.refreshCredentials).map((a) => a.expectedVersion)).toEqual([3, 4]);
  });

  test.concurrent('refreshNow: refreshes at once instead of waiting for the schedule', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(refreshPlan(), refreshPlan({ credentialVersion: 4 })),
      refreshCredentials: async () => refreshed(4),
      checkCredentialHealth: async () => healthy(),
    });
    const args = input();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      await waitForState(handle, stubs, 1, { nextRunAt: expect.any(String) });
      expect(stubs.refreshCredentials).not.toHaveBeenCalled();
      await handle.signal(refreshNowSignal);
      await waitForState(handle, stubs, 2, { refreshes: 1, checks: 1 });
    });

    expect(callArgs(stubs.refreshCredentials)).toEqual([expect.objectContaining({ integrationId: args.integrationId, expectedVersion: 3 })]);
  });

  test.concurrent('credentialsUpdated: plans again from the new credentials, without refreshing', async () => {
    const swapped = refreshPlan({ credentialVersion: 5, expiresAt: iso(Date.now() + 2 * HOUR) });
    const stubs = stubActivities({ loadRefreshPlan: plansInTurn(refreshPlan(), swapped) });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 1, { nextRunAt: expect.any(String) });
      await handle.signal(credentialsUpdatedSignal);
      await waitForState(handle, stubs, 2, { nextRunAt: iso(Date.parse(swapped.expiresAt!) - 1000) });
    });

    expect(stubs.refreshCredentials).not.toHaveBeenCalled();
    expect(stubs.checkCredentialHealth).not.toHaveBeenCalled();
  });

  test.concurrent('blocked: nothing is scheduled; refreshNow tries once more, credentialsUpdated plans again', async () => {
    const blocked = refreshPlan({ status: 'blocked', statusReason: 'refresh_token_revoked' });
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(blocked, blocked, refreshPlan({ credentialVersion: 4 })),
      refreshCredentials: async () => ({ outcome: 'failed', status: 'blocked', reason: 'refresh_token_revoked', detail: 'invalid_grant' }),
    });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 1, { nextRunAt: null });
      expect(stubs.refreshCredentials).not.toHaveBeenCalled();

      await handle.signal(refreshNowSignal);
      await waitForState(handle, stubs, 2, { nextRunAt: null, lastResult: 'failed' });
      expect(callArgs(stubs.refreshCredentials)).toEqual([expect.objectContaining({ expectedVersion: 3 })]);

      await handle.signal(credentialsUpdatedSignal);
      await waitForState(handle, stubs, 3, { nextRunAt: expect.any(String) });
    });

    expect(stubs.refreshCredentials).toHaveBeenCalledTimes(1);
  });

  test.concurrent('no credentials yet: nothing is scheduled, and refreshNow only plans again', async () => {
    const stubs = stubActivities({ loadRefreshPlan: plansInTurn(refreshPlan({ credentialVersion: null, status: 'pending' })) });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 1, { nextRunAt: null });
      await handle.signal(refreshNowSignal);
      await waitForState(handle, stubs, 2, { nextRunAt: null, lastResult: null });
    });

    expect(stubs.refreshCredentials).not.toHaveBeenCalled();
    expect(stubs.checkCredentialHealth).not.toHaveBeenCalled();
  });

  test.concurrent('a round that fails after its retries leaves the status alone; refreshNow tries again at once', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: plansInTurn(dueNow(), dueNow(), refreshPlan({ credentialVersion: 4 })),
      checkCredentialHealth: async () => healthy(),
    });
    // Given up on at once, as the activity's retries would be after minutes of a CRM that stays down.
    stubs.refreshCredentials
      .mockRejectedValueOnce(ApplicationFailure.nonRetryable('the CRM answered 503 for ten minutes', 'crm_unavailable'))
      .mockResolvedValueOnce(refreshed(4));

    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, input());
      await waitForState(handle, stubs, 1, { lastResult: 'retrying', refreshes: 0 });
      expect(stubs.setIntegrationStatus).not.toHaveBeenCalled();
      expect(emittedEvents(stubs)).toEqual([]);

      await handle.signal(refreshNowSignal);
      await waitForState(handle, stubs, 3, { refreshes: 1, checks: 1, lastResult: 'healthy' });
    });

    expect(stubs.refreshCredentials).toHaveBeenCalledTimes(2);
  });

  test.concurrent.each([
    ['an integration that no longer exists', { exists: false }],
    ['a disabled integration', { status: 'disabled' }],
  ])('%s ends the workflow: stopped', async (_case, overrides) => {
    const stubs = stubActivities({ loadRefreshPlan: plansInTurn(refreshPlan(overrides)) });

    const result = await bed.withActivities(stubs, async (test) => (await startRefresh(test, input())).result());

    expect(result).toBe('stopped');
    expect(stubs.refreshCredentials).not.toHaveBeenCalled();
    expect(stubs.checkCredentialHealth).not.toHaveBeenCalled();
  });
});

