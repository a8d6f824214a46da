import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, MaxLength, Min } from 'class-validator';
import { WEBHOOK_EVENT_TYPES } from '../../../libs/domain/events';

export class CreateWebhookEndpointDto {
  @IsString()
  @MaxLength(2048)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_valid_protocol: true, require_tld: false, allow_underscores: true, disallow_auth: true },
    { message: 'url must be an absolute http(s) URL without credentials' },
  )
  url: string;

  /** Event types to receive; omitted (or null): all of them, including types added later. */
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty({ message: 'events must list at least one event type (omit it to receive all events)' })
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length * 4)
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each value in events must be one of: ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  events?: string[] | null;
}

export const DEFAULT_EVENTS_PAGE = 50;
export const MAX_EVENTS_PAGE = 100;

/** GET /v1/events */
export class ListEventsQuery {
  /** `nextCursor` of the previous page. */
  @IsOptional() @IsString() @MaxLength(200) cursor?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_EVENTS_PAGE) limit?: number;
}

/** POST /v1/webhook-endpoints/:id/replay */
export class ReplayWebhookEndpointDto {
  /** Send again every event since this time (ISO-8601 with a time zone, e.g. `2026-12-01T08:00:00Z`). */
  @IsString()
  @MaxLength(64)
  @Matches(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/, {
    message: 'since must be an ISO-8601 date and time with a time zone, such as 2026-12-01T08:00:00Z',
  })
  since: string;
}
