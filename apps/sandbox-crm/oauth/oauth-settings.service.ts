import { Injectable } from '@nestjs/common';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, OAuthClient } from './oauth-model';

export interface OAuthSettings {
  /** Access token lifetime for apps that set none of their own. */
  defaultAccessTokenTtlSeconds: number;
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
  return { defaultAccessTokenTtlSeconds: DEFAULT_ACCESS_TOKEN_TTL_SECONDS };
}
