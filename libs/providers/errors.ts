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
  | 'invalid_client';

export class CrmError extends Error {
  constructor(
    readonly kind: CrmErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'CrmError';
  }
}

/** Parses `Retry-After` (seconds or HTTP date) into seconds, capped so a bad header cannot stall us. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  // RFC 9110: delay-seconds is digits only; anything else must be an HTTP-date (which names a weekday).
  if (/^\d+$/.test(v)) return Math.min(Number(v), 3600);
  if (!/^[A-Za-z]{3},/.test(v)) return undefined;
  const date = Date.parse(v);
  if (!Number.isNaN(date)) return Math.min(Math.max(0, Math.ceil((date - now) / 1000)), 3600);
  return undefined;
}

export function classifyHttpStatus(status: number, body: unknown): CrmErrorKind | null {
  if (status >= 200 && status < 300) return null;
  if (status === 401 || status === 403) {
    const code = (body as { error?: { code?: string } } | null)?.error?.code;
    return code === 'user_removed' ? 'user_removed' : 'invalid_credentials';
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'transient';
  return 'bad_response';
}
