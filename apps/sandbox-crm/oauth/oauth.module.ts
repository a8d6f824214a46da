import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AuthorizationService } from './authorization.service';
import { ClientAuthenticationService } from './client-authentication.service';
import { ConsentPageRenderer } from './consent-page';
import { HubspotController } from './hubspot.controller';
import { OAuthAdminController } from './oauth-admin.controller';
import { OAuthClientsService } from './oauth-clients.service';
import { OAuthEndpoints } from './oauth-endpoints';
import { OAuthResetService } from './oauth-reset.service';
import { OAuthSettingsService } from './oauth-settings.service';
import { OAuthStatsService } from './oauth-stats.service';
import { PipedriveController } from './pipedrive.controller';
import { RevocationService } from './revocation.service';
import { SalesforceController } from './salesforce.controller';
import { TokenGrantsService } from './token-grants.service';
import { TokenIntrospectionService } from './token-introspection.service';
import { TokenStore } from './token-store.service';
import { ZohoController } from './zoho.controller';

/**
 * OAuth2 authorization servers in the wire shapes of HubSpot, Salesforce, Pipedrive and Zoho CRM
 * (one implementation, four dialects, selected by path prefix), plus their who-am-I endpoints.
 * Exports token introspection so the REST API accepts its access tokens, and the reset for
 * `POST /admin/reset`.
 */
@Module({
  imports: [AccountsModule],
  controllers: [OAuthAdminController, HubspotController, SalesforceController, PipedriveController, ZohoController],
  providers: [
    OAuthClientsService,
    ClientAuthenticationService,
    AuthorizationService,
    TokenStore,
    TokenGrantsService,
    RevocationService,
    TokenIntrospectionService,
    OAuthSettingsService,
    OAuthStatsService,
    OAuthResetService,
    ConsentPageRenderer,
    OAuthEndpoints,
  ],
  exports: [TokenIntrospectionService, OAuthResetService],
})
export class OAuthModule {}
