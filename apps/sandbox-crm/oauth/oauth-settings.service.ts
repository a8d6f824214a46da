import { Injectable } from '@nestjs/common';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, OAuthClient } from './oauth-model';

export interface OAuthSettings {
  /** Access token lifetime for apps that set none of their own. */
  defaultAccessTokenTtlSeconds: number;
  /**
   * How long a rotated-away refresh token may still be presented (0: never, the default). Within
   * it, the token gets the answer its first use got — a new access token and the same successor
   * refresh token — as long as that successor has not been used itself; after it, reuse revokes
   * the family. Some real authorization servers offer such a grace period for clients that lost
   * the answer to a refresh.
   */
  refreshTokenReuseGraceSeconds: number;
}

/** Sandbox-wide OAuth settings (`/admin/oauth/settings`). */
@Injectable()
export class OAuthSettingsService {
  private settings: OAuthSettings = defaultSettings();

  get(): OAuthSettings {
    return { ...this.settings };
  }

  update(changes: Partial<OAuthSettings>): OAuthSettings {
    if (changes.defaultAccessTokenTtlSeconds !== undefined) this.settings.defaultAccessTokenTtlSeconds = changes.defaultAccessTokenTtlSeconds;
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
  return { defaultAccessTokenTtlSeconds: DEFAULT_ACCESS_TOKEN_TTL_SECONDS, refreshTokenReuseGraceSeconds: 0 };
}
