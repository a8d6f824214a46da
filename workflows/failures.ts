import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { ERROR_MESSAGES, RETRYABLE_BY_USER, type ReauthError } from '../libs/domain/reauthorization';

/** Errors after which an OAuth reauthorization cannot go on: the admin must act or start over. */
export const TERMINAL_OAUTH_ERRORS: ReadonlySet<string> = new Set(['invalid_grant', 'provider_not_configured', 'provider_misconfigured', 'invalid_state']);

/** Turns an activity failure into the reauthorization error a person sees. */
export function toReauthError(err: unknown): ReauthError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type && cause.type !== 'crm_unavailable') {
    if (RETRYABLE_BY_USER.has(cause.type) || ERROR_MESSAGES[cause.type] || TERMINAL_OAUTH_ERRORS.has(cause.type)) {
      return { code: cause.type, message: cause.message || ERROR_MESSAGES[cause.type] };
    }
  }
  // Retries exhausted on a transient CRM fault, or a timeout: nothing changed, the user can retry.
  // The fault's own text (a socket error, the CRM's status) is for logs, not for the person.
  return { code: 'crm_unavailable', message: ERROR_MESSAGES.crm_unavailable };
}

/** The same error as a failure the caller of an update (or the parent of a workflow) receives. */
export function reauthFailure(error: ReauthError): ApplicationFailure {
  return ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true });
}
