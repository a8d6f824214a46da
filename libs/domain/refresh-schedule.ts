/**
 * When an integration's credentials are refreshed or checked next. Pure (no clock, no randomness of
 * its own), so the `tokenRefresh` workflow can call it deterministically and tests can pin it.
 */
export interface RefreshTiming {
  refreshable: boolean;
  expiresAt: string | null;
  issuedAt: string;
  lastCheckedAt: string | null;
  marginSeconds: number;
  jitterSeconds: number;
  healthCheckIntervalSeconds: number;
}

/** Lifetime of the current token (at least a second, so the arithmetic below never degenerates). */
function lifetimeMs(plan: Pick<RefreshTiming, 'expiresAt' | 'issuedAt'>): number {
  return Math.max(1000, Date.parse(plan.expiresAt!) - Date.parse(plan.issuedAt));
}

/** How long before expiry to refresh: the configured margin, shrunk for short-lived tokens. */
export function refreshMarginMs(plan: Pick<RefreshTiming, 'expiresAt' | 'issuedAt' | 'marginSeconds'>): number {
  return Math.min(plan.marginSeconds * 1000, Math.max(1000, lifetimeMs(plan) / 5));
}

/** When the next refresh or health check is due, given the time now and a random number in [0, 1). */
export function nextRunAt(plan: RefreshTiming, now: number, random: number): number {
  if (plan.refreshable && plan.expiresAt) {
    const margin = refreshMarginMs(plan);
    const jitter = random * Math.min(plan.jitterSeconds * 1000, margin / 2);
    // Never sooner than a tenth of the lifetime after issue: a token that comes back already
    // (nearly) expired must not put us in a hot loop.
    const earliest = Date.parse(plan.issuedAt) + Math.max(1000, lifetimeMs(plan) / 10);
    return Math.max(earliest, Date.parse(plan.expiresAt) - margin - jitter);
  }
  const last = plan.lastCheckedAt ? Date.parse(plan.lastCheckedAt) : now;
  return Math.max(now, last + plan.healthCheckIntervalSeconds * 1000 - random * plan.jitterSeconds * 1000);
}
