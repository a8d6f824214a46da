import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { HubspotController } from './hubspot.controller';
import { OAuthAdminController } from './oauth-admin.controller';
import { OAuthEndpoints } from './oauth-endpoints';
import { OAuthService } from './oauth.service';
import { PipedriveController } from './pipedrive.controller';
import { SalesforceController } from './salesforce.controller';
import { ZohoController } from './zoho.controller';

/**
 * OAuth2 authorization servers in the wire shapes of HubSpot, Salesforce, Pipedrive and Zoho CRM
 * (one implementation, four dialects, selected by path prefix), plus their who-am-I endpoints.
 * Exports the service so the REST API accepts its access tokens and admin reset can clear it.
 */
@Module({
  imports: [AccountsModule],
  controllers: [OAuthAdminController, HubspotController, SalesforceController, PipedriveController, ZohoController],
  providers: [OAuthService, OAuthEndpoints],
  exports: [OAuthService],
})
export class OAuthModule {}
