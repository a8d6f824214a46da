import { Injectable } from '@nestjs/common';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, OAuthClient } from './oauth-model';

export interface OAuthSettings {
  /** Access token lifetime for apps that set none of their own. */
  defaultAccessTokenTtlSeconds: number;
  /**
   * Refresh tokens expire this long after they were issued (null: never). The Salesforce shape
   * states it in its token answers (`refresh_token_expires_in`), like an org's refresh token policy.
   */
  refreshTokenTtlSeconds: number | null;
  /** Salesforce: live approvals (grants with a refresh token) per user and app; one more revokes the oldest. */
  salesforceMaxApprovalsPerUser: number;
  /** Zoho: live refresh tokens per user and app; one more deletes the oldest. */
  zohoMaxRefreshTokensPerUser: number;
  /**
   * How long a rotated-away refresh token may still be presented (0: never, the default). Within
   * it, the token gets the answer its first use got — a new access token and the same successor
   * refresh token — as long as that successor has not been used itself; after it, reuse revokes
   * the family. Some real authorization servers offer such a grace period for clients that lost
   * the answer to a refresh.
   */
  refreshTokenReuseGraceSeconds: number;
}

/** Salesforce allows 5 approvals of one user for one connected app; Zoho 20 refresh tokens per user and client. */
export const SALESFORCE_MAX_APPROVALS_PER_USER = 5;
export const ZOHO_MAX_REFRESH_TOKENS_PER_USER = 20;

/** Sandbox-wide OAuth settings (`/admin/oauth/settings`). */
@Injectable()
export class OAuthSettingsService {
  private settings: OAuthSettings = defaultSettings();

  get(): OAuthSettings {
    return { ...this.settings };
  }

  update(changes: Partial<OAuthSettings>): OAuthSettings {
    if (changes.defaultAccessTokenTtlSeconds !== undefined) this.settings.defaultAccessTokenTtlSeconds = changes.defaultAccessTokenTtlSeconds;
    if (changes.refreshTokenTtlSeconds !== undefined) this.settings.refreshTokenTtlSeconds = changes.refreshTokenTtlSeconds;
    if (changes.salesforceMaxApprovalsPerUser !== undefined) this.settings.salesforceMaxApprovalsPerUser = changes.salesforceMaxApprovalsPerUser;
    if (changes.zohoMaxRefreshTokensPerUser !== undefined) this.settings.zohoMaxRefreshTokensPerUser = changes.zohoMaxRefreshTokensPerUser;
    if (changes.refreshTokenReuseGraceSeconds !== undefined) this.settings.refreshTokenReuseGraceSeconds = changes.refreshTokenReuseGraceSeconds;
    return this.get();
  }

  /** How long the access tokens issued to `client` live. */
  accessTokenTtlSeconds(client: OAuthClient): number {
    return client.accessTokenTtlSeconds ?? this.settings.defaultAccessTokenTtlSeconds;
  }

  reset(): void {
    this.settings = defaultSettings();
  }
}

function defaultSettings(): OAuthSettings {
  return {
    defaultAccessTokenTtlSeconds: DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenReuseGraceSeconds: 0,
    refreshTokenTtlSeconds: null,
    salesforceMaxApprovalsPerUser: SALESFORCE_MAX_APPROVALS_PER_USER,
    zohoMaxRefreshTokensPerUser: ZOHO_MAX_REFRESH_TOKENS_PER_USER,
  };
}
