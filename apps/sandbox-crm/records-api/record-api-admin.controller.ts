import { Body, Controller, Delete, Get, Post } from '@nestjs/common';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { RECORD_API_SHAPES, RecordApiFaultKind, RecordApiFaultsService, RecordApiShape } from './record-api-faults.service';

export class CreateRecordApiFaultDto {
  @IsIn(RECORD_API_SHAPES)
  shape!: RecordApiShape;

  @IsIn(['rate_limit', 'unauthorized', 'server_error'])
  kind!: RecordApiFaultKind;

  @IsOptional()
  @IsString()
  @Matches(/^[a-z]{1,32}$/)
  entity?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  count?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  afterRequests?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3600)
  retryAfterSeconds?: number;
}

/**
 * `/admin/record-api/faults`: makes a shape's record API answer its CRM's own rate-limit,
 * refused-token or server-error answer for the next `count` requests (of one entity type when
 * `entity` is given), after letting `afterRequests` through.
 */
@Controller('admin/record-api/faults')
export class RecordApiAdminController {
  constructor(private readonly faults: RecordApiFaultsService) {}

  @Post()
  create(@Body() body: CreateRecordApiFaultDto) {
    return this.faults.add({
      shape: body.shape,
      kind: body.kind,
      entity: body.entity ?? null,
      remaining: body.count ?? 1,
      afterRequests: body.afterRequests ?? 0,
      retryAfterSeconds: body.retryAfterSeconds ?? 2,
    });
  }

  @Get()
  list() {
    return { faults: this.faults.list() };
  }

  @Delete()
  clear() {
    return { cleared: this.faults.clear() };
  }
}
