import { Transform, Type } from 'class-transformer';

/**
 * `config` is free-form JSON owned by the customer (sync settings, field mappings). class-transformer
 * would rebuild it and silently drop keys that exist on Object.prototype (`toString`, `constructor`,
 * …), so the value is taken from the request body exactly as parsed.
 */
const RawJson = () => Transform(({ obj, key }) => (obj as Record<string, unknown>)[key], { toClassOnly: true });
import {
  IsArray,
  IsBoolean,
  IsDateString,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

/**
 * Tokens travel in HTTP headers (and OAuth forms): printable ASCII, no spaces. Anything else cannot
 * even be sent to the CRM (fetch throws), which would otherwise surface as a retried "CRM unavailable".
 */
const TOKEN_RE = /^[\x21-\x7E]+$/;
const tokenMessage = (name: string) => ({ message: `${name} must be printable ASCII without spaces` });

export class CredentialsDto {
  @IsOptional() @IsString() @MinLength(1) @MaxLength(4096) @Matches(TOKEN_RE, tokenMessage('apiToken')) apiToken?: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(8192) @Matches(TOKEN_RE, tokenMessage('accessToken')) accessToken?: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(8192) @Matches(TOKEN_RE, tokenMessage('refreshToken')) refreshToken?: string;
  @IsOptional() @IsDateString() expiresAt?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) scopes?: string[];
}

export class CreateIntegrationDto {
  @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'provider must be a provider key such as "sandbox"' }) provider: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(200) displayName?: string;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @RawJson() @IsObject() config?: Record<string, unknown>;
  @IsOptional() @IsArray() @IsString({ each: true }) @MaxLength(200, { each: true }) requiredScopes?: string[];
  @IsOptional() @IsObject() @ValidateNested() @Type(() => CredentialsDto) credentials?: CredentialsDto;
}

/**
 * Optional, but not nullable: `@IsOptional()` lets `null` through unvalidated, which for a PATCH
 * would mean "set this NOT NULL column to null" (a 500). Absent is fine; null is validated (and fails).
 */
const IsOptionalNotNull = () => ValidateIf((_: object, value: unknown) => value !== undefined);

export class UpdateIntegrationDto {
  @IsOptionalNotNull() @IsString() @MinLength(1) @MaxLength(200) displayName?: string;
  @IsOptionalNotNull() @RawJson() @IsObject() config?: Record<string, unknown>;
}

export class StartReauthorizationDto {
  @IsOptional() @IsBoolean() fullResync?: boolean;
  @IsOptional() @IsArray() @IsString({ each: true }) @MaxLength(200, { each: true }) scopes?: string[];
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsString() @MaxLength(500) reason?: string;
  @IsOptional() @IsInt() @Min(10) @Max(30 * 24 * 3600) expiresInSeconds?: number;
  @IsOptional() @IsBoolean() allowAccountChange?: boolean;
}

export class SubmitApiTokenDto {
  @IsString() @MinLength(1) @MaxLength(4096) @Matches(TOKEN_RE, tokenMessage('apiToken')) apiToken: string;
}

export class CancelReauthorizationDto {
  @IsOptional() @IsString() @MaxLength(500) reason?: string;
}
