import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  registerDecorator,
  type ValidationOptions,
} from 'class-validator';
import { MAX_DELEGATE_TIMEOUT_SECONDS, type ResyncError } from '../../../libs/domain/resync';

const ENTITY_RE = /^[a-z][a-z0-9_]{0,39}$/;
const CODE_RE = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_MESSAGE = 1000;
const MAX_COUNT = 1_000_000_000;

/** POST /v1/integrations/:id/resyncs */
export class StartResyncDto {
  /** Only these entity types (default: what failed last time, or all of them if nothing failed). */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Matches(ENTITY_RE, { each: true, message: 'each entity must be an entity type such as "contacts"' })
  entities?: string[];

  /** Every entity type of the provider. */
  @IsOptional() @IsBoolean() all?: boolean;

  /** How long a delegated entity may take before it fails with `timeout` (default RESYNC_DELEGATE_TIMEOUT_SECONDS). */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_DELEGATE_TIMEOUT_SECONDS) delegateTimeoutSeconds?: number;
}

/** GET /v1/resyncs/:id?waitSeconds=N — long-poll until the re-sync is final, at most N seconds. */
export class GetResyncQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(60) waitSeconds?: number;
}

/** `error` of a completion report: a message, or `{code?, message}`. */
function IsErrorReport(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isErrorReport',
      target: object.constructor,
      propertyName,
      options: { message: 'error must be a non-empty string or {code?: snake_case string, message: string} (message at most 1000 characters)', ...options },
      validator: {
        validate(value: unknown): boolean {
          if (value === null || value === undefined) return true;
          if (typeof value === 'string') return value.trim().length > 0 && value.length <= MAX_MESSAGE;
          if (typeof value !== 'object' || Array.isArray(value)) return false;
          const v = value as Record<string, unknown>;
          if (Object.keys(v).some((k) => k !== 'code' && k !== 'message')) return false;
          if (typeof v.message !== 'string' || v.message.trim() === '' || v.message.length > MAX_MESSAGE) return false;
          if (v.code !== undefined && (typeof v.code !== 'string' || !CODE_RE.test(v.code))) return false;
          return true;
        },
      },
    });
}

/** POST /v1/resyncs/:id/entities/:entity/complete — an external sync service reports a delegated entity. */
export class CompleteResyncEntityDto {
  @IsOptional() @IsInt() @Min(0) @Max(MAX_COUNT) imported?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_COUNT) updated?: number;
  @IsOptional() @IsErrorReport() error?: string | { code?: string; message: string } | null;
}

export function normalizeError(error: CompleteResyncEntityDto['error']): ResyncError | null {
  if (error === undefined || error === null) return null;
  if (typeof error === 'string') return { code: 'delegate_failed', message: error.trim() };
  return { code: error.code ?? 'delegate_failed', message: error.message.trim() };
}
