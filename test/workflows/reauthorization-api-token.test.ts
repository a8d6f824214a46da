/**
 * `reauthorization` of an API-token integration: the token comes in through the `submitApiToken`
 * update, which validates it against the CRM and swaps it in, or rejects it and keeps the run open.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { awaitStartedUpdate, cancelUpdate, statusQuery, submitApiTokenUpdate } from '../../libs/contracts';
import { ERROR_MESSAGES } from '../../libs/domain/reauthorization';
import { webhookDeliveryWorkflowId } from '../../libs/domain/webhooks';
import { reauthInput, reauthSearchAttributes, startReauthorization } from './reauthorization-support';
import {
  ACCOUNT_ID,
  applicationFailureOf,
  callArgs,
  emittedEvents,
  emittedEventTypes,
  eventually,
  IDENTITY,
  rejectionOf,
  setUpWorkflowTestBed,
  stubActivities,
} from './support';

const bed = setUpWorkflowTestBed();

describe('reauthorization (API token)', () => {
  test.concurrent('a valid token is validated against the current account, swapped in, and announced', async () => {
    const stubs = stubActivities({ swapCredentials: async () => ({ version: 7, alreadySwapped: false, previousStatus: 'active' }) });
    const input = reauthInput();

    await bed.withActivities(stubs, async (test) => {
      const startedAt = Date.now();
      const handle = await startReauthorization(test, input);

      const started = await handle.executeUpdate(awaitStartedUpdate);
      expect(started).toMatchObject({ id: input.reauthorizationId, integrationId: input.integrationId, phase: 'awaiting_user', outcome: null, error: null, attempts: 0 });
      expect(Date.parse(started.expiresAt!)).toBeGreaterThanOrEqual(startedAt + 59_000);
      expect(Date.parse(started.expiresAt!)).toBeLessThanOrEqual(Date.now() + 60_000);
      expect(stubs.beginReauthorization).toHaveBeenCalledWith({ ...input, expiresAt: started.expiresAt });
      expect(await reauthSearchAttributes(handle)).toEqual({
        TenantId: input.tenantId,
        IntegrationId: input.integrationId,
        CrmProvider: input.provider,
        ReauthPhase: 'awaiting_user',
        ReauthOutcome: undefined,
      });

      const answered = await handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'new-token' }] });
      const expected = { ...started, phase: 'completed', outcome: 'succeeded', error: null, attempts: 1, credentialVersion: 7, resyncId: null };
      expect(answered).toEqual(expected);
      expect(await handle.result()).toEqual(expected);

      expect(stubs.validateApiToken).toHaveBeenCalledTimes(1);
      expect(stubs.validateApiToken).toHaveBeenCalledWith({
        tenantId: input.tenantId,
        integrationId: input.integrationId,
        provider: input.provider,
        apiToken: 'new-token',
        expectedAccountId: ACCOUNT_ID,
      });
      expect(stubs.swapCredentials).toHaveBeenCalledTimes(1);
      expect(stubs.swapCredentials).toHaveBeenCalledWith({
        tenantId: input.tenantId,
        integrationId: input.integrationId,
        reauthorizationId: input.reauthorizationId,
        credentials: { secret: { apiToken: 'new-token' }, identity: IDENTITY, expiresAt: null, region: input.region, baseUrl: null },
      });
      expect(stubs.credentialsChanged).toHaveBeenCalledWith({ tenantId: input.tenantId, integrationId: input.integrationId });
      expect(emittedEvents(stubs)).toEqual([
        expect.objectContaining({ tenantId: input.tenantId, type: 'integrated_account:reauthorized', integrationId: input.integrationId, reason: input.reason }),
      ]);
      expect(stubs.startResync).not.toHaveBeenCalled();
      expect(await reauthSearchAttributes(handle)).toMatchObject({ ReauthPhase: 'completed', ReauthOutcome: 'succeeded' });
    });
  });

  test.concurrent('an invalid token: the update rejects with the reason, the run stays open, and the next token succeeds', async () => {
    const stubs = stubActivities();
    stubs.validateApiToken.mockRejectedValueOnce(ApplicationFailure.nonRetryable(ERROR_MESSAGES.invalid_credentials, 'invalid_credentials'));
    const input = reauthInput();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);

      const err = await rejectionOf(handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'wrong-token' }] }));
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(applicationFailureOf(err)).toMatchObject({ type: 'invalid_credentials', message: ERROR_MESSAGES.invalid_credentials });

      const open = await handle.query(statusQuery);
      expect(open).toMatchObject({
        phase: 'awaiting_user',
        outcome: null,
        attempts: 1,
        error: { code: 'invalid_credentials', message: ERROR_MESSAGES.invalid_credentials },
      });
      expect(stubs.swapCredentials).not.toHaveBeenCalled();
      expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(
        expect.objectContaining({ reauthorizationId: input.reauthorizationId, phase: 'awaiting_user', error: open.error, attempts: 1 }),
      );
      expect(await reauthSearchAttributes(handle)).toMatchObject({ ReauthPhase: 'awaiting_user', ReauthOutcome: undefined });

      const answered = await handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'right-token' }] });
      expect(answered).toMatchObject({ phase: 'completed', outcome: 'succeeded', attempts: 2, error: null, credentialVersion: 2 });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded', attempts: 2 });
    });

    expect(callArgs(stubs.validateApiToken).map((args) => args.apiToken)).toEqual(['wrong-token', 'right-token']);
    expect(callArgs(stubs.swapCredentials).map((args) => args.credentials?.secret)).toEqual([{ apiToken: 'right-token' }]);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorized']);
  });

  test.concurrent('a token of another CRM account: account_mismatch, nothing swapped, the run stays open', async () => {
    const stubs = stubActivities({
      validateApiToken: async ({ expectedAccountId }) => {
        if (expectedAccountId !== null && expectedAccountId !== 'acct-other') {
          throw ApplicationFailure.nonRetryable(ERROR_MESSAGES.account_mismatch, 'account_mismatch');
        }
        return { ...IDENTITY, accountId: 'acct-other' };
      },
    });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, reauthInput());
      const err = await rejectionOf(handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'other-account-token' }] }));
      expect(applicationFailureOf(err).type).toBe('account_mismatch');
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'awaiting_user', outcome: null, error: { code: 'account_mismatch' } });
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      expect(await handle.result()).toMatchObject({ outcome: 'cancelled' });
    });

    expect(callArgs(stubs.validateApiToken)).toEqual([expect.objectContaining({ expectedAccountId: ACCOUNT_ID })]);
    expect(stubs.swapCredentials).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
  });

  test.concurrent('allowAccountChange: the token is validated without expecting the current account', async () => {
    const stubs = stubActivities({ validateApiToken: async () => ({ ...IDENTITY, accountId: 'acct-other' }) });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, reauthInput({ allowAccountChange: true }));
      await handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'other-account-token' }] });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded' });
    });

    expect(callArgs(stubs.validateApiToken)).toEqual([expect.objectContaining({ expectedAccountId: null })]);
    expect(callArgs(stubs.swapCredentials)).toEqual([
      expect.objectContaining({ credentials: expect.objectContaining({ identity: { ...IDENTITY, accountId: 'acct-other' } }) }),
    ]);
  });

  test.concurrent('a double submit waits its turn: one token is swapped in, the other finds the reauthorization closed', async () => {
    const stubs = stubActivities({
      validateApiToken: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return IDENTITY;
      },
    });

    const answers = await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, reauthInput());
      await handle.executeUpdate(awaitStartedUpdate);
      const submit = (apiToken: string) => handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken }] });
      const answers = await Promise.allSettled([submit('first-click'), submit('second-click')]);
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded', attempts: 1 });
      return answers;
    });

    const succeeded = answers.filter((answer) => answer.status === 'fulfilled');
    const refused = answers.flatMap((answer) => (answer.status === 'rejected' ? [applicationFailureOf(answer.reason)] : []));
    expect(succeeded).toHaveLength(1);
    expect(refused.map((failure) => [failure.type, failure.message])).toEqual([['reauthorization_closed', ERROR_MESSAGES.reauthorization_closed]]);
    expect(stubs.validateApiToken).toHaveBeenCalledTimes(1);
    expect(stubs.swapCredentials).toHaveBeenCalledTimes(1);
  });

  test.concurrent('a blank token is refused before any attempt is made', async () => {
    const stubs = stubActivities();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, reauthInput());
      await handle.executeUpdate(awaitStartedUpdate);
      const err = await rejectionOf(handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: '  ' }] }));
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'awaiting_user', attempts: 0, error: null });
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      await handle.result();
    });

    expect(stubs.validateApiToken).not.toHaveBeenCalled();
  });

  test.concurrent('cancel: the run ends cancelled, recorded before the update answers, and announces nothing', async () => {
    const stubs = stubActivities();
    const input = reauthInput();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      const answered = await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'changed my mind' }] });
      const cancelled = { code: 'cancelled', message: ERROR_MESSAGES.cancelled };
      expect(answered).toMatchObject({ phase: 'completed', outcome: 'cancelled', error: cancelled });
      expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(
        expect.objectContaining({ reauthorizationId: input.reauthorizationId, phase: 'completed', outcome: 'cancelled', error: cancelled }),
      );
      expect(await handle.result()).toEqual(answered);
      expect(await reauthSearchAttributes(handle)).toMatchObject({ ReauthPhase: 'completed', ReauthOutcome: 'cancelled' });
    });

    expect(stubs.validateApiToken).not.toHaveBeenCalled();
    expect(stubs.swapCredentials).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
    expect(emittedEvents(stubs)).toEqual([]);
  });

  test.concurrent('expiry: no token before the link expires ends the run expired, recorded and announced', async () => {
    const stubs = stubActivities();
    const input = reauthInput({ expiresInSeconds: 1 });

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      const result = await handle.result();
      expect(await reauthSearchAttributes(handle)).toMatchObject({ ReauthPhase: 'completed', ReauthOutcome: 'expired' });
      return result;
    });

    const expired = { code: 'expired', message: ERROR_MESSAGES.expired };
    expect(result).toMatchObject({ phase: 'completed', outcome: 'expired', error: expired, attempts: 0, credentialVersion: null });
    expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(
      expect.objectContaining({ reauthorizationId: input.reauthorizationId, phase: 'completed', outcome: 'expired', error: expired }),
    );
    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({ type: 'integrated_account:reauthorization_failed', integrationId: input.integrationId, reason: 'expired' }),
    ]);
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
  });

  test.concurrent('a token being validated when the link expires is allowed to finish', async () => {
    let expiresAt = Date.now();
    const stubs = stubActivities({
      // Still validating when the link expires.
      validateApiToken: async () => {
        await new Promise((resolve) => setTimeout(resolve, expiresAt + 1500 - Date.now()));
        return IDENTITY;
      },
    });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, reauthInput({ expiresInSeconds: 2 }));
      expiresAt = Date.parse((await handle.executeUpdate(awaitStartedUpdate)).expiresAt!);
      const answered = await handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'slow-token' }] });
      expect(answered).toMatchObject({ outcome: 'succeeded' });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded', error: null });
    });

    expect(stubs.swapCredentials).toHaveBeenCalledTimes(1);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorized']);
  });

  test.concurrent('a CRM that stays unreachable: crm_unavailable after a few retries, the run stays open', async () => {
    const stubs = stubActivities({
      validateApiToken: async () => {
        // A fault the activity did not classify (socket error, timeout): retried, then given up on.
        throw new Error('socket hang up');
      },
    });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, reauthInput());
      const err = await rejectionOf(handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'token' }] }));
      expect(applicationFailureOf(err)).toMatchObject({ type: 'crm_unavailable', message: ERROR_MESSAGES.crm_unavailable });
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'awaiting_user', outcome: null, attempts: 1, error: { code: 'crm_unavailable' } });
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      await handle.result();
    });

    expect(stubs.validateApiToken.mock.calls.length).toBeGreaterThan(1);
    expect(stubs.swapCredentials).not.toHaveBeenCalled();
  });

  test.concurrent('recovering a degraded integration also announces its status change', async () => {
    const stubs = stubActivities({ swapCredentials: async () => ({ version: 3, alreadySwapped: false, previousStatus: 'degraded' }) });
    const input = reauthInput();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'token' }] });
      await handle.result();
    });

    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({ type: 'integrated_account:reauthorized', integrationId: input.integrationId }),
      expect.objectContaining({ type: 'integrated_account:status_changed', integrationId: input.integrationId }),
    ]);
  });

  test.concurrent('events go to every subscribed endpoint as deliveries of their own, which the run does not wait for', async () => {
    const stubs = stubActivities({
      recordWebhookEvent: async () => ({ endpointIds: ['endpoint-1', 'endpoint-2'], delivery: { retryInitialSeconds: 30, retryWindowSeconds: 120 } }),
      // The receivers are down: each delivery fails once, then waits 30 s for its retry.
      deliverWebhook: async () => {
        throw ApplicationFailure.retryable('receiver answered 503', 'webhook_delivery_failed');
      },
    });
    const input = reauthInput();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'token' }] });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded' });

      const [event] = emittedEvents(stubs);
      expect(event).toMatchObject({ type: 'integrated_account:reauthorized', eventId: expect.any(String) });
      await eventually(() => {
        expect(callArgs(stubs.deliverWebhook)).toEqual(
          expect.arrayContaining([
            { eventId: event.eventId, endpointId: 'endpoint-1' },
            { eventId: event.eventId, endpointId: 'endpoint-2' },
          ]),
        );
      });
      for (const endpointId of ['endpoint-1', 'endpoint-2']) {
        const delivery = bed.client.workflow.getHandle(webhookDeliveryWorkflowId(event.eventId, endpointId));
        expect((await delivery.describe()).status.name).toBe('RUNNING');
        await delivery.cancel();
        expect(await delivery.result()).toEqual({ status: 'failed', reason: 'cancelled' });
      }
    });
  });
});
