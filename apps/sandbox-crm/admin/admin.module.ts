import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { FaultsModule } from '../faults/faults.module';
import { OAuthModule } from '../oauth/oauth.module';
import { StatsModule } from '../stats/stats.module';
import { AdminController } from './admin.controller';

@Module({
  // Faults, stats and OAuth are imported so `POST /admin/reset` can clear them too.
  imports: [AccountsModule, FaultsModule, StatsModule, OAuthModule],
  controllers: [AdminController],
})
export class AdminModule {}
