import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuditActorResolver } from '../audit/audit-actor';
import { RateLimiter, rateLimited } from '../auth/rate-limits';
import { TenantId } from '../auth/tenant.decorator';
import { CreateWebhookEndpointDto, ReplayWebhookEndpointDto } from './webhooks.dto';
import { WebhooksService } from './webhooks.service';

/** Webhook endpoints, their delivery log, and sending events again (redelivery, replay). */
@ApiTags('webhooks')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'rate limited (`Retry-After` in seconds)' })
@Controller('v1/webhook-endpoints')
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly actors: AuditActorResolver,
    private readonly limiter: RateLimiter,
  ) {}

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

  /** Send that delivery's event to this endpoint again: same `webhook-id`, same body, a fresh signature. */
  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiAcceptedResponse({
    description:
      'queued: `{id, endpointId, eventId, event, status: "pending", attempts, resends, lastAttemptAt, lastStatusCode, lastError, deliveredAt}`; retried like any delivery; follow it in `GET /v1/events` or `…/deliveries`',
  })
  @ApiNotFoundResponse({ description: 'no live endpoint of this tenant with that id, or no delivery of it with that id' })
  @ApiConflictResponse({ description: '`delivery_in_progress`: the delivery is still being attempted' })
  async redeliver(
    @TenantId() tenantId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ) {
    await this.countResend(tenantId, res);
    return this.webhooks.redeliver(tenantId, id, deliveryId, await this.actors.resolve(req));
  }

  /** For a receiver that was down past the retry window: every event since `since` it is subscribed to, sent again. */
  @Post(':id/replay')
  @HttpCode(202)
  @ApiAcceptedResponse({
    description:
      '`{id, endpointId, since, until, status, matched, truncated, resumeFrom, limit, queued, skipped, deliveries: {pending, delivered, failed}, createdAt, completedAt}`; at most `limit` (1000) events, oldest first — `truncated: true` means there were more: replay again from `resumeFrom`',
  })
  @ApiBadRequestResponse({ description: '`validation_error` (no ISO-8601 `since`) or `invalid_since` (in the future, more than 30 days ago)' })
  @ApiNotFoundResponse({ description: 'no live endpoint of this tenant with that id' })
  @ApiConflictResponse({ description: '`replay_in_progress`: a replay of this endpoint is still running' })
  async replay(
    @TenantId() tenantId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Param('id') id: string,
    @Body() dto: ReplayWebhookEndpointDto,
  ) {
    await this.countResend(tenantId, res);
    return this.webhooks.replay(tenantId, id, dto, await this.actors.resolve(req));
  }

  @Get(':id/replays/:replayId')
  @ApiOkResponse({ description: 'the replay as `POST …/replay` answered it, now: `status`, `queued`/`skipped` once completed, `deliveries` by status' })
  @ApiNotFoundResponse({ description: 'no such replay of a live endpoint of this tenant' })
  getReplay(@TenantId() tenantId: string, @Param('id') id: string, @Param('replayId') replayId: string) {
    return this.webhooks.getReplay(tenantId, id, replayId);
  }

  /** The tenant's `webhook-resends` budget (rate-limits.ts), on top of the key's own. */
  private async countResend(tenantId: string, res: Response): Promise<void> {
    const wait = await this.limiter.hit('webhook-resends', tenantId);
    if (wait !== null) throw rateLimited(res, wait);
  }
}
