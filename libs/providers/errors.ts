import { EgressRefused } from '../http/egress-policy';

/**
 * Outcomes of talking to a CRM, classified once here so workflows can decide between "retry",
 * "tell the user" and "mark the integration broken" without knowing HTTP.
 */
export type CrmErrorKind =
  | 'invalid_credentials'
  | 'user_removed'
  | 'transient'
  | 'bad_response'
  /** The authorization server refused a code or refresh token (RFC 6749 `invalid_grant`). */
  | 'invalid_grant'
  /** Our OAuth app's credentials were refused: a configuration problem, not the user's. */
  | 'invalid_client'
  /** The egress policy refused the URL (not a public address, not allow-listed, not https where required). */
  | 'url_not_allowed'
  /** The CRM's answer names an account id that does not look like one (see ACCOUNT_ID_PATTERN). */
  | 'invalid_account_id';

export class CrmError extends Error {
  /** A private field: not enumerable, so no serialisation of the error (a log line, a failure's details) carries it. */
  readonly #remoteDescription: string | undefined;

  constructor(
    readonly kind: CrmErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
    remoteDescription?: string,
  ) {
    super(message);
    this.name = 'CrmError';
    this.#remoteDescription = remoteDescription;
  }

  /**
   * The authorization server's own words (`error_description`), kept to classify a refused grant
   * only (a removed user reads differently from a revoked token); never put into a message, a
   * row or a log line. `message` is always ours.
   */
  get remoteDescription(): string | undefined {
    return this.#remoteDescription;
  }
}

/** Which of a provider's URLs a request went to, as messages name it ("the provider's token URL"). */
export type CrmUrlRole = 'validation URL' | 'token URL' | 'userinfo URL' | 'token info URL' | 'API URL';

/**
 * A request that got no usable answer, classified: the egress policy's refusals (never retried
 * when the URL itself is refused; the network is retried), a redirect (not followed, so not an
 * answer), and a request fetch cannot build (a token that is not a valid header value: the
 * credentials are unusable). Messages are ours, never the URL (it may carry secrets) nor a body.
 */
export function requestFailure(err: unknown, role: CrmUrlRole): CrmError {
  if (err instanceof CrmError) return err;
  if (err instanceof EgressRefused) {
    switch (err.code) {
      case 'url_not_allowed':
        return new CrmError('url_not_allowed', `the provider's ${role} is not allowed (egress policy)`);
      case 'redirect_not_allowed':
        return new CrmError('bad_response', `the CRM answered ${err.status ?? 'with a redirect'} at the provider's ${role} (redirects are not followed)`, err.status);
      case 'response_too_large':
        return new CrmError('bad_response', `the CRM's answer at the provider's ${role} is too large`);
      case 'egress_timeout':
        return new CrmError('transient', `the CRM did not answer in time at the provider's ${role}`);
      case 'egress_unreachable':
        return new CrmError('transient', `the CRM could not be reached at the provider's ${role}`);
    }
  }
  // fetch's own TypeError for a request it cannot build (its network failures are EgressRefused).
  if (err instanceof TypeError) return new CrmError('invalid_credentials', 'the credentials cannot be sent in an HTTP request');
  // The caller's signal (an activity cancelled, a time limit): the request was interrupted.
  return new CrmError('transient', `the request to the provider's ${role} was interrupted`);
}

/**
 * What an account id may look like: the ids CRMs use (numbers, `org_acme_1`, `00D5g000004Xyz`,
 * `auth0|5f7c…`, e-mail-like names). Anything else — a long text, a secret of the answer that a
 * misdirected `accountIdField` points at — is refused rather than stored and shown.
 */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9._:@|-]{1,128}$/;

/** The id a CRM answer names, if it looks like one: strings and finite numbers; anything else is null. */
export function idFromAnswer(value: unknown): string | null {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  return text !== null && ACCOUNT_ID_PATTERN.test(text) ? text : null;
}

/**
 * The account id of a who-am-I answer. Missing: a malformed answer; present but not an id: refused
 * with `invalid_account_id`, and the value itself appears in no message.
 */
export function accountIdFromAnswer(value: unknown, where: string, status?: number): string {
  if (value === undefined || value === null || value === '') {
    throw new CrmError('bad_response', `the CRM answer has no account id at "${where}"`, status);
  }
  const id = idFromAnswer(value);
  if (id === null) {
    throw new CrmError(
      'invalid_account_id',
      `the value at "${where}" of the CRM answer is not an account id (at most 128 letters, digits and . _ : @ | -)`,
      status,
    );
  }
  return id;
}

/** The longest `Retry-After` we honour (also the longest backoff interval of our retry policies). */
export const MAX_RETRY_AFTER_SECONDS = 3600;

/**
 * Parses `Retry-After` (delay-seconds or HTTP date) into seconds, capped so a bad header cannot
 * stall us. An explicit `0` (or a date already past) means "retry now": 0. Undefined when the
 * header is absent or unreadable, so the caller's own backoff applies.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  // RFC 9110: delay-seconds is digits only; anything else must be an HTTP-date (which names a weekday).
  if (/^\d+$/.test(v)) return Math.min(Number(v), MAX_RETRY_AFTER_SECONDS);
  if (!/^[A-Za-z]{3},/.test(v)) return undefined;
  const date = Date.parse(v);
  if (!Number.isNaN(date)) return Math.min(Math.max(0, Math.ceil((date - now) / 1000)), MAX_RETRY_AFTER_SECONDS);
  return undefined;
}

/**
 * Whether an HTTP status says "try again later" rather than "this request is wrong": request
 * timeout, too early, rate limited, or any server error. The one rule for every CRM call.
 */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function classifyHttpStatus(status: number, body: unknown): CrmErrorKind | null {
  if (status >= 200 && status < 300) return null;
  if (status === 401 || status === 403) {
    const code = (body as { error?: { code?: string } } | null)?.error?.code;
    return code === 'user_removed' ? 'user_removed' : 'invalid_credentials';
  }
  if (isTransientStatus(status)) return 'transient';
  return 'bad_response';
}
