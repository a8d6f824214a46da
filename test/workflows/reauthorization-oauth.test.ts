/**
 * `reauthorization` of an OAuth integration: each attempt has a `state` (its hash is what the
 * callback carries); the callback of the current attempt is exchanged, validated and swapped in.
 * Also what follows any success: the opt-in full re-sync, the refresh workflow, the events.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { awaitStartedUpdate, cancelUpdate, oauthCallbackSignal, statusQuery, submitApiTokenUpdate } from '../../libs/contracts';
import { ERROR_MESSAGES } from '../../libs/domain/reauthorization';
import { reauthInput, reauthSearchAttributes, startReauthorization } from './reauthorization-support';
import {
  ACCOUNT_ID,
  callArgs,
  emittedEvents,
  emittedEventTypes,
  eventually,
  REQUIRED_SCOPES,
  rejectionOf,
  setUpWorkflowTestBed,
  stateHashOf,
  stubActivities,
} from './support';

const bed = setUpWorkflowTestBed();

const oauthInput = (overrides: Parameters<typeof reauthInput>[0] = {}) => reauthInput({ authType: 'oauth2', provider: 'hubspot', ...overrides });

describe('reauthorization (OAuth)', () => {
  test.concurrent('the callback of the current attempt is exchanged, validated, swapped in and announced', async () => {
    const stubs = stubActivities({ swapCredentials: async () => ({ version: 5, alreadySwapped: false, previousStatus: 'active' }) });
    const input = oauthInput({ scopes: ['tickets.read'] });

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      expect(await handle.executeUpdate(awaitStartedUpdate)).toMatchObject({ phase: 'awaiting_user', outcome: null, attempts: 0 });
      expect(callArgs(stubs.prepareAuthorizationAttempt)).toEqual([{ reauthorizationId: input.reauthorizationId, attempt: 1 }]);

      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1', params: { location: 'eu' } });
      const result = await handle.result();

      expect(result).toEqual({
        id: input.reauthorizationId,
        integrationId: input.integrationId,
        phase: 'completed',
        outcome: 'succeeded',
        error: null,
        attempts: 1,
        expiresAt: expect.any(String),
        credentialVersion: 5,
        resyncId: null,
      });
      expect(await reauthSearchAttributes(handle)).toEqual({
        TenantId: input.tenantId,
        IntegrationId: input.integrationId,
        CrmProvider: input.provider,
        ReauthPhase: 'completed',
        ReauthOutcome: 'succeeded',
      });
    });

    expect(callArgs(stubs.exchangeAuthorizationCode)).toEqual([
      { reauthorizationId: input.reauthorizationId, attempt: 1, code: 'code-1', callbackParams: { location: 'eu' } },
    ]);
    expect(callArgs(stubs.validatePendingCredentials)).toEqual([
      { pendingCredentialId: 'pending-1', expectedAccountId: ACCOUNT_ID, requiredScopes: REQUIRED_SCOPES },
    ]);
    expect(callArgs(stubs.swapCredentials)).toEqual([
      {
        tenantId: input.tenantId,
        integrationId: input.integrationId,
        reauthorizationId: input.reauthorizationId,
        pendingCredentialId: 'pending-1',
        addRequiredScopes: ['tickets.read'],
      },
    ]);
    expect(callArgs(stubs.credentialsChanged)).toEqual([{ tenantId: input.tenantId, integrationId: input.integrationId }]);
    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({ tenantId: input.tenantId, type: 'integrated_account:reauthorized', integrationId: input.integrationId, reason: input.reason }),
    ]);
    expect(stubs.startResync).not.toHaveBeenCalled();
  });

  test.concurrent('allowAccountChange: the new credentials are validated without expecting the current account', async () => {
    const stubs = stubActivities();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, oauthInput({ allowAccountChange: true }));
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1' });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded' });
    });

    expect(callArgs(stubs.exchangeAuthorizationCode)).toEqual([expect.objectContaining({ callbackParams: {} })]);
    expect(callArgs(stubs.validatePendingCredentials)).toEqual([expect.objectContaining({ expectedAccountId: null })]);
  });

  test.concurrent('a callback with another state (a stale link, a second click) is ignored', async () => {
    const stubs = stubActivities();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, oauthInput());
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: 'state-hash-of-an-old-link', code: 'stale-code' });
      await handle.signal(oauthCallbackSignal, { stateHash: 'state-hash-of-an-old-link', error: 'access_denied' });
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'fresh-code' });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded', attempts: 1, error: null });
    });

    expect(callArgs(stubs.exchangeAuthorizationCode)).toEqual([expect.objectContaining({ attempt: 1, code: 'fresh-code' })]);
    expect(stubs.prepareAuthorizationAttempt).toHaveBeenCalledTimes(1);
  });

  test.concurrent('access_denied on the consent screen opens a new attempt; only its state is accepted then', async () => {
    const stubs = stubActivities();
    const input = oauthInput();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), error: 'access_denied' });

      await eventually(() => expect(callArgs(stubs.prepareAuthorizationAttempt)).toEqual([
        { reauthorizationId: input.reauthorizationId, attempt: 1 },
        { reauthorizationId: input.reauthorizationId, attempt: 2 },
      ]));
      const denied = { code: 'access_denied', message: ERROR_MESSAGES.access_denied };
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'awaiting_user', outcome: null, attempts: 1, error: denied });
      expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(
        expect.objectContaining({ reauthorizationId: input.reauthorizationId, phase: 'awaiting_user', error: denied, attempts: 1 }),
      );

      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-of-attempt-1' });
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(2), code: 'code-of-attempt-2' });
      expect(await handle.result()).toMatchObject({ outcome: 'succeeded', attempts: 2, error: null });
    });

    expect(callArgs(stubs.exchangeAuthorizationCode)).toEqual([expect.objectContaining({ attempt: 2, code: 'code-of-attempt-2' })]);
    expect(callArgs(stubs.swapCredentials)).toEqual([expect.objectContaining({ pendingCredentialId: 'pending-2' })]);
  });

  test.concurrent.each([
    ['another error of the CRM', { error: 'server_error', errorDescription: 'try later' }, { code: 'server_error', message: 'The CRM answered "server_error": try later.' }],
    ['a callback with neither code nor error', {}, { code: 'access_denied', message: ERROR_MESSAGES.access_denied }],
  ])('%s also opens a new attempt', async (_case, callback, expectedError) => {
    const stubs = stubActivities();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, oauthInput());
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), ...callback });
      await eventually(() => expect(stubs.prepareAuthorizationAttempt).toHaveBeenCalledTimes(2));
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'awaiting_user', outcome: null, attempts: 1, error: expectedError });
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      expect(await handle.result()).toMatchObject({ outcome: 'cancelled' });
    });

    expect(stubs.exchangeAuthorizationCode).not.toHaveBeenCalled();
  });

  test.concurrent('new credentials that fall short (missing scopes) are not swapped in; a new attempt opens', async () => {
    const stubs = stubActivities({
      validatePendingCredentials: async () => {
        throw ApplicationFailure.nonRetryable(ERROR_MESSAGES.missing_scopes, 'missing_scopes');
      },
    });
    const input = oauthInput();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1' });
      await eventually(() => expect(stubs.prepareAuthorizationAttempt).toHaveBeenCalledTimes(2));
      const missing = { code: 'missing_scopes', message: ERROR_MESSAGES.missing_scopes };
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'awaiting_user', outcome: null, attempts: 1, error: missing });
      expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(expect.objectContaining({ phase: 'awaiting_user', error: missing }));
      expect(await reauthSearchAttributes(handle)).toMatchObject({ ReauthPhase: 'awaiting_user', ReauthOutcome: undefined });
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      await handle.result();
    });

    expect(stubs.swapCredentials).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
  });

  test.concurrent.each([
    ['invalid_grant', 'exchangeAuthorizationCode'],
    ['provider_misconfigured', 'exchangeAuthorizationCode'],
    ['invalid_grant', 'validatePendingCredentials'],
  ] as const)('%s from %s ends the run failed, recorded and announced', async (code, activity) => {
    const stubs = stubActivities({
      [activity]: async () => {
        throw ApplicationFailure.nonRetryable(ERROR_MESSAGES[code], code);
      },
    });
    const input = oauthInput();

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1' });
      const result = await handle.result();
      expect(await reauthSearchAttributes(handle)).toMatchObject({ ReauthPhase: 'completed', ReauthOutcome: 'failed' });
      return result;
    });

    const error = { code, message: ERROR_MESSAGES[code] };
    expect(result).toMatchObject({ phase: 'completed', outcome: 'failed', error, attempts: 1, credentialVersion: null });
    expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(
      expect.objectContaining({ reauthorizationId: input.reauthorizationId, phase: 'completed', outcome: 'failed', error }),
    );
    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({ type: 'integrated_account:reauthorization_failed', integrationId: input.integrationId, reason: code }),
    ]);
    expect(stubs.prepareAuthorizationAttempt).toHaveBeenCalledTimes(1);
    expect(stubs.swapCredentials).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
  });

  test.concurrent('expiry: no usable callback before the link expires ends the run expired, recorded and announced', async () => {
    const stubs = stubActivities();
    const input = oauthInput({ expiresInSeconds: 1 });

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: 'state-hash-of-an-old-link', code: 'stale-code' });
      return handle.result();
    });

    const expired = { code: 'expired', message: ERROR_MESSAGES.expired };
    expect(result).toMatchObject({ phase: 'completed', outcome: 'expired', error: expired });
    expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(
      expect.objectContaining({ reauthorizationId: input.reauthorizationId, phase: 'completed', outcome: 'expired', error: expired }),
    );
    expect(emittedEvents(stubs)).toEqual([expect.objectContaining({ type: 'integrated_account:reauthorization_failed', reason: 'expired' })]);
    expect(stubs.exchangeAuthorizationCode).not.toHaveBeenCalled();
  });

  test.concurrent('an OAuth reauthorization refuses an API token', async () => {
    const stubs = stubActivities();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, oauthInput());
      await handle.executeUpdate(awaitStartedUpdate);
      const err = await rejectionOf(handle.executeUpdate(submitApiTokenUpdate, { args: [{ apiToken: 'token' }] }));
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'awaiting_user', attempts: 0 });
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      await handle.result();
    });

    expect(stubs.validateApiToken).not.toHaveBeenCalled();
  });

  test.concurrent('cancel while waiting for the callback ends the run cancelled; a later callback changes nothing', async () => {
    const stubs = stubActivities();

    await bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, oauthInput());
      await handle.executeUpdate(awaitStartedUpdate);
      expect(await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'wrong account' }] })).toMatchObject({ phase: 'completed', outcome: 'cancelled' });
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'too-late' }).catch(() => undefined);
      expect(await handle.result()).toMatchObject({ outcome: 'cancelled', error: { code: 'cancelled' } });
    });

    expect(stubs.exchangeAuthorizationCode).not.toHaveBeenCalled();
    expect(emittedEvents(stubs)).toEqual([]);
  });
});

describe('after a successful reauthorization', () => {
  const succeed = async (stubs: ReturnType<typeof stubActivities>, input: ReturnType<typeof oauthInput>) =>
    bed.withActivities(stubs, async (test) => {
      const handle = await startReauthorization(test, input);
      await handle.executeUpdate(awaitStartedUpdate);
      await handle.signal(oauthCallbackSignal, { stateHash: stateHashOf(1), code: 'code-1' });
      return handle.result();
    });

  test.concurrent('fullResync: true starts the full re-sync (or joins the running one) and records its id', async () => {
    const stubs = stubActivities({ startResync: async () => 'resync-already-running' });
    const input = oauthInput({ fullResync: true });

    const result = await succeed(stubs, input);

    expect(result).toMatchObject({ outcome: 'succeeded', resyncId: 'resync-already-running' });
    expect(callArgs(stubs.startResync)).toEqual([
      {
        resyncId: expect.any(String),
        tenantId: input.tenantId,
        integrationId: input.integrationId,
        trigger: 'reauthorization',
        reauthorizationId: input.reauthorizationId,
      },
    ]);
    expect(stubs.recordReauthorizationProgress).toHaveBeenCalledWith(
      expect.objectContaining({ reauthorizationId: input.reauthorizationId, phase: 'completed', resyncId: 'resync-already-running' }),
    );
    expect(stubs.credentialsChanged).toHaveBeenCalledTimes(1);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorized']);
  });

  test.concurrent('a re-sync that cannot start leaves the success as it is', async () => {
    const stubs = stubActivities({
      startResync: async () => {
        throw ApplicationFailure.nonRetryable('the re-sync could not be recorded', 'resync_start_failed');
      },
    });

    const result = await succeed(stubs, oauthInput({ fullResync: true }));

    expect(result).toMatchObject({ outcome: 'succeeded', error: null, resyncId: null });
    expect(stubs.startResync).toHaveBeenCalled();
    expect(stubs.credentialsChanged).toHaveBeenCalledTimes(1);
    expect(emittedEventTypes(stubs)).toEqual(['integrated_account:reauthorized']);
  });

  test.concurrent('a blocked integration that recovers also announces its status change', async () => {
    const stubs = stubActivities({ swapCredentials: async () => ({ version: 9, alreadySwapped: false, previousStatus: 'blocked' }) });
    const input = oauthInput();

    await succeed(stubs, input);

    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({ type: 'integrated_account:reauthorized', integrationId: input.integrationId, reason: input.reason }),
      expect.objectContaining({ type: 'integrated_account:status_changed', integrationId: input.integrationId }),
    ]);
  });
});
