import { Injectable } from '@nestjs/common';

export interface OAuthStats {
  authorizationCodesIssued: number;
  codeExchanges: number;
  refreshGrants: number;
  /** Replayed authorization codes plus reused (already rotated) refresh tokens. */
  reuseDetections: number;
  /** Rotated-away refresh tokens presented again within the reuse grace period, and answered. */
  graceReuses: number;
  failedTokenRequests: number;
  /** Grants revoked because a user went over the provider's limit (Salesforce approvals, Zoho refresh tokens). */
  grantLimitRevocations: number;
  /** Revocation requests that ended a live grant (any provider's revocation endpoint). */
  revocations: number;
}

/** Counters of what the authorization servers did, for tests to assert on (`/admin/oauth/stats`). */
@Injectable()
export class OAuthStatsService {
  private stats: OAuthStats = emptyStats();

  count(counter: keyof OAuthStats): void {
    this.stats[counter] += 1;
  }

  get(): OAuthStats {
    return { ...this.stats };
  }

  reset(): OAuthStats {
    this.stats = emptyStats();
    return this.get();
  }
}

function emptyStats(): OAuthStats {
  return { authorizationCodesIssued: 0, codeExchanges: 0, refreshGrants: 0, reuseDetections: 0, graceReuses: 0, failedTokenRequests: 0, grantLimitRevocations: 0, revocations: 0 };
}
