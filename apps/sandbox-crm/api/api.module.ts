import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { OAuthModule } from '../oauth/oauth.module';
import { BearerTokenGuard } from './bearer-token.guard';
import { CrmApiController } from './crm-api.controller';

@Module({
  imports: [AccountsModule, OAuthModule],
  controllers: [CrmApiController],
  providers: [BearerTokenGuard],
})
export class ApiModule {}
