import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { TenantId } from '../auth/tenant.decorator';
import { CompleteResyncEntityDto, GetResyncQueryDto, StartResyncDto } from './resyncs.dto';
import { ResyncsService } from './resyncs.service';

@ApiTags('resyncs')
@ApiBearerAuth()
@Controller('v1')
export class ResyncsController {
  constructor(private readonly resyncs: ResyncsService) {}

  /** 202 with a new full re-sync, 200 with the one already running for the integration. */
  @Post('integrations/:id/resyncs')
  async start(
    @TenantId() tenantId: string,
    @Param('id') id: string,
    @Body() dto: StartResyncDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { created, body } = await this.resyncs.start(tenantId, id, dto);
    res.status(created ? 202 : 200);
    return body;
  }

  @Get('integrations/:id/resyncs')
  list(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.resyncs.list(tenantId, id);
  }

  /** With `?waitSeconds=N` (≤ 60): answers as soon as the re-sync is final, or after N seconds with it still running. */
  @Get('resyncs/:id')
  get(@TenantId() tenantId: string, @Param('id') id: string, @Query() query: GetResyncQueryDto, @Res({ passthrough: true }) res: Response) {
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    return this.resyncs.get(tenantId, id, query.waitSeconds ?? 0, () => gone);
  }

  /** An external sync service reports a delegated entity done (or failed). Idempotent. */
  @Post('resyncs/:id/entities/:entity/complete')
  @HttpCode(200)
  complete(@TenantId() tenantId: string, @Param('id') id: string, @Param('entity') entity: string, @Body() dto: CompleteResyncEntityDto) {
    return this.resyncs.complete(tenantId, id, entity, dto);
  }
}
