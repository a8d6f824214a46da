/**
 * When a refresh token stops working by itself, from what the token answer stated and the
 * provider's policy. Two kinds of limits, the earlier one counts:
 * - an absolute one the CRM states (`refresh_token_expires_in`, e.g. a Salesforce org's policy). It
 *   belongs to the refresh token: a refresh that hands out no new refresh token keeps it;
 * - an idle window (Pipedrive 60 days, Microsoft 90 days): every use of the refresh token starts it
 *   again, so it is counted from now whenever tokens are stored.
 */
export interface RefreshTokenExpiryInput {
  now: number;
  /** A refresh token is held at all (none: nothing can expire). */
  hasRefreshToken: boolean;
  /** The answer's own statement, as an instant (null: it said nothing). */
  statedExpiresAt: string | null;
  /** The absolute limit the previous credentials carried, kept when the refresh token did not change. */
  previousStatedExpiresAt: string | null;
  refreshTokenChanged: boolean;
  idleSeconds: number | undefined;
}

export interface RefreshTokenExpiry {
  /** What the credential records as `refreshTokenExpiresAt`. */
  expiresAt: string | null;
  /** The absolute limit alone, kept (non-secret metadata) for the next refresh. */
  statedExpiresAt: string | null;
}

export function refreshTokenExpiry(input: RefreshTokenExpiryInput): RefreshTokenExpiry {
  if (!input.hasRefreshToken) return { expiresAt: null, statedExpiresAt: null };
  const stated = input.statedExpiresAt ?? (input.refreshTokenChanged ? null : input.previousStatedExpiresAt);
  const candidates = [stated ? Date.parse(stated) : NaN, input.idleSeconds ? input.now + input.idleSeconds * 1000 : NaN].filter((t) => Number.isFinite(t));
  return { expiresAt: candidates.length ? new Date(Math.min(...candidates)).toISOString() : null, statedExpiresAt: stated };
}

/** When to recommend a reauthorization: `beforeSeconds` ahead of the refresh token's expiry. */
export function reauthRecommendedAt(refreshTokenExpiresAt: string, beforeSeconds: number): number {
  return Date.parse(refreshTokenExpiresAt) - beforeSeconds * 1000;
}
