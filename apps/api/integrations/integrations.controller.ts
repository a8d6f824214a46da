import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { TenantId } from '../auth/tenant.decorator';
import { CreateIntegrationDto, UpdateIntegrationDto } from './integrations.dto';
import { IntegrationsService } from './integrations.service';

@ApiTags('integrations')
@ApiBearerAuth()
@Controller('v1/integrations')
export class IntegrationsController {
  constructor(private readonly integrations: IntegrationsService) {}

  @Post()
  @HttpCode(201)
  create(@TenantId() tenantId: string, @Body() dto: CreateIntegrationDto) {
    return this.integrations.create(tenantId, dto);
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
}
