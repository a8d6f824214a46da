import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditActorResolver } from '../audit/audit-actor';
import { CreateApiKeyDto } from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';
import { TenantId } from './tenant.decorator';

/** The tenant's own API keys: create (shown once), list, delete (refused at once, never the last one). */
@ApiTags('api-keys')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'rate limited (`Retry-After` in seconds)' })
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly actors: AuditActorResolver,
  ) {}

  /** 201 with the key itself: the only time it is shown (only its hash is stored). */
  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ description: '`{id, name, prefix, key, createdAt}`; `key` is shown this once' })
  async create(@TenantId() tenantId: string, @Req() req: Request, @Body() dto: CreateApiKeyDto) {
    return this.keys.create(tenantId, dto.name?.trim() ?? null, await this.actors.resolve(req));
  }

  @Get()
  @ApiOkResponse({ description: '`{data: [{id, name, prefix, createdAt, lastUsedAt}]}`: the live keys, oldest first; `lastUsedAt` to the minute' })
  async list(@TenantId() tenantId: string) {
    return { data: await this.keys.list(tenantId) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'deleted: the next request with that key is a 401' })
  @ApiNotFoundResponse({ description: 'no live key of this tenant has that id' })
  @ApiConflictResponse({ description: "`last_api_key`: the tenant's last live key cannot be deleted" })
  async remove(@TenantId() tenantId: string, @Req() req: Request, @Param('id') id: string): Promise<void> {
    await this.keys.revoke(tenantId, id, await this.actors.resolve(req));
  }
}
