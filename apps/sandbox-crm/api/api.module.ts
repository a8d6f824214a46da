import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { BearerTokenGuard } from './bearer-token.guard';
import { CrmApiController } from './crm-api.controller';

@Module({
  imports: [AccountsModule],
  controllers: [CrmApiController],
  providers: [BearerTokenGuard],
})
export class ApiModule {}
