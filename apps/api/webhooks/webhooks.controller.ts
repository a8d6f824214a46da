import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { TenantId } from '../auth/tenant.decorator';
import { CreateWebhookEndpointDto } from './webhooks.dto';
import { WebhooksService } from './webhooks.service';

/** Webhook endpoints and their delivery log. */
@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhook-endpoints')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** 201 with the signing secret — the only time it is shown. */
  @Post()
  @HttpCode(201)
  create(@TenantId() tenantId: string, @Body() dto: CreateWebhookEndpointDto) {
    return this.webhooks.create(tenantId, dto);
  }

  @Get()
  async list(@TenantId() tenantId: string) {
    return { data: await this.webhooks.list(tenantId) };
  }

  @Get(':id')
  get(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.webhooks.get(tenantId, id);
  }

  @Delete(':id')
  @HttpCode(200)
  remove(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.webhooks.remove(tenantId, id);
  }

  /** Newest first, at most 100. */
  @Get(':id/deliveries')
  async deliveries(@TenantId() tenantId: string, @Param('id') id: string) {
    return { data: await this.webhooks.deliveries(tenantId, id) };
  }
}
