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
  /** Share of the lifetime (percent) over which refreshes are spread before the margin; absent: 0. */
  spreadPercent?: number;
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
    // The jitter breaks up bursts; the spread, a share of the lifetime, is wider for long-lived
    // tokens: 10,000 integrations connected in the same five minutes (a bulk import), whose
    // hour-long tokens expire together, are refreshed over the quarter hour before instead (the
    // margin still left after the latest of them for retries and backlog), and their next tokens
    // then expire that far apart.
    const spread = ((plan.spreadPercent ?? 0) / 100) * lifetimeMs(plan);
    const jitter = random * Math.max(Math.min(plan.jitterSeconds * 1000, margin / 2), spread);
    // Never sooner than a tenth of the lifetime after issue: a token that comes back already
    // (nearly) expired must not put us in a hot loop.
    const earliest = Date.parse(plan.issuedAt) + Math.max(1000, lifetimeMs(plan) / 10);
    return Math.max(earliest, Date.parse(plan.expiresAt) - margin - jitter);
  }
  const last = plan.lastCheckedAt ? Date.parse(plan.lastCheckedAt) : now;
  return Math.max(now, last + plan.healthCheckIntervalSeconds * 1000 - random * plan.jitterSeconds * 1000);
}
