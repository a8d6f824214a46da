import { Injectable } from '@nestjs/common';
import { AuthorizationService } from './authorization.service';
import { OAuthClientsService } from './oauth-clients.service';
import { OAuthSettingsService } from './oauth-settings.service';
import { OAuthStatsService } from './oauth-stats.service';
import { TokenStore } from './token-store.service';

/** Back to blank authorization servers (`POST /admin/reset`), without reaching into each store from outside the module. */
@Injectable()
export class OAuthResetService {
  constructor(
    private readonly clients: OAuthClientsService,
    private readonly authorization: AuthorizationService,
    private readonly tokens: TokenStore,
    private readonly settings: OAuthSettingsService,
    private readonly stats: OAuthStatsService,
  ) {}

  /** No clients, requests, codes or tokens; default settings; zeroed counters. */
  reset(): void {
    this.clients.reset();
    this.authorization.reset();
    this.tokens.reset();
    this.settings.reset();
    this.stats.reset();
  }
}
