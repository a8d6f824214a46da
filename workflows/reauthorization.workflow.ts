import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  ERROR_MESSAGES,
  RETRYABLE_BY_USER,
  type ReauthError,
  type ReauthorizationInput,
  type ReauthorizationStatus,
  type ReauthOutcome,
  type ReauthPhase,
} from '../libs/domain/reauthorization';
import type { Activities, IntegrationSnapshot } from './activity-types';
import { emitEvent } from './events';
import { startResyncAfterReauthorization } from './hooks/resync';
import {
  awaitStartedUpdate,
  cancelUpdate,
  type OAuthCallbackPayload,
  oauthCallbackSignal,
  statusQuery,
  submitApiTokenUpdate,
} from './definitions';

// Bookkeeping against our own Postgres: retried patiently, it only fails if the database is gone.
const db = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

// Calls to the CRM while a person waits for the answer: a few quick retries of transient faults,
// then give the person a clear `crm_unavailable` instead of leaving the request hanging.
const crm = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    maximumInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumAttempts: 4,
    nonRetryableErrorTypes: [
      'invalid_credentials',
      'account_mismatch',
      'missing_scopes',
      'invalid_grant',
      'unknown_provider',
      'provider_not_configured',
      'provider_misconfigured',
      'invalid_state',
    ],
  },
});

/** Errors after which the OAuth reauthorization cannot go on: the admin must act or start over. */
const TERMINAL_OAUTH_ERRORS = new Set(['invalid_grant', 'provider_not_configured', 'provider_misconfigured', 'invalid_state']);

/** Turns an activity failure into the reauthorization error a person sees. */
export function toReauthError(err: unknown): ReauthError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type) {
    if (RETRYABLE_BY_USER.has(cause.type) || ERROR_MESSAGES[cause.type] || TERMINAL_OAUTH_ERRORS.has(cause.type)) {
      return { code: cause.type, message: cause.message || ERROR_MESSAGES[cause.type] };
    }
  }
  // Retries exhausted on a transient CRM fault, or a timeout: nothing changed, the user can retry.
  return { code: 'crm_unavailable', message: ERROR_MESSAGES.crm_unavailable };
}

/**
 * One attempt to replace an integration's credentials while it keeps working.
 * Id `reauth:<integrationId>`; the integration and its active credentials change only inside
 * `swapCredentials`, after the new credentials were validated against the CRM.
 */
export async function reauthorization(input: ReauthorizationInput): Promise<ReauthorizationStatus> {
  const expiresAt = new Date(Date.now() + input.expiresInSeconds * 1000);
  const state: ReauthorizationStatus = {
    id: input.reauthorizationId,
    integrationId: input.integrationId,
    phase: 'awaiting_user',
    outcome: null,
    error: null,
    attempts: 0,
    expiresAt: expiresAt.toISOString(),
    credentialVersion: null,
    resyncId: null,
  };
  let started = false;
  let previousStatus = 'active';
  let busy = false; // one credential attempt at a time: a double submit waits its turn
  // Set by the first activity; handlers only read it after `started`.
  const begun: { snapshot?: IntegrationSnapshot } = {};

  const setPhase = (phase: ReauthPhase, outcome: ReauthOutcome | null = state.outcome): void => {
    state.phase = phase;
    state.outcome = outcome;
    upsertSearchAttributes({ ReauthPhase: [phase], ...(outcome ? { ReauthOutcome: [outcome] } : {}) });
  };

  const closedError = () =>
    ApplicationFailure.create({ type: 'reauthorization_closed', message: ERROR_MESSAGES.reauthorization_closed, nonRetryable: true });

  setHandler(statusQuery, () => state);

  setHandler(awaitStartedUpdate, async () => {
    await condition(() => started);
    return state;
  });

  setHandler(
    submitApiTokenUpdate,
    async ({ apiToken }) => {
      await condition(() => started && !busy);
      if (state.outcome !== null) throw closedError();
      busy = true;
      try {
        state.attempts += 1;
        setPhase('validating');
        await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'validating', attempts: state.attempts });
        const identity = await crm.validateApiToken({
          tenantId: input.tenantId,
          integrationId: input.integrationId,
          provider: input.provider,
          apiToken,
          expectedAccountId: input.allowAccountChange ? null : begun.snapshot!.accountId,
        });
        setPhase('swapping');
        const swapped = await db.swapCredentials({
          tenantId: input.tenantId,
          integrationId: input.integrationId,
          reauthorizationId: state.id,
          credentials: { secret: { apiToken }, identity, expiresAt: null, region: input.region, baseUrl: null },
        });
        state.credentialVersion = swapped.version;
        previousStatus = swapped.previousStatus;
        state.error = null;
        setPhase('completed', 'succeeded');
        return state;
      } catch (err) {
        if (state.outcome === 'succeeded') throw err;
        const error = toReauthError(err);
        log.info('api token attempt rejected', { code: error.code, attempt: state.attempts });
        state.error = error;
        setPhase('awaiting_user');
        await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'awaiting_user', error, attempts: state.attempts });
        throw ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true });
      } finally {
        busy = false;
      }
    },
    {
      validator: (arg) => {
        if (input.authType !== 'api_token') throw new Error('this reauthorization expects an OAuth callback, not an API token');
        if (!arg || typeof arg.apiToken !== 'string' || arg.apiToken.trim() === '') throw new Error('apiToken must be a non-empty string');
      },
    },
  );

  setHandler(cancelUpdate, async () => {
    await condition(() => started && !busy);
    if (state.outcome !== null) throw closedError();
    state.error = { code: 'cancelled', message: ERROR_MESSAGES.cancelled };
    setPhase('completed', 'cancelled');
    // Recorded before answering, so whoever cancelled reads the final state right away.
    await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'completed', outcome: 'cancelled', error: state.error, attempts: state.attempts });
    return state;
  });

  const callbacks: OAuthCallbackPayload[] = [];
  setHandler(oauthCallbackSignal, (payload) => {
    if (input.authType === 'oauth2' && state.outcome === null) callbacks.push(payload);
  });

  /**
   * OAuth: wait for the callback of the current attempt, exchange, validate, swap. A callback with
   * another state (stale attempt, double click after the first was taken) is ignored; a refused
   * consent or unusable grant opens a new attempt so the same link works again until it expires.
   */
  const runOAuthAttempts = async (
    until: Date,
    current: () => { attempt: number; stateHash: string },
    nextAttempt: () => Promise<void>,
  ): Promise<void> => {
    while (state.outcome === null) {
      const got = await condition(() => callbacks.length > 0 || state.outcome !== null, Math.max(0, until.getTime() - Date.now()));
      if (!got || state.outcome !== null) return;
      const cb = callbacks.shift()!;
      const { attempt, stateHash } = current();
      if (cb.stateHash !== stateHash) continue;
      busy = true;
      try {
        if (cb.error || !cb.code) {
          const code = cb.error === 'access_denied' || !cb.error ? 'access_denied' : cb.error;
          state.error = { code, message: ERROR_MESSAGES[code] ?? `The CRM answered "${cb.error}"${cb.errorDescription ? ': ' + cb.errorDescription : ''}.` };
          state.attempts += 1;
          await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'awaiting_user', error: state.error, attempts: state.attempts });
          await nextAttempt();
          continue;
        }
        state.attempts += 1;
        setPhase('exchanging');
        await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'exchanging', attempts: state.attempts });
        const pending = await crm.exchangeAuthorizationCode({ reauthorizationId: state.id, attempt, code: cb.code, callbackParams: cb.params ?? {} });
        setPhase('validating');
        await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'validating' });
        await crm.validatePendingCredentials({
          pendingCredentialId: pending.pendingCredentialId,
          expectedAccountId: input.allowAccountChange ? null : begun.snapshot!.accountId,
          requiredScopes: begun.snapshot!.requiredScopes,
        });
        setPhase('swapping');
        const swapped = await db.swapCredentials({
          tenantId: input.tenantId,
          integrationId: input.integrationId,
          reauthorizationId: state.id,
          pendingCredentialId: pending.pendingCredentialId,
          addRequiredScopes: input.scopes,
        });
        state.credentialVersion = swapped.version;
        previousStatus = swapped.previousStatus;
        state.error = null;
        setPhase('completed', 'succeeded');
      } catch (err) {
        const error = toReauthError(err);
        state.error = error;
        log.info('oauth attempt failed', { code: error.code, attempt: state.attempts });
        if (TERMINAL_OAUTH_ERRORS.has(error.code)) {
          setPhase('completed', 'failed');
          return;
        }
        setPhase('awaiting_user');
        await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'awaiting_user', error, attempts: state.attempts });
        await nextAttempt();
      } finally {
        busy = false;
      }
    }
  };

  /** What follows an outcome: the opt-in re-sync, the refresh workflow, and telling people. */
  const afterOutcome = async (): Promise<void> => {
    if (state.outcome === 'succeeded') {
      const resyncId = await startResyncAfterReauthorization(input);
      if (resyncId) {
        state.resyncId = resyncId;
        await db.recordReauthorizationProgress({ reauthorizationId: state.id, phase: 'completed', resyncId });
      }
      // Independent of each other: run together so the run closes sooner (a new reauthorization of
      // the same integration can only start once this one has closed).
      await Promise.all([
        db.credentialsChanged({ tenantId: input.tenantId, integrationId: input.integrationId }),
        emitEvent({ tenantId: input.tenantId, type: 'integrated_account:reauthorized', integrationId: input.integrationId, reason: input.reason ?? undefined }),
      ]);
      if (previousStatus !== 'active') {
        // A recovery is announced too, so receivers are not left with a stale error.
        await emitEvent({ tenantId: input.tenantId, type: 'integrated_account:status_changed', integrationId: input.integrationId });
      }
    } else if (state.outcome === 'failed' || state.outcome === 'expired') {
      await emitEvent({
        tenantId: input.tenantId,
        type: 'integrated_account:reauthorization_failed',
        integrationId: input.integrationId,
        reason: state.error?.code,
      });
    }
  };

  upsertSearchAttributes({
    TenantId: [input.tenantId],
    IntegrationId: [input.integrationId],
    CrmProvider: [input.provider],
    ReauthPhase: ['awaiting_user'],
  });
  begun.snapshot = await db.beginReauthorization({ ...input, expiresAt: state.expiresAt! });

  if (input.authType === 'oauth2') {
    let attempt = await db.prepareAuthorizationAttempt({ reauthorizationId: state.id, attempt: 1 });
    started = true;
    await runOAuthAttempts(expiresAt, () => attempt, async () => {
      attempt = await db.prepareAuthorizationAttempt({ reauthorizationId: state.id, attempt: attempt.attempt + 1 });
    });
  } else {
    started = true;
    await condition(() => state.outcome !== null, expiresAt.getTime() - Date.now());
  }
  if (state.outcome === null) {
    // The link expired. An attempt already under way is allowed to finish first.
    await condition(() => !busy);
    if (state.outcome === null) {
      state.error = { code: 'expired', message: ERROR_MESSAGES.expired };
      setPhase('completed', 'expired');
    }
  }
  if (state.outcome !== 'succeeded') {
    // A success was recorded atomically with the swap; the other outcomes are recorded here.
    await db.recordReauthorizationProgress({
      reauthorizationId: state.id,
      phase: 'completed',
      outcome: state.outcome,
      error: state.error,
      attempts: state.attempts,
    });
  }
  await afterOutcome();
  await condition(allHandlersFinished);
  log.info('reauthorization finished', { outcome: state.outcome, workflowId: workflowInfo().workflowId });
  return state;
}
