import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { FaultsModule } from '../faults/faults.module';
import { StatsModule } from '../stats/stats.module';
import { AdminController } from './admin.controller';

@Module({
  // Faults and stats are imported only so `POST /admin/reset` can clear them too.
  imports: [AccountsModule, FaultsModule, StatsModule],
  controllers: [AdminController],
})
export class AdminModule {}
