/**
 * What the `tokenRefresh` workflow and its activities exchange: scheduling facts and outcomes of a
 * refresh or health check. Pure types: the workflow bundle imports this file.
 */
import type { AuthType } from './reauthorization';
import type { StatusReason } from './status';

/** Scheduling facts of an integration's credentials (no secret). */
export interface RefreshPlan {
  exists: boolean;
  tenantId: string;
  provider: string;
  authType: AuthType;
  status: string;
  statusReason: string | null;
  credentialVersion: number | null;
  expiresAt: string | null;
  issuedAt: string;
  refreshable: boolean;
  lastCheckedAt: string | null;
  marginSeconds: number;
  jitterSeconds: number;
  /** REFRESH_SPREAD_PERCENT; absent in plans recorded before it existed (only the jitter then). */
  spreadPercent?: number;
  healthCheckIntervalSeconds: number;
  /** Task queue of this CRM's background calls (rate-capped per CRM); absent: the workflow's own queue. */
  crmTaskQueue?: string | null;
  /** When the refresh token expires by itself (idle window or CRM policy); null/absent: not known to. */
  refreshTokenExpiresAt?: string | null;
  /** Recommend a reauthorization this long before that (REAUTH_RECOMMENDED_BEFORE_SECONDS). */
  reauthRecommendedBeforeSeconds?: number;
  /** The recommendation for this grant and expiry was raised already. */
  reauthRecommended?: boolean;
}

export type RefreshResult =
  | { outcome: 'refreshed'; version: number; expiresAt: string | null }
  | { outcome: 'superseded' }
  | { outcome: 'healthy'; status: 'active' | 'pending'; reason: null }
  | { outcome: 'failed'; status: 'degraded' | 'blocked'; reason: StatusReason; detail: string };

/** What setting an integration's status did (nothing when newer credentials superseded the caller). */
export interface StatusChange {
  changed: boolean;
  previousStatus: string;
  superseded: boolean;
}
