import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditActorResolver } from '../audit/audit-actor';
import { TenantId } from '../auth/tenant.decorator';
import { CreateIntegrationDto, UpdateIntegrationDto } from './integrations.dto';
import { IntegrationsService } from './integrations.service';

@ApiTags('integrations')
@ApiBearerAuth()
@Controller('v1/integrations')
export class IntegrationsController {
  constructor(
    private readonly integrations: IntegrationsService,
    private readonly actors: AuditActorResolver,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@TenantId() tenantId: string, @Body() dto: CreateIntegrationDto, @Req() req: Request) {
    return this.integrations.create(tenantId, dto, await this.actors.resolve(req));
  }

  @Get()
  async list(@TenantId() tenantId: string) {
    return { data: await this.integrations.list(tenantId) };
  }

  @Get(':id')
  async get(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.integrations.view(await this.integrations.findOwned(tenantId, id));
  }

  /** Refresh (or re-check) the credentials now, e.g. after a 401 seen elsewhere. */
  @Post(':id/refresh')
  @HttpCode(202)
  refresh(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.integrations.refreshNow(tenantId, id);
  }

  @Patch(':id')
  update(@TenantId() tenantId: string, @Param('id') id: string, @Body() dto: UpdateIntegrationDto) {
    return this.integrations.update(tenantId, id, dto);
  }

  /** Turn the integration off (idempotent): 200 with it, `status: "disabled"`. */
  @Post(':id/disable')
  @HttpCode(200)
  async disable(@TenantId() tenantId: string, @Param('id') id: string, @Req() req: Request) {
    return this.integrations.disable(tenantId, id, await this.actors.resolve(req));
  }

  /** Turn it back on: its credentials are checked first; 200 with the status they warrant. */
  @Post(':id/enable')
  @HttpCode(200)
  async enable(@TenantId() tenantId: string, @Param('id') id: string, @Req() req: Request) {
    return this.integrations.enable(tenantId, id, await this.actors.resolve(req));
  }

  /** Delete it for good: workflows ended, secrets destroyed; 404 from then on. The audit trail stays. */
  @Delete(':id')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('id') id: string, @Req() req: Request): Promise<void> {
    await this.integrations.remove(tenantId, id, await this.actors.resolve(req));
  }
}
