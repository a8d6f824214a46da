import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsIn, IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';
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
