/**
 * `integrationLifecycle`: disable, enable and delete one integration. The database change comes
 * first, then the integration's other workflows are ended, then the event; a repeated request
 * changes and announces nothing; a delete records its event before the rows go and delivers it after.
 */
import {
  INTEGRATION_LIFECYCLE_WORKFLOW,
  type IntegrationLifecycleInput,
  type IntegrationLifecycleResult,
  type IntegrationLifecycleWorkflow,
  lifecycleWorkflowId,
} from '../../libs/contracts';
import { callArgs, emittedEventTypes, eventually, setUpWorkflowTestBed, stubActivities, type TestContext, uniqueId, type WorkflowActivities } from './support';

type RefreshPlan = Awaited<ReturnType<WorkflowActivities['loadRefreshPlan']>>;

const bed = setUpWorkflowTestBed();

function lifecycleInput(operation: IntegrationLifecycleInput['operation']): IntegrationLifecycleInput {
  return { tenantId: 'tenant-1', integrationId: uniqueId('integration'), operation, requestId: uniqueId('request'), actor: { kind: 'api_key', id: 'key-1' } };
}

function run({ client, taskQueue }: TestContext, input: IntegrationLifecycleInput): Promise<IntegrationLifecycleResult> {
  return client.workflow.execute<IntegrationLifecycleWorkflow>(INTEGRATION_LIFECYCLE_WORKFLOW, {
    taskQueue,
    workflowId: lifecycleWorkflowId(input.integrationId, input.operation, input.requestId),
    args: [input],
  });
}

/** An API token that does not expire: checked with who-am-I, never refreshed. */
function plan(overrides: Partial<RefreshPlan> = {}): RefreshPlan {
  return {
    exists: true,
    tenantId: 'tenant-1',
    provider: 'sandbox',
    authType: 'api_token',
    status: 'active',
    statusReason: null,
    credentialVersion: 1,
    expiresAt: null,
    issuedAt: new Date(Date.now() - 3600_000).toISOString(),
    refreshable: false,
    lastCheckedAt: null,
    marginSeconds: 300,
    jitterSeconds: 0,
    healthCheckIntervalSeconds: 3600,
    ...overrides,
  };
}

const step = (input: IntegrationLifecycleInput) => ({ tenantId: input.tenantId, integrationId: input.integrationId, requestId: input.requestId, actor: input.actor });

describe('integrationLifecycle', () => {
  test.concurrent('disable: status first, then the reauthorization, refresh and re-sync are ended, then integrated_account:disabled', async () => {
    const stubs = stubActivities();
    const input = lifecycleInput('disable');

    expect(await bed.withActivities(stubs, (t) => run(t, input))).toEqual({ outcome: 'done' });

    expect(stubs.disableIntegration).toHaveBeenCalledWith(step(input));
    const how = { integrationId: input.integrationId, reason: 'integration disabled' };
    // An open reauthorization and a re-sync keep their records: cancelled, never terminated.
    expect(stubs.endReauthorizationWorkflow).toHaveBeenCalledWith({ ...how, terminate: false });
    expect(stubs.endResyncWorkflow).toHaveBeenCalledWith({ ...how, terminate: false });
    expect(stubs.endTokenRefreshWorkflow).toHaveBeenCalledWith({ ...how, terminate: true });
    expect(stubs.endReauthorizationWorkflow.mock.invocationCallOrder[0]).toBeGreaterThan(stubs.disableIntegration.mock.invocationCallOrder[0]);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:disabled']);
    expect(stubs.terminateIntegrationWorkflows).not.toHaveBeenCalled();
  });

  test.concurrent('disable of a disabled integration: its workflows are still ended, nothing is announced', async () => {
    const stubs = stubActivities({ disableIntegration: async () => ({ found: true, changed: false, previousStatus: 'disabled' }) });
    const input = lifecycleInput('disable');

    expect(await bed.withActivities(stubs, (t) => run(t, input))).toEqual({ outcome: 'unchanged' });

    expect(stubs.endTokenRefreshWorkflow).toHaveBeenCalledTimes(1);
    expect(emittedEventTypes(stubs)).toEqual([]);
  });

  test.concurrent('a workflow that cannot be ended does not fail the disable', async () => {
    const stubs = stubActivities({
      endResyncWorkflow: async () => {
        throw new Error('temporal is having a bad day');
      },
    });
    const input = lifecycleInput('disable');

    expect(await bed.withActivities(stubs, (t) => run(t, input))).toEqual({ outcome: 'done' });
    expect(stubs.endResyncWorkflow).toHaveBeenCalledTimes(3); // the proxy's retries
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:disabled']);
  });

  test.concurrent('an integration that does not exist (any more): not_found, nothing else happens', async () => {
    const stubs = stubActivities({
      disableIntegration: async () => ({ found: false, changed: false, previousStatus: null }),
      enableIntegration: async () => ({ found: false, changed: false, credentialVersion: null }),
      beginIntegrationDeletion: async () => ({ found: false }),
    });
    const results = await bed.withActivities(stubs, (t) => Promise.all((['disable', 'enable', 'delete'] as const).map((op) => run(t, lifecycleInput(op)))));

    expect(results).toEqual([{ outcome: 'not_found' }, { outcome: 'not_found' }, { outcome: 'not_found' }]);
    for (const stub of [stubs.endReauthorizationWorkflow, stubs.endTokenRefreshWorkflow, stubs.destroyIntegration, stubs.loadRefreshPlan, stubs.recordWebhookEvent]) {
      expect(stub).not.toHaveBeenCalled();
    }
  });

  test.concurrent('enable: the credentials are checked before refreshes resume and before it is announced', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: async () => plan(),
      checkCredentialHealth: async () => ({ outcome: 'healthy', status: 'active', reason: null }),
    });
    const input = lifecycleInput('enable');

    expect(await bed.withActivities(stubs, (t) => run(t, input))).toEqual({ outcome: 'done' });

    expect(stubs.enableIntegration).toHaveBeenCalledWith(step(input));
    expect(stubs.refreshCredentials).not.toHaveBeenCalled();
    expect(stubs.checkCredentialHealth).toHaveBeenCalledWith({ integrationId: input.integrationId, expectedVersion: 1 });
    expect(stubs.credentialsChanged).toHaveBeenCalledWith({ tenantId: input.tenantId, integrationId: input.integrationId });
    expect(stubs.credentialsChanged.mock.invocationCallOrder[0]).toBeGreaterThan(stubs.checkCredentialHealth.mock.invocationCallOrder[0]);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:enabled']);
  });

  test.concurrent('enable with revoked credentials: blocked, announced as authentication_error, then enabled', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: async () => plan(),
      checkCredentialHealth: async () => ({ outcome: 'failed', status: 'blocked', reason: 'invalid_credentials', detail: 'revoked' }),
      setIntegrationStatus: async () => ({ changed: true, previousStatus: 'active', superseded: false }),
    });
    const input = lifecycleInput('enable');

    expect(await bed.withActivities(stubs, (t) => run(t, input))).toEqual({ outcome: 'done' });

    expect(callArgs(stubs.setIntegrationStatus)).toEqual([{ integrationId: input.integrationId, expectedVersion: 1, status: 'blocked', reason: 'invalid_credentials' }]);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:authentication_error', 'integrated_account:enabled']);
    expect(stubs.credentialsChanged).toHaveBeenCalledTimes(1);
  });

  test.concurrent('enable of an expired OAuth token: refreshed first, the new version checked', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: async () => plan({ authType: 'oauth2', refreshable: true, credentialVersion: 4, expiresAt: new Date(Date.now() - 60_000).toISOString() }),
      refreshCredentials: async () => ({ outcome: 'refreshed', version: 5, expiresAt: new Date(Date.now() + 3600_000).toISOString() }),
      checkCredentialHealth: async () => ({ outcome: 'healthy', status: 'active', reason: null }),
    });
    const input = lifecycleInput('enable');

    await bed.withActivities(stubs, (t) => run(t, input));

    expect(callArgs(stubs.refreshCredentials)).toEqual([expect.objectContaining({ integrationId: input.integrationId, expectedVersion: 4 })]);
    expect(stubs.checkCredentialHealth).toHaveBeenCalledWith({ integrationId: input.integrationId, expectedVersion: 5 });
  });

  test.concurrent('enable when the CRM does not answer: still enabled (the refresh workflow retries the check)', async () => {
    const stubs = stubActivities({
      loadRefreshPlan: async () => plan(),
      checkCredentialHealth: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    const input = lifecycleInput('enable');

    expect(await bed.withActivities(stubs, (t) => run(t, input))).toEqual({ outcome: 'done' });
    expect(stubs.setIntegrationStatus).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).toHaveBeenCalledTimes(1);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:enabled']);
  });

  test.concurrent('enable of a never-connected integration, or of one that is not disabled: no check', async () => {
    const stubs = stubActivities({ enableIntegration: async () => ({ found: true, changed: true, credentialVersion: null }) });
    const unchanged = stubActivities({ enableIntegration: async () => ({ found: true, changed: false, credentialVersion: 1 }) });

    expect(await bed.withActivities(stubs, (t) => run(t, lifecycleInput('enable')))).toEqual({ outcome: 'done' });
    expect(await bed.withActivities(unchanged, (t) => run(t, lifecycleInput('enable')))).toEqual({ outcome: 'unchanged' });

    expect(stubs.loadRefreshPlan).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:enabled']);
    expect(unchanged.loadRefreshPlan).not.toHaveBeenCalled();
    expect(emittedEventTypes(unchanged)).toEqual([]);
  });

  test.concurrent('delete: every workflow ended (terminated if need be), the event recorded, the rows destroyed, then delivered', async () => {
    const stubs = stubActivities({
      recordWebhookEvent: async () => ({ endpointIds: ['endpoint-1'], delivery: { retryInitialSeconds: 1, retryWindowSeconds: 60 } }),
    });
    const input = lifecycleInput('delete');

    const result = await bed.withActivities(stubs, async (t) => {
      const done = await run(t, input);
      // The delivery is an abandoned child: it runs on after the deletion has answered.
      await eventually(() => expect(stubs.deliverWebhook).toHaveBeenCalled());
      return done;
    });
    expect(result).toEqual({ outcome: 'done' });

    const how = { integrationId: input.integrationId, reason: 'integration deleted', terminate: true };
    expect(stubs.endReauthorizationWorkflow).toHaveBeenCalledWith(how);
    expect(stubs.endTokenRefreshWorkflow).toHaveBeenCalledWith(how);
    expect(stubs.endResyncWorkflow).toHaveBeenCalledWith(how);
    expect(stubs.terminateIntegrationWorkflows).toHaveBeenCalledWith({
      integrationId: input.integrationId,
      exceptWorkflowId: lifecycleWorkflowId(input.integrationId, 'delete', input.requestId),
      reason: 'integration deleted',
    });
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:deleted']);
    const order = (stub: { mock: { invocationCallOrder: number[] } }) => stub.mock.invocationCallOrder[0];
    expect(order(stubs.beginIntegrationDeletion)).toBeLessThan(order(stubs.endReauthorizationWorkflow));
    expect(order(stubs.terminateIntegrationWorkflows)).toBeLessThan(order(stubs.recordWebhookEvent));
    // The payload is frozen while the integration still exists; the delivery starts once it is gone.
    expect(order(stubs.recordWebhookEvent)).toBeLessThan(order(stubs.destroyIntegration));
    expect(order(stubs.destroyIntegration)).toBeLessThan(order(stubs.deliverWebhook));
    expect(stubs.destroyIntegration).toHaveBeenCalledWith(step(input));
  });
});
