import { Module } from '@nestjs/common';
import { AccountProvisioner } from './account-provisioner';
import { AccountsStore } from './accounts.store';
import { RecordsStore } from './records.store';

/** The CRM's data: tenants, their users and tokens, and their records. Shared by the API and admin surfaces. */
@Module({
  providers: [AccountsStore, RecordsStore, AccountProvisioner],
  exports: [AccountsStore, RecordsStore, AccountProvisioner],
})
export class AccountsModule {}
