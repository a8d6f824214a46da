import {
  ArrayMaxSize,
  IsDateString,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { OAUTH_PROVIDERS, OAuthProvider } from './oauth-model';

/** Printable ASCII without spaces: survives query strings, form bodies and HTTP Basic. */
const CREDENTIAL = /^[\x21-\x7e]+$/;
const ONE_YEAR_SECONDS = 365 * 24 * 3600;

export class UpsertOAuthClientDto {
  @IsIn(OAUTH_PROVIDERS, { message: `provider must be one of ${OAUTH_PROVIDERS.join(', ')}` })
  provider: OAuthProvider;

  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(20) @IsString({ each: true }) @IsNotEmpty({ each: true }) @MaxLength(2000, { each: true })
  redirectUris: string[];

  @IsOptional() @IsString() @MaxLength(200) @Matches(CREDENTIAL, { message: 'clientId must be printable ASCII without spaces' })
  clientId?: string;

  @IsOptional() @IsString() @MaxLength(200) @Matches(CREDENTIAL, { message: 'clientSecret must be printable ASCII without spaces' })
  clientSecret?: string;

  /** Shown on the consent page. */
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200)
  name?: string;

  @IsOptional() @IsBoolean()
  requirePkce?: boolean;

  @IsOptional() @IsInt() @Min(1) @Max(ONE_YEAR_SECONDS)
  accessTokenTtlSeconds?: number;

  @IsOptional() @IsBoolean()
  rotateRefreshTokens?: boolean;

  /** Granted when an authorization request names no scope (Pipedrive-style app-level scopes). */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @IsNotEmpty({ each: true })
  scopes?: string[];
}

export class AdminAuthorizeDto {
  /** A full authorize URL as the app would send the browser to (only its path and query are used). */
  @IsString() @IsNotEmpty() @MaxLength(8000)
  authorizeUrl: string;

  @IsString() @IsNotEmpty()
  userId: string;

  /** Scopes the user leaves ticked; omitted: all requested. */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true })
  grantScopes?: string[];

  @IsOptional() @IsIn(['allow', 'deny'])
  decision?: 'allow' | 'deny';
}

export class RevokeOAuthTokenDto {
  @IsOptional() @IsString() @IsNotEmpty()
  refreshToken?: string;

  @IsOptional() @IsString() @IsNotEmpty()
  accessToken?: string;
}

export class InspectRefreshTokenDto {
  @IsString() @IsNotEmpty()
  refreshToken: string;
}

export class ExpireOAuthTokenDto {
  @IsString() @IsNotEmpty()
  accessToken: string;
}

export class OAuthSettingsDto {
  @IsOptional() @IsInt() @Min(1) @Max(ONE_YEAR_SECONDS)
  defaultAccessTokenTtlSeconds?: number;

  /** 0 turns the reuse grace period off. */
  @IsOptional() @IsInt() @Min(0) @Max(86_400)
  refreshTokenReuseGraceSeconds?: number;

  /** null: refresh tokens never expire (the default). */
  @IsOptional() @ValidateIf((_, value) => value !== null) @IsInt() @Min(1) @Max(ONE_YEAR_SECONDS)
  refreshTokenTtlSeconds?: number | null;

  @IsOptional() @IsInt() @Min(1) @Max(1000)
  salesforceMaxApprovalsPerUser?: number;

  @IsOptional() @IsInt() @Min(1) @Max(1000)
  zohoMaxRefreshTokensPerUser?: number;
}

export class ListGrantsQueryDto {
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200)
  clientId?: string;

  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200)
  userId?: string;
}

/** At most this many grants per `POST /admin/oauth/grants` (a benchmark seeds in chunks). */
export const MAX_BULK_GRANTS = 10_000;

export class IssueGrantsDto {
  @IsString() @IsNotEmpty() @MaxLength(200)
  clientId: string;

  /** One grant per entry: its first access token expires then (in the future). */
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_BULK_GRANTS) @IsDateString({}, { each: true })
  accessTokenExpiresAt: string[];

  /** Granted scopes; omitted: the app's configured scopes, else the shape's defaults. */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @IsNotEmpty({ each: true })
  scopes?: string[];
}
