import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { TenantId } from '../auth/tenant.decorator';
import { CancelReauthorizationDto, StartReauthorizationDto, SubmitApiTokenDto } from '../integrations/integrations.dto';
import { ReauthorizationsService } from './reauthorizations.service';

@ApiTags('reauthorizations')
@ApiBearerAuth()
@Controller('v1')
export class ReauthorizationsController {
  constructor(private readonly reauths: ReauthorizationsService) {}

  /** 201 with a new reauthorization, 200 with the one already running. */
  @Post('integrations/:id/reauthorizations')
  async start(
    @TenantId() tenantId: string,
    @Param('id') id: string,
    @Body() dto: StartReauthorizationDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { created, body } = await this.reauths.start(tenantId, id, dto);
    res.status(created ? 201 : 200);
    return body;
  }

  @Get('reauthorizations/:id')
  get(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.reauths.get(tenantId, id);
  }

  @Post('reauthorizations/:id/api-token')
  @HttpCode(200)
  submitApiToken(@TenantId() tenantId: string, @Param('id') id: string, @Body() dto: SubmitApiTokenDto) {
    return this.reauths.submitApiToken(tenantId, id, dto.apiToken);
  }

  @Post('reauthorizations/:id/cancel')
  @HttpCode(200)
  cancel(@TenantId() tenantId: string, @Param('id') id: string, @Body() dto: CancelReauthorizationDto) {
    return this.reauths.cancel(tenantId, id, dto.reason);
  }
}

export class CreateLinkTokenDto {
  @IsString() @MaxLength(100) integrated_account_id: string;
}

/** Truto-style alias: a shareable connect link for an integrated account (starts or reuses a reauthorization). */
@ApiTags('reauthorizations')
@ApiBearerAuth()
@Controller('v1/link-tokens')
export class LinkTokensController {
  constructor(private readonly reauths: ReauthorizationsService) {}

  @Post()
  async create(@TenantId() tenantId: string, @Body() dto: CreateLinkTokenDto, @Res({ passthrough: true }) res: Response) {
    const { created, body } = await this.reauths.start(tenantId, dto.integrated_account_id, {});
    res.status(created ? 201 : 200);
    return {
      link_token: body.linkToken,
      link_url: body.linkUrl,
      reauthorization_id: body.id,
      integrated_account_id: body.integrationId,
      expires_at: body.expiresAt,
    };
  }
}
