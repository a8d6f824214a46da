import { Body, Controller, Get, Param, Put, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { TenantId } from '../auth/tenant.decorator';
import { PutProviderDto } from './providers.dto';
import { ProvidersService } from './providers.service';

@ApiTags('providers')
@ApiBearerAuth()
@Controller('v1/providers')
export class ProvidersController {
  constructor(private readonly providers: ProvidersService) {}

  /** The built-in catalog plus this tenant's custom providers (no secrets). */
  @Get()
  async list(@TenantId() tenantId: string) {
    return { data: await this.providers.list(tenantId) };
  }

  /** Sets this tenant's OAuth app for a provider, or declares a custom provider. 201 new, 200 updated. */
  @Put(':key')
  async put(@TenantId() tenantId: string, @Param('key') key: string, @Body() dto: PutProviderDto, @Res({ passthrough: true }) res: Response) {
    const { created, body } = await this.providers.put(tenantId, key, dto);
    res.status(created ? 201 : 200);
    return body;
  }
}
