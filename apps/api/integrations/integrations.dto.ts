import { Type } from 'class-transformer';
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
  ValidateNested,
} from 'class-validator';

export class CredentialsDto {
  @IsOptional() @IsString() @MinLength(1) @MaxLength(4096) apiToken?: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(8192) accessToken?: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(8192) refreshToken?: string;
  @IsOptional() @IsDateString() expiresAt?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) scopes?: string[];
}

export class CreateIntegrationDto {
  @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'provider must be a provider key such as "sandbox"' }) provider: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(200) displayName?: string;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsObject() config?: Record<string, unknown>;
  @IsOptional() @IsArray() @IsString({ each: true }) @MaxLength(200, { each: true }) requiredScopes?: string[];
  @IsOptional() @IsObject() @ValidateNested() @Type(() => CredentialsDto) credentials?: CredentialsDto;
}

export class UpdateIntegrationDto {
  @IsOptional() @IsString() @MinLength(1) @MaxLength(200) displayName?: string;
  @IsOptional() @IsObject() config?: Record<string, unknown>;
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
  @IsString() @MinLength(1) @MaxLength(4096) apiToken: string;
}

export class CancelReauthorizationDto {
  @IsOptional() @IsString() @MaxLength(500) reason?: string;
}
