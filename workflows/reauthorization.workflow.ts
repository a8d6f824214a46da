import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import {
  awaitStartedUpdate,
  cancelUpdate,
  type OAuthCallbackPayload,
  oauthCallbackSignal,
  revokeGrantWorkflowId,
  statusQuery,
  submitApiTokenUpdate,
} from '../libs/contracts';
import {
  type CrmIdentity,
  ERROR_MESSAGES,
  type IntegrationSnapshot,
  type ReauthError,
  type ReauthorizationInput,
  type ReauthorizationStatus,
  type ReauthOutcome,
  type ReauthPhase,
} from '../libs/domain/reauthorization';
import { reauthorizationDetails } from '../libs/domain/workflow-texts';
import type { Activities } from '../activities';
import { bookkeeping, bookkeepingInTask, crmWhileUserWaits, crmWhileUserWaitsInTask } from './activity-proxies';
import { emitEvent } from './events';
import { reauthFailure, TERMINAL_OAUTH_ERRORS, toReauthError } from './failures';
import { startResyncAfterReauthorization } from './hooks/resync';
import { revokeGrant } from './revoke-grant.workflow';
import { reauthorizationPhaseTags, tagWorkflow } from './search-attributes';

/**
 * Replaces an integration's credentials while it keeps working (id `reauth:<integrationId>`):
 * wait for the account owner — a new API token (update `submitApiToken`) or the OAuth callback
 * (signal `oauthCallback`) — until the link expires; validate what they give against the CRM;
 * swap it in atomically; then tell everyone. The integration and its active credentials change
 * only inside `swapCredentials`, after the CRM confirmed the new ones.
 */
export async function reauthorization(input: ReauthorizationInput): Promise<ReauthorizationStatus> {
  const run = new Reauthorization(input);
  setHandler(statusQuery, () => run.status);
  setHandler(awaitStartedUpdate, async () => {
    await run.ready();
    return run.status;
  });
  setHandler(submitApiTokenUpdate, ({ apiToken }) => run.submitApiToken(apiToken), { validator: (arg) => run.checkApiTokenSubmission(arg) });
  setHandler(cancelUpdate, () => run.cancel());
  setHandler(oauthCallbackSignal, (payload) => run.receiveOAuthCallback(payload));

  await run.begin();
  if (input.authType === 'oauth2') await run.awaitOAuthApproval();
  else await run.awaitApiToken();
  await run.expireIfStillOpen();
  await run.recordOutcome();
  await run.announceOutcome();
  await condition(allHandlersFinished);
  log.info('reauthorization finished', { outcome: run.status.outcome, workflowId: workflowInfo().workflowId });
  return run.status;
}

type NewCredentials = Pick<Parameters<Activities['swapCredentials']>[0], 'credentials' | 'pendingCredentialId' | 'addRequiredScopes'>;

/** The state of one reauthorization and the steps that move it. */
class Reauthorization {
  readonly status: ReauthorizationStatus;
  private readonly expiresAt: Date;
  /** One credential attempt at a time: a double submit, a cancel or the expiry waits its turn. */
  private readonly attemptLock = new Mutex();
  /** The integration as it was when the reauthorization began; set by `begin()`. */
  private integration?: IntegrationSnapshot;
  /** The OAuth authorization attempt whose callback is awaited (its `state` is in the link). */
  private oauthAttempt?: { attempt: number; stateHash: string };
  private readonly oauthCallbacks: OAuthCallbackPayload[] = [];
  /** The integration's status before the swap: a recovery from degraded/blocked is announced. */
  private previousStatus = 'active';
  /** The credential row the swap superseded (its grant is revoked at the CRM afterwards), if any. */
  private supersededCredentialId: string | null = null;
  private started = false;
  /**
   * How the steps a person waits on run: as local activities inside the workflow task (since patch
   * `steps-in-workflow-task`: a reauthorization takes two workflow tasks instead of a dozen server
   * round trips), or, for runs begun before it, as ordinary activities as their histories say.
   */
  private readonly db: typeof bookkeeping;
  private readonly crm: typeof crmWhileUserWaits;

  constructor(private readonly input: ReauthorizationInput) {
    const inTask = patched('steps-in-workflow-task');
    this.db = inTask ? bookkeepingInTask : bookkeeping;
    this.crm = inTask ? crmWhileUserWaitsInTask : crmWhileUserWaits;
    this.expiresAt = new Date(Date.now() + input.expiresInSeconds * 1000);
    this.status = {
      id: input.reauthorizationId,
      integrationId: input.integrationId,
      phase: 'awaiting_user',
      outcome: null,
      error: null,
      attempts: 0,
      expiresAt: this.expiresAt.toISOString(),
      credentialVersion: null,
      resyncId: null,
    };
  }

  /** Records the reauthorization (row, link token) and, for OAuth, its first authorization attempt. */
  async begin(): Promise<void> {
    tagWorkflow(this.input, reauthorizationPhaseTags('awaiting_user', null));
    this.showDetails();
    this.integration = await this.db.beginReauthorization({ ...this.input, expiresAt: this.status.expiresAt! });
    this.showDetails(); // now with the provider's display name
    if (this.input.authType === 'oauth2') {
      this.oauthAttempt = await this.db.prepareAuthorizationAttempt({ reauthorizationId: this.status.id, attempt: 1 });
    }
    this.started = true;
  }

  ready(): Promise<void> {
    return condition(() => this.started);
  }

  /**
   * Runs `step` once the reauthorization has begun and no other attempt is under way. The wait is
   * a workflow condition (checked after the running attempt's own follow-up commands), so a waiting
   * submit or cancel resumes where it always did; the lock then queues handlers that resume together.
   */
  private async takeTurn<T>(step: () => Promise<T>): Promise<T> {
    await condition(() => this.started && !this.attemptLock.isLocked());
    return this.attemptLock.runExclusive(step);
  }

  private get isOpen(): boolean {
    return this.status.outcome === null;
  }

  private get expectedAccountId(): string | null {
    return this.input.allowAccountChange ? null : this.integration!.accountId;
  }

  private msUntilExpiry(): number {
    return Math.max(0, this.expiresAt.getTime() - Date.now());
  }

  // --- API token ---------------------------------------------------------------------------------

  /** API tokens arrive through the `submitApiToken` update; the main line only waits for an outcome. */
  async awaitApiToken(): Promise<void> {
    await condition(() => !this.isOpen, this.msUntilExpiry());
  }

  checkApiTokenSubmission(arg: { apiToken?: unknown } | undefined): void {
    if (this.input.authType !== 'api_token') throw new Error('this reauthorization expects an OAuth callback, not an API token');
    if (!arg || typeof arg.apiToken !== 'string' || arg.apiToken.trim() === '') throw new Error('apiToken must be a non-empty string');
  }

  /** Validates the token, swaps it in and answers the new status; a rejected token leaves the run open. */
  async submitApiToken(apiToken: string): Promise<ReauthorizationStatus> {
    return this.takeTurn(async () => {
      if (!this.isOpen) throw this.closedFailure();
      this.status.attempts += 1;
      try {
        await this.enterPhase('validating', { attempts: this.status.attempts });
        await this.validateThenSwap(
          // An ordinary activity even since `steps-in-workflow-task`: scheduling it ends the workflow
          // task, which records the update as accepted. Were the whole attempt one task, a crash
          // during the CRM call would lose the submitted token (an update lives in history only once
          // accepted); a signal, such as the OAuth callback, is recorded on arrival instead.
          () =>
            crmWhileUserWaits.validateApiToken({
              tenantId: this.input.tenantId,
              integrationId: this.input.integrationId,
              provider: this.input.provider,
              apiToken,
              expectedAccountId: this.expectedAccountId,
            }),
          (identity) => ({ credentials: { secret: { apiToken }, identity, expiresAt: null, region: this.input.region, baseUrl: null } }),
        );
        return this.status;
      } catch (err) {
        if (this.status.outcome === 'succeeded') throw err;
        const error = toReauthError(err);
        log.info('api token attempt rejected', { code: error.code, attempt: this.status.attempts });
        await this.recordRejection(error);
        throw reauthFailure(error);
      }
    });
  }

  // --- OAuth -------------------------------------------------------------------------------------

  receiveOAuthCallback(payload: OAuthCallbackPayload): void {
    if (this.input.authType === 'oauth2' && this.isOpen) this.oauthCallbacks.push(payload);
  }

  /**
   * Waits for the callback of the current attempt, then exchanges, validates and swaps. A callback
   * with another state (a stale attempt, a double click after the first was taken) is ignored; a
   * refused consent or an unusable grant opens a new attempt, so the same link works again until it
   * expires; a terminal error ends the reauthorization.
   */
  async awaitOAuthApproval(): Promise<void> {
    while (this.isOpen) {
      const got = await condition(() => this.oauthCallbacks.length > 0 || !this.isOpen, this.msUntilExpiry());
      if (!got || !this.isOpen) return;
      const callback = this.oauthCallbacks.shift()!;
      if (callback.stateHash !== this.oauthAttempt!.stateHash) continue;
      const ended = await this.attemptLock.runExclusive(() => this.completeOAuthAttempt(callback));
      if (ended) return;
    }
  }

  /** One OAuth callback of the current attempt; answers true when the reauthorization has ended. */
  private async completeOAuthAttempt(callback: OAuthCallbackPayload): Promise<boolean> {
    const { attempt } = this.oauthAttempt!;
    this.status.attempts += 1;
    if (callback.error || !callback.code) {
      await this.recordRejection(consentRefusal(callback));
      await this.openNextOAuthAttempt();
      return false;
    }
    try {
      await this.enterPhase('exchanging', { attempts: this.status.attempts });
      const pending = await this.crm.exchangeAuthorizationCode({
        reauthorizationId: this.status.id,
        attempt,
        code: callback.code,
        callbackParams: callback.params ?? {},
      });
      await this.enterPhase('validating');
      await this.validateThenSwap(
        () =>
          this.crm.validatePendingCredentials({
            pendingCredentialId: pending.pendingCredentialId,
            expectedAccountId: this.expectedAccountId,
            requiredScopes: this.integration!.requiredScopes,
          }),
        () => ({ pendingCredentialId: pending.pendingCredentialId, addRequiredScopes: this.input.scopes }),
      );
      return true;
    } catch (err) {
      const error = toReauthError(err);
      log.info('oauth attempt failed', { code: error.code, attempt: this.status.attempts });
      if (TERMINAL_OAUTH_ERRORS.has(error.code)) {
        this.status.error = error;
        this.setPhase('completed', 'failed');
        return true;
      }
      await this.recordRejection(error);
      await this.openNextOAuthAttempt();
      return false;
    }
  }

  private async openNextOAuthAttempt(): Promise<void> {
    this.oauthAttempt = await this.db.prepareAuthorizationAttempt({ reauthorizationId: this.status.id, attempt: this.oauthAttempt!.attempt + 1 });
  }

  // --- The shared steps --------------------------------------------------------------------------

  /** The one way credentials change: confirmed by the CRM first, then swapped in one transaction. */
  private async validateThenSwap(validate: () => Promise<CrmIdentity>, newCredentials: (identity: CrmIdentity) => NewCredentials): Promise<void> {
    const identity = await validate();
    this.setPhase('swapping');
    const swapped = await this.db.swapCredentials({
      tenantId: this.input.tenantId,
      integrationId: this.input.integrationId,
      reauthorizationId: this.status.id,
      ...newCredentials(identity),
    });
    this.status.credentialVersion = swapped.version;
    this.previousStatus = swapped.previousStatus;
    this.supersededCredentialId = swapped.supersededCredentialId ?? null;
    this.status.error = null;
    this.setPhase('completed', 'succeeded');
  }

  /** The person's attempt did not work: say why and wait for the next one. */
  private async recordRejection(error: ReauthError): Promise<void> {
    this.status.error = error;
    this.setPhase('awaiting_user');
    await this.db.recordReauthorizationProgress({ reauthorizationId: this.status.id, phase: 'awaiting_user', error, attempts: this.status.attempts });
  }

  async cancel(): Promise<ReauthorizationStatus> {
    return this.takeTurn(async () => {
      if (!this.isOpen) throw this.closedFailure();
      this.status.error = { code: 'cancelled', message: ERROR_MESSAGES.cancelled };
      this.setPhase('completed', 'cancelled');
      // Recorded before answering, so whoever cancelled reads the final state right away.
      await this.recordFinalState();
      return this.status;
    });
  }

  /** The link expired; an attempt already under way is allowed to finish first. */
  async expireIfStillOpen(): Promise<void> {
    if (!this.isOpen) return;
    await condition(() => !this.attemptLock.isLocked());
    if (!this.isOpen) return;
    this.status.error = { code: 'expired', message: ERROR_MESSAGES.expired };
    this.setPhase('completed', 'expired');
  }

  /** A success was recorded atomically with the swap; the other outcomes are recorded here. */
  async recordOutcome(): Promise<void> {
    if (this.status.outcome !== 'succeeded') await this.recordFinalState();
  }

  /** What follows an outcome: the opt-in re-sync, the refresh workflow, and telling people. */
  async announceOutcome(): Promise<void> {
    const { tenantId, integrationId } = this.input;
    if (this.status.outcome === 'succeeded') {
      const resyncId = await startResyncAfterReauthorization(this.input);
      if (resyncId) {
        this.status.resyncId = resyncId;
        this.showDetails();
        await this.db.recordReauthorizationProgress({ reauthorizationId: this.status.id, phase: 'completed', resyncId });
      }
      // Independent of each other: run together so the run closes sooner (a new reauthorization of
      // the same integration can only start once this one has closed).
      await Promise.all([
        bookkeeping.credentialsChanged({ tenantId, integrationId }),
        emitEvent({ tenantId, type: 'integrated_account:reauthorized', integrationId, reason: this.input.reason ?? undefined }),
        // Runs that began before grants were revoked keep their recorded commands.
        ...(patched('revoke-superseded-grant') ? [this.revokeSupersededGrant()] : []),
      ]);
      // A recovery is announced too, so receivers are not left with a stale error.
      if (this.previousStatus !== 'active') await emitEvent({ tenantId, type: 'integrated_account:status_changed', integrationId });
    } else if (this.status.outcome === 'failed' || this.status.outcome === 'expired') {
      await emitEvent({ tenantId, type: 'integrated_account:reauthorization_failed', integrationId, reason: this.status.error?.code });
    }
  }

  /**
   * The superseded credentials' grant is revoked at the CRM by a `revokeGrant` workflow of its own
   * (abandoned: this run does not wait for the CRM, and a failing revocation never fails it). The
   * child gets the credential row's id, never a token.
   */
  private async revokeSupersededGrant(): Promise<void> {
    if (this.input.authType !== 'oauth2' || !this.supersededCredentialId) return;
    const credentialId = this.supersededCredentialId;
    try {
      await startChild(revokeGrant, {
        workflowId: revokeGrantWorkflowId(credentialId),
        args: [{ tenantId: this.input.tenantId, integrationId: this.input.integrationId, provider: this.input.provider, credentialId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `Revoke the superseded ${this.integration?.providerName ?? this.input.provider} grant of integration ${this.input.integrationId}`,
      });
    } catch (err) {
      // Already started (a retried task), or not startable: either way the reauthorization stands.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) log.warn('could not start the revocation of the superseded grant', { error: (err as Error)?.message });
    }
  }

  private async recordFinalState(): Promise<void> {
    await this.db.recordReauthorizationProgress({
      reauthorizationId: this.status.id,
      phase: 'completed',
      outcome: this.status.outcome,
      error: this.status.error,
      attempts: this.status.attempts,
    });
  }

  private async enterPhase(phase: ReauthPhase, progress: { attempts?: number } = {}): Promise<void> {
    this.setPhase(phase);
    await this.db.recordReauthorizationProgress({ reauthorizationId: this.status.id, phase, ...progress });
  }

  /**
   * Phase and outcome, mirrored in search attributes (only when they change) and in the current
   * details (also when only the error changed, e.g. a refused consent that keeps waiting).
   */
  private setPhase(phase: ReauthPhase, outcome: ReauthOutcome | null = this.status.outcome): void {
    const changed = phase !== this.status.phase || outcome !== this.status.outcome;
    this.status.phase = phase;
    this.status.outcome = outcome;
    this.showDetails();
    if (changed) upsertSearchAttributes(reauthorizationPhaseTags(phase, outcome));
  }

  /** What the Temporal UI shows of this run right now: metadata, not a command (replay is unaffected). */
  private showDetails(): void {
    setCurrentDetails(reauthorizationDetails({ ...this.status, authType: this.input.authType, providerName: this.integration?.providerName ?? this.input.provider }));
  }

  private closedFailure(): ApplicationFailure {
    return ApplicationFailure.create({ type: 'reauthorization_closed', message: ERROR_MESSAGES.reauthorization_closed, nonRetryable: true });
  }
}

/** The account owner refused consent, or the CRM answered the callback with an error. */
function consentRefusal(callback: OAuthCallbackPayload): ReauthError {
  const code = callback.error === 'access_denied' || !callback.error ? 'access_denied' : callback.error.slice(0, 64);
  const known = Object.hasOwn(ERROR_MESSAGES, code) ? ERROR_MESSAGES[code] : undefined;
  const description = callback.errorDescription ? ': ' + callback.errorDescription.slice(0, 200) : '';
  return { code, message: known ?? `The CRM answered "${code}"${description}.` };
}
