/**
 * What the workflows say about themselves in the Temporal UI: the one-line summary each start
 * carries (the list view shows it) and the current details a running workflow keeps up to date.
 * Words for operators, built from names and ids only — never a token, secret or link. Pure (times
 * come in as arguments), so workflows can call it deterministically.
 */
import type { AuthType, ReauthError, ReauthOutcome, ReauthPhase } from './reauthorization';

/** How an integration is named to an operator: provider, display name, and the id when there is no name. */
export interface IntegrationLabel {
  integrationId: string;
  /** The provider's display name (`HubSpot`), or its key when the name is not known. */
  providerName: string;
  displayName?: string | null;
}

const AUTH_TYPE_WORDS: Record<AuthType, string> = { api_token: 'API token', oauth2: 'OAuth' };

function integrationWords(label: IntegrationLabel): string {
  const name = label.displayName?.trim();
  return `${label.providerName} integration ${name ? `"${oneLine(name, 80)}"` : label.integrationId}`;
}

/** Summaries are single lines; names typed by people are kept short and on one line. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// --- Summaries (start options) -------------------------------------------------------------------

export function reauthorizationSummary(label: IntegrationLabel, authType: AuthType): string {
  return `Re-authorize ${integrationWords(label)} (${AUTH_TYPE_WORDS[authType]})`;
}

export function connectIntegrationSummary(label: IntegrationLabel, authType: AuthType): string {
  return `Connect ${integrationWords(label)} (${AUTH_TYPE_WORDS[authType]}): validate the credentials with the CRM, then store them`;
}

export function tokenRefreshSummary(label: IntegrationLabel): string {
  return `Keep the credentials of ${integrationWords(label)} fresh and checked`;
}

export function webhookDeliverySummary(eventType: string, endpointId: string, resendKey?: string): string {
  if (resendKey?.startsWith('replay-')) return `Replay ${eventType} to webhook endpoint ${endpointId}`;
  if (resendKey) return `Redeliver ${eventType} to webhook endpoint ${endpointId}`;
  return `Deliver ${eventType} to webhook endpoint ${endpointId}`;
}

export function webhookReplaySummary(endpointId: string, since: string): string {
  return `Replay the events since ${utcMinute(since)} to webhook endpoint ${endpointId}`;
}

export function webhookReplayDetails(queued: number, skipped: number, matched: number): string {
  return `Sent ${queued} of ${matched} event(s) again${skipped ? ` (${skipped} skipped: already being delivered)` : ''}; each is its own webhookDelivery`;
}

// --- Times ---------------------------------------------------------------------------------------

/** `2026-12-04 10:00 UTC`. */
export function utcMinute(at: Date | number | string): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `40 s`, `4 min`, `3 h`, `2 days`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

/** `in 4 min (at 10:04 UTC)`; the date too when it is not within the next day. */
function dueWords(due: number, now: number): string {
  const at = due - now < 24 * 3600_000 ? utcMinute(due).slice(11) : utcMinute(due);
  return `in ${duration(due - now)} (at ${at})`;
}

// --- Current details -----------------------------------------------------------------------------

export interface ReauthorizationDetailsInput {
  authType: AuthType;
  providerName: string;
  phase: ReauthPhase;
  outcome: ReauthOutcome | null;
  error: ReauthError | null;
  attempts: number;
  expiresAt: string | null;
  credentialVersion: number | null;
  resyncId?: string | null;
}

/** Where a reauthorization stands, in words. */
export function reauthorizationDetails(r: ReauthorizationDetailsInput): string {
  const until = r.expiresAt ? ` until ${utcMinute(r.expiresAt)}` : '';
  const attempt = r.attempts > 0 ? ` (attempt ${r.attempts})` : '';
  switch (r.phase) {
    case 'awaiting_user': {
      const waiting =
        r.authType === 'oauth2'
          ? `Waiting for the account owner to approve in ${r.providerName}${until}`
          : `Waiting for the account owner to submit a new ${r.providerName} API token${until}`;
      return r.error ? `${waiting}; the last attempt was rejected: ${r.error.code}` : waiting;
    }
    case 'exchanging':
      return `Exchanging the authorization code with ${r.providerName}${attempt}`;
    case 'validating':
      return r.authType === 'oauth2' ? `Validating the new credentials with ${r.providerName}${attempt}` : `Validating the new token with the CRM${attempt}`;
    case 'swapping':
      return 'Swapping in the new credentials';
    case 'completed':
      switch (r.outcome) {
        case 'succeeded':
          return `Succeeded: credential version ${r.credentialVersion ?? '?'}${r.resyncId ? `; full re-sync ${r.resyncId} started` : ''}`;
        case 'cancelled':
          return 'Cancelled: the integration keeps its previous credentials';
        case 'expired':
          return `Expired: the link was not used${r.expiresAt ? ` before ${utcMinute(r.expiresAt)}` : ''}; the integration keeps its previous credentials`;
        case 'failed':
          return `Failed: ${r.error ? `${r.error.code} — ${r.error.message}` : 'unknown error'}`;
        default:
          return 'Completed';
      }
  }
}

const reasonWords = (reason: string | null): string | null => (reason ? reason.replace(/_/g, ' ') : null);

/** The refresh loop waits for the next refresh (refreshable credentials) or health check. */
export function tokenRefreshWaitingDetails(refreshable: boolean, due: number, now: number, status = 'active', statusReason: string | null = null): string {
  const next = refreshable ? `Refreshing ${dueWords(due, now)}` : `Next health check ${dueWords(due, now)}`;
  if (status === 'active') return next;
  return `${next}; ${status}${statusReason ? `: ${reasonWords(statusReason)}` : ''}`;
}

/** The refresh loop has nothing to do until someone connects or re-authorizes the integration. */
export function tokenRefreshParkedDetails(status: string, statusReason: string | null, hasCredentials: boolean): string {
  if (!hasCredentials) return 'No credentials yet: waiting for the integration to be connected';
  const why = reasonWords(statusReason) ?? 'the CRM refused the credentials';
  return `${status === 'blocked' ? 'Blocked' : status}: ${why} — waiting for a reauthorization`;
}

export function tokenRefreshStoppedDetails(): string {
  return 'Stopped: the integration was deleted or turned off';
}

export function tokenRefreshWorkingDetails(refreshing: boolean): string {
  return refreshing ? 'Refreshing the access token with the CRM' : 'Checking the credentials with the CRM (who-am-I)';
}

export function tokenRefreshRetryDetails(now: number): string {
  return `The last round got no usable answer from the CRM; trying again ${dueWords(now + 60_000, now)}`;
}

export function webhookDeliveryDetails(eventId: string, endpointId: string, windowSeconds: number): string {
  return `Delivering event ${eventId} to endpoint ${endpointId}; a failed attempt is retried with backoff for up to ${duration(windowSeconds * 1000)} (the pending activity shows which attempt)`;
}

export function webhookDeliveredDetails(attempts: number, statusCode: number): string {
  return `Delivered on attempt ${attempts} (HTTP ${statusCode})`;
}
