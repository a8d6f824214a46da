import { Controller, Get, Module } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { Alert } from '../../../libs/db/entities';
import { TenantId } from '../auth/tenant.decorator';

/** The global admin alert: open alerts of this tenant, newest first. */
@ApiTags('alerts')
@ApiBearerAuth()
@Controller('v1/alerts')
export class AlertsController {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  @Get()
  async list(@TenantId() tenantId: string) {
    const rows = await this.ds.getRepository(Alert).find({ where: { tenantId, resolvedAt: IsNull() }, order: { createdAt: 'DESC' } });
    return {
      data: rows.map((a) => ({ id: a.id, integrationId: a.integrationId, level: a.level, code: a.code, message: a.message, createdAt: a.createdAt.toISOString() })),
    };
  }
}

@Module({ controllers: [AlertsController] })
export class AlertsModule {}
