import { Controller, Delete, Get, Query } from '@nestjs/common';
import { RequestStatsService } from './request-stats.service';

/**
 * `GET /admin/stats` (counts per path), `GET /admin/stats/requests?pathPrefix=` (the request log, in
 * order), `GET /admin/stats/per-second?pathPrefix=` (requests per wall-clock second), `DELETE` resets them.
 */
@Controller('admin/stats')
export class StatsController {
  constructor(private readonly stats: RequestStatsService) {}

  @Get()
  get() {
    return this.stats.snapshot();
  }

  @Get('requests')
  requests(@Query('pathPrefix') pathPrefix: unknown) {
    return { requests: this.stats.entries(typeof pathPrefix === 'string' ? pathPrefix : undefined) };
  }

  @Get('per-second')
  perSecond(@Query('pathPrefix') pathPrefix: unknown) {
    return { seconds: this.stats.perSecondCounts(typeof pathPrefix === 'string' ? pathPrefix : undefined) };
  }

  @Delete()
  reset() {
    this.stats.reset();
    return this.stats.snapshot();
  }
}
