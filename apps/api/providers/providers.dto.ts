import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

const URL_OPTS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * PUT /v1/providers/:key. For a catalog provider: the tenant's OAuth app (clientId, clientSecret,
 * scopes). For a custom provider, also how to talk to it: OAuth2 endpoints or an API-token check.
 */
export class PutProviderDto {
  @IsOptional() @IsIn(['oauth2', 'api_token']) authType?: 'oauth2' | 'api_token';
  @IsOptional() @IsString() @MinLength(1) @MaxLength(100) name?: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(500) clientId?: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(2000) clientSecret?: string;
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(200, { each: true }) scopes?: string[];
  @IsOptional() @IsArray() @ArrayMaxSize(20) @IsString({ each: true }) @Matches(/^[a-z][a-z0-9_]{0,39}$/, { each: true }) entities?: string[];
  // custom OAuth2
  @IsOptional() @IsUrl(URL_OPTS) authorizationUrl?: string;
  @IsOptional() @IsUrl(URL_OPTS) tokenUrl?: string;
  @IsOptional() @IsUrl(URL_OPTS) userInfoUrl?: string;
  @IsOptional() @IsString() @MaxLength(200) accountIdClaim?: string;
  @IsOptional() @IsBoolean() pkce?: boolean;
  @IsOptional() @IsIn([' ', ',']) scopeSeparator?: ' ' | ',';
  @IsOptional() @IsIn(['client_secret_post', 'client_secret_basic']) tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  @IsOptional() @IsString() @MaxLength(500) issuer?: string;
  /** The provider's refresh tokens expire after this many days without use (Microsoft: 90). */
  @IsOptional() @IsInt() @Min(1) @Max(3650) refreshTokenIdleDays?: number;
  // custom API token
  @IsOptional() @IsUrl(URL_OPTS) validationUrl?: string;
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9-]{1,100}$/) tokenHeader?: string;
  @IsOptional() @IsString() @MaxLength(100) tokenPrefix?: string;
  @IsOptional() @IsString() @MaxLength(200) accountIdField?: string;
  // package definition (which scopes integrations of this provider need)
  @IsOptional() @IsInt() @Min(1) @Max(1_000_000) packageVersion?: number;
  @IsOptional() @IsArray() @IsString({ each: true }) @MaxLength(200, { each: true }) requiredScopes?: string[];
}
