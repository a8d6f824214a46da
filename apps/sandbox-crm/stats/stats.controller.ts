import { Controller, Delete, Get } from '@nestjs/common';
import { RequestStatsService } from './request-stats.service';

@Controller('admin/stats')
export class StatsController {
  constructor(private readonly stats: RequestStatsService) {}

  @Get()
  get() {
    return this.stats.snapshot();
  }

  @Delete()
  reset() {
    this.stats.reset();
    return this.stats.snapshot();
  }
}
