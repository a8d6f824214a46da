/**
 * `tokenRefresh` recommends a reauthorization before a refresh token expires by itself (idle window
 * or CRM policy): `REAUTH_RECOMMENDED_BEFORE_SECONDS` ahead of `refreshTokenExpiresAt` it calls
 * `recommendReauthorization` (warning alert) and emits `integrated_account:reauthorization_recommended`
 * — once: a plan that says it was raised, or an activity that answers `raised: false`, emits nothing.
 * The dev server does not skip time, so the windows are seconds long here.
 */
import {
  refreshNowSignal,
  TOKEN_REFRESH_WORKFLOW,
  tokenRefreshWorkflowId,
  type TokenRefreshInput,
  type TokenRefreshWorkflow,
} from '../../libs/contracts';
import { callArgs, emittedEventTypes, eventually, setUpWorkflowTestBed, stubActivities, type TestContext, uniqueId, type WorkflowActivities } from './support';

type RefreshPlan = Awaited<ReturnType<WorkflowActivities['loadRefreshPlan']>>;

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Access token good for an hour (no refresh due); refresh token expiring `refreshTokenInMs` from now; warn 60 s ahead. */
function plan(refreshTokenInMs: number, overrides: Partial<RefreshPlan> = {}): RefreshPlan {
  const now = Date.now();
  return {
    exists: true,
    tenantId: 'tenant-1',
    provider: 'pipedrive',
    authType: 'oauth2',
    status: 'active',
    statusReason: null,
    credentialVersion: 7,
    expiresAt: iso(now + HOUR),
    issuedAt: iso(now),
    refreshable: true,
    lastCheckedAt: null,
    marginSeconds: 1,
    jitterSeconds: 0,
    healthCheckIntervalSeconds: 3600,
    refreshTokenExpiresAt: iso(now + refreshTokenInMs),
    reauthRecommendedBeforeSeconds: 60,
    reauthRecommended: false,
    ...overrides,
  };
}

const bed = setUpWorkflowTestBed();

function startRefresh({ client, taskQueue }: TestContext, args: TokenRefreshInput) {
  return client.workflow.start<TokenRefreshWorkflow>(TOKEN_REFRESH_WORKFLOW, { taskQueue, workflowId: tokenRefreshWorkflowId(args.integrationId), args: [args] });
}

describe('tokenRefresh recommends a reauthorization before the refresh token expires', () => {
  test.concurrent('inside the window at once: recommended once, then never again round after round', async () => {
    let raised = false;
    const stubs = stubActivities({
      // Once raised, the plan says so (the activity recorded it).
      loadRefreshPlan: async () => plan(30_000, { reauthRecommended: raised }),
      recommendReauthorization: async () => {
        raised = true;
        return { raised: true };
      },
      refreshCredentials: async () => ({ outcome: 'refreshed', version: 7, expiresAt: iso(Date.now() + HOUR) }),
      checkCredentialHealth: async () => ({ outcome: 'healthy', status: 'active', reason: null }),
    });
    const args = { tenantId: 'tenant-1', integrationId: uniqueId('integration') };
    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, args);
      await eventually(() => expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorization_recommended']));
      // Three more rounds (refresh now): no second recommendation.
      for (let signals = 1; signals <= 3; signals++) {
        await handle.signal(refreshNowSignal);
        await eventually(() => expect(stubs.checkCredentialHealth).toHaveBeenCalledTimes(signals));
        await eventually(() => expect(stubs.loadRefreshPlan).toHaveBeenCalledTimes(signals + 1));
      }
      await handle.terminate('test over');
    });
    expect(callArgs(stubs.recommendReauthorization)).toEqual([{ integrationId: args.integrationId, expectedVersion: 7 }]);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorization_recommended']);
    expect(callArgs(stubs.recordWebhookEvent)[0]).toMatchObject({ tenantId: 'tenant-1', integrationId: args.integrationId, reason: 'refresh_token_expiring' });
  });

  test.concurrent('ahead of the window: the workflow wakes when it opens (long before the refresh is due) and recommends', async () => {
    const expiresIn = 60_000 + 3_000; // the window opens in 3 s; the access token is good for an hour
    const fixed = plan(expiresIn);
    let raisedAt = 0;
    const stubs = stubActivities({
      loadRefreshPlan: async () => ({ ...fixed, reauthRecommended: raisedAt > 0 }),
      recommendReauthorization: async () => {
        raisedAt = Date.now();
        return { raised: true };
      },
    });
    const started = Date.now();
    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, { tenantId: 'tenant-1', integrationId: uniqueId('integration') });
      await eventually(() => expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorization_recommended']), 20_000);
      expect(stubs.loadRefreshPlan).toHaveBeenCalledTimes(2);
      await handle.terminate('test over');
    });
    expect(raisedAt - started).toBeGreaterThanOrEqual(2_500);
    expect(stubs.refreshCredentials).not.toHaveBeenCalled();
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorization_recommended']);
  });

  test.concurrent('nothing is announced when the activity did not raise it (already raised, or newer credentials)', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: async () => plan(10_000),
      recommendReauthorization: async () => ({ raised: false }),
      refreshCredentials: async () => ({ outcome: 'refreshed', version: 7, expiresAt: iso(Date.now() + HOUR) }),
      checkCredentialHealth: async () => ({ outcome: 'healthy', status: 'active', reason: null }),
    });
    await bed.withActivities(stubs, async (test) => {
      const handle = await startRefresh(test, { tenantId: 'tenant-1', integrationId: uniqueId('integration') });
      await eventually(() => expect(stubs.recommendReauthorization).toHaveBeenCalledTimes(1));
      // A round later (refresh now) it asks again — the activity decides — and still announces nothing.
      await handle.signal(refreshNowSignal);
      await eventually(() => expect(stubs.recommendReauthorization).toHaveBeenCalledTimes(2));
      await handle.terminate('test over');
    });
    expect(emittedEventTypes(stubs)).toEqual([]);
  });

  test.concurrent('no recommendation without a known expiry, or while blocked (the error alert asks already)', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: async () => plan(10_000, { refreshTokenExpiresAt: null }),
    });
    const blockedStubs = stubActivities({
      loadRefreshPlan: async () => plan(10_000, { status: 'blocked', statusReason: 'refresh_token_revoked' }),
    });
    for (const s of [stubs, blockedStubs]) {
      await bed.withActivities(s, async (test) => {
        const handle = await startRefresh(test, { tenantId: 'tenant-1', integrationId: uniqueId('integration') });
        await eventually(() => expect(s.loadRefreshPlan).toHaveBeenCalledTimes(1));
        await new Promise((r) => setTimeout(r, 1000));
        await handle.terminate('test over');
      });
      expect(s.recommendReauthorization).not.toHaveBeenCalled();
    }
  });
});
