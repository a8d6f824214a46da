import { Module } from '@nestjs/common';
import { RequestStatsService } from './request-stats.service';
import { StatsController } from './stats.controller';

/** Request counting for CRM API traffic. Its middleware is applied by the root module, which decides which routes it covers. */
@Module({
  controllers: [StatsController],
  providers: [RequestStatsService],
  exports: [RequestStatsService],
})
export class StatsModule {}
