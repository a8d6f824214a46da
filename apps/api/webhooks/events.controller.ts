import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiOkResponse, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { TenantId } from '../auth/tenant.decorator';
import { EventsService } from './events.service';
import { ListEventsQuery } from './webhooks.dto';

/** The webhook events emitted for the tenant, with where each one stands at every endpoint. */
@ApiTags('webhooks')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'rate limited (`Retry-After` in seconds)' })
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOkResponse({
    description:
      '`{data: [{id, event, integrationId, createdAt, payload, deliveries: [{id, endpointId, status, attempts, resends, lastAttemptAt, lastStatusCode, lastError, deliveredAt}]}], nextCursor}`, newest first; pass `nextCursor` as `cursor` for the next page (`null`: last page)',
  })
  @ApiBadRequestResponse({ description: '`invalid_cursor`, or `limit` outside 1–100' })
  list(@TenantId() tenantId: string, @Query() query: ListEventsQuery) {
    return this.events.list(tenantId, query);
  }
}
