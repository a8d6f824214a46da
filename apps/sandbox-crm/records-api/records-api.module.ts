import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { OAuthModule } from '../oauth/oauth.module';
import { HubspotRecordsController } from './hubspot-records.controller';
import { PipedriveRecordsController } from './pipedrive-records.controller';
import { RecordApiAdminController } from './record-api-admin.controller';
import { RecordApiFaultsService } from './record-api-faults.service';
import { RecordApiAuth } from './record-api-support';
import { SalesforceRecordsController } from './salesforce-records.controller';
import { ZohoRecordsController } from './zoho-records.controller';

/**
 * The record APIs of the four CRM shapes — HubSpot CRM v3 objects, Salesforce REST query, Pipedrive
 * v1 lists, Zoho CRM modules — over the same record store as `/api/v1/<entity>`, with each CRM's
 * paging, rate-limit headers and error bodies, so the engine's record adapters run unchanged
 * against the sandbox.
 */
@Module({
  imports: [AccountsModule, OAuthModule],
  controllers: [HubspotRecordsController, SalesforceRecordsController, PipedriveRecordsController, ZohoRecordsController, RecordApiAdminController],
  providers: [RecordApiFaultsService, RecordApiAuth],
})
export class RecordsApiModule {}
