import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ProviderRegistry } from '../../../libs/providers/provider-registry';
import { TenantId } from '../auth/tenant.decorator';

@ApiTags('providers')
@ApiBearerAuth()
@Controller('v1/providers')
export class ProvidersController {
  constructor(private readonly providers: ProviderRegistry) {}

  /** The built-in catalog plus this tenant's custom providers (no secrets). */
  @Get()
  async list(@TenantId() tenantId: string) {
    const list = await this.providers.list(tenantId);
    return { data: list.map((p) => ({ key: p.key, name: p.name, authType: p.authType, custom: p.custom, entities: p.entities })) };
  }
}
