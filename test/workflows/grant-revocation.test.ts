/**
 * Revoking superseded grants: after a successful OAuth swap the reauthorization starts a
 * `revokeGrant` workflow for the credential row the swap superseded (by id, never a token) and does
 * not wait for it; a revocation that keeps failing is recorded and fails nothing. Deleting an
 * integration revokes its grants before the secrets are destroyed.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  INTEGRATION_LIFECYCLE_WORKFLOW,
  lifecycleWorkflowId,
  oauthCallbackSignal,
  REVOKE_GRANT_WORKFLOW,
  revokeGrantWorkflowId,
  submitApiTokenUpdate,
  type IntegrationLifecycleWorkflow,
} from '../../libs/contracts';
import { reauthInput, startReauthorization } from './reauthorization-support';
import { callArgs, setUpWorkflowTestBed, stateHashOf, stubActivities, uniqueId } from './support';

const bed = setUpWorkflowTestBed();

describe('revoking superseded grants', () => {
  test.concurrent('a successful OAuth swap starts revokeGrant for the superseded row; the reauthorization does not wait for it', async () => {
    const superseded = uniqueId('cred');
    let releaseRevocation!: () => void;
    const revocationHeld = new Promise<void>((resolve) => (releaseRevocation = resolve));
    const stubs = stubActivities({
      swapCredentials: async () => ({ version: 4, alreadySwapped: false, previousStatus: 'active', supersededCredentialId: superseded }),
      revokeSupersededGrant: async () => {
        await revocationHeld;
        return { outcome: 'revoked' as const };
      },
    });
    const input = reauthInput({ authType: 'oauth2', provider: 'salesforce' });
    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1', params: {} });
      // Closed while the CRM has not answered the revocation yet.
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded', credentialVersion: 4 });
      const child = test.client.workflow.getHandle(revokeGrantWorkflowId(superseded));
      expect((await child.describe()).type).toBe(REVOKE_GRANT_WORKFLOW);
      expect((await child.describe()).status.name).toBe('RUNNING');
      releaseRevocation();
      expect(await child.result()).toBe('revoked');
    });
    expect(callArgs(stubs.revokeSupersededGrant)).toEqual([{ credentialId: superseded }]);
    const [childInput] = (await bed.client.workflow.getHandle(revokeGrantWorkflowId(superseded)).fetchHistory()).events![0].workflowExecutionStartedEventAttributes!.input!.payloads!;
    // The child's input names ids only.
    expect(JSON.parse(Buffer.from(childInput.data!).toString())).toEqual({
      tenantId: input.tenantId,
      integrationId: input.integrationId,
      provider: 'salesforce',
      credentialId: superseded,
    });
    expect(stubs.recordGrantRevocationFailure).not.toHaveBeenCalled();
  });

  test.concurrent('a revocation the CRM keeps refusing is recorded; the reauthorization succeeded all the same', async () => {
    const superseded = uniqueId('cred');
    const stubs = stubActivities({
      swapCredentials: async () => ({ version: 2, alreadySwapped: false, previousStatus: 'active', supersededCredentialId: superseded }),
      revokeSupersededGrant: async () => {
        throw ApplicationFailure.create({ type: 'revocation_refused', message: 'the revocation endpoint answered 418', nonRetryable: true });
      },
    });
    const input = reauthInput({ authType: 'oauth2', provider: 'zoho' });
    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1', params: {} });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded' });
      expect(await test.client.workflow.getHandle(revokeGrantWorkflowId(superseded)).result()).toBe('failed');
    });
    expect(callArgs(stubs.recordGrantRevocationFailure)).toEqual([{ credentialId: superseded, error: 'the revocation endpoint answered 418' }]);
  });

  test.concurrent('transient CRM failures of the revocation are retried in the background until it goes through', async () => {
    const superseded = uniqueId('cred');
    let calls = 0;
    const stubs = stubActivities({
      swapCredentials: async () => ({ version: 2, alreadySwapped: false, previousStatus: 'active', supersededCredentialId: superseded }),
      revokeSupersededGrant: async () => {
        calls += 1;
        if (calls < 3) throw ApplicationFailure.create({ type: 'crm_unavailable', message: 'the revocation endpoint answered 503', nextRetryDelay: '100 milliseconds' });
        return { outcome: 'revoked' as const };
      },
    });
    const input = reauthInput({ authType: 'oauth2', provider: 'hubspot' });
    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1', params: {} });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded' });
      expect(await test.client.workflow.getHandle(revokeGrantWorkflowId(superseded)).result()).toBe('revoked');
    });
    expect(calls).toBe(3);
    expect(stubs.recordGrantRevocationFailure).not.toHaveBeenCalled();
  });

  test.concurrent('nothing to revoke: a first connection (no superseded row) and API tokens start no revokeGrant', async () => {
    const stubs = stubActivities({
      swapCredentials: async () => ({ version: 1, alreadySwapped: false, previousStatus: 'pending', supersededCredentialId: null }),
    });
    await bed.withActivities(stubs, async (test) => {
      const oauth = await startReauthorization(test, reauthInput({ authType: 'oauth2', provider: 'hubspot' }));
      await oauth.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1', params: {} });
      expect(await oauth.result()).toMatchObject({ outcome: 'succeeded' });
    });
    const apiStubs = stubActivities({
      swapCredentials: async () => ({ version: 3, alreadySwapped: false, previousStatus: 'active', supersededCredentialId: uniqueId('cred') }),
    });
    await bed.withActivities(apiStubs, async (test) => {
      const apiToken = await startReauthorization(test, reauthInput({ authType: 'api_token', provider: 'sandbox' }));
      await apiToken.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'sbx_new' }] });
      expect(await apiToken.result()).toMatchObject({ outcome: 'succeeded' });
    });
    expect(stubs.revokeSupersededGrant).not.toHaveBeenCalled();
    expect(apiStubs.revokeSupersededGrant).not.toHaveBeenCalled();
  });

  test.concurrent('deleting an integration revokes its grants before the secrets are destroyed; a CRM that is down does not stop it', async () => {
    for (const crmDown of [false, true]) {
      const order: string[] = [];
      const stubs = stubActivities({
        revokeIntegrationGrants: async () => {
          order.push('revoke');
          if (crmDown) throw ApplicationFailure.create({ type: 'crm_unavailable', message: 'down', nextRetryDelay: '10 milliseconds' });
          return { revoked: 2, failed: 0 };
        },
        destroyIntegration: async () => {
          order.push('destroy');
          return { found: true, credentialVersions: 3 };
        },
      });
      const integrationId = uniqueId('integration');
      await bed.withActivities(stubs, async ({ client, taskQueue }) => {
        const result = await client.workflow.execute<IntegrationLifecycleWorkflow>(INTEGRATION_LIFECYCLE_WORKFLOW, {
          taskQueue,
          workflowId: lifecycleWorkflowId(integrationId, 'delete', 'r1'),
          args: [{ tenantId: 'tenant-1', integrationId, operation: 'delete', requestId: 'r1', actor: { kind: 'api_key', id: 'key-1' } }],
        });
        expect(result).toEqual({ outcome: 'done' });
      });
      expect(order).toEqual(crmDown ? ['revoke', 'revoke', 'revoke', 'revoke', 'destroy'] : ['revoke', 'destroy']);
      expect(callArgs(stubs.revokeIntegrationGrants)[0]).toEqual({ tenantId: 'tenant-1', integrationId });
    }
  });
});

