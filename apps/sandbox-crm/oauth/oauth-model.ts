import type { Account, DataCenterRegion, User } from '../accounts/crm-model';

/** The CRM OAuth2 dialects the sandbox speaks, each under its own path prefix. */
export const OAUTH_PROVIDERS = ['hubspot', 'salesforce', 'pipedrive', 'zoho'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

export const ACCESS_TOKEN_PREFIX = 'sbx_at_';
export const REFRESH_TOKEN_PREFIX = 'sbx_rt_';
export const AUTHORIZATION_CODE_PREFIX = 'sbx_ac_';

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
export const AUTHORIZATION_CODE_TTL_MS = 60_000;
export const PENDING_AUTHORIZATION_TTL_MS = 10 * 60_000;

/** A registered OAuth app ("connected app" / "public app" / "self client"). */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  provider: OAuthProvider;
  /** Shown on the consent page. */
  name: string;
  /** Exact-match list; the authorization endpoint never redirects anywhere else. */
  redirectUris: string[];
  requirePkce: boolean;
  /** null: the sandbox-wide default (`POST /admin/oauth/settings`). */
  accessTokenTtlSeconds: number | null;
  rotateRefreshTokens: boolean;
  /** Scopes granted when an authorization request names none (Pipedrive configures scopes on the app). */
  scopes: string[] | null;
  /** HubSpot `app_id`. */
  appId: number;
  createdAt: string;
  updatedAt: string;
}

/** An authorization request waiting on the consent page. */
export interface PendingAuthorization {
  id: string;
  provider: OAuthProvider;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string | null;
  /** Zoho `access_type=offline`; the other shapes always ask for offline access. */
  offline: boolean;
  /** Where the request arrived; redirect extras (Zoho `accounts-server`) are built from it. */
  baseUrl: string;
  expiresAt: number;
}

export interface AuthorizationCode {
  code: string;
  provider: OAuthProvider;
  clientId: string;
  redirectUri: string;
  userId: string;
  accountId: string;
  /** The user's data center when the code was issued; Zoho redeems it only there. */
  region: DataCenterRegion;
  scopes: string[];
  codeChallenge: string | null;
  offline: boolean;
  expiresAt: number;
  used: boolean;
  /** Tokens issued from this code, revoked together if the code is replayed. */
  familyId: string | null;
}

/** Every token descending from one authorization code; revoked as a unit on replay or reuse. */
export interface TokenFamily {
  id: string;
  provider: OAuthProvider;
  clientId: string;
  userId: string;
  accountId: string;
  accessTokens: string[];
  refreshTokens: string[];
  revoked: boolean;
  createdAt: number;
}

interface IssuedTokenBase {
  token: string;
  familyId: string;
  provider: OAuthProvider;
  clientId: string;
  userId: string;
  accountId: string;
  region: DataCenterRegion;
  scopes: string[];
  issuedAt: number;
  revoked: boolean;
}

export interface AccessTokenRecord extends IssuedTokenBase {
  expiresAt: number;
}

export interface RefreshTokenRecord extends IssuedTokenBase {
  /** Set when rotation replaced it; presenting it again is reuse. */
  used: boolean;
  /** When it stops working by itself (`refreshTokenTtlSeconds`), or null: never. */
  expiresAt: number | null;
  /** When rotation replaced it (ms since epoch), and by which refresh token: the reuse grace period starts then. */
  usedAt?: number;
  successor?: string;
}

/** What one successful token request produced; shapes render it in their own fields. */
export interface IssuedTokens {
  grantType: 'authorization_code' | 'refresh_token';
  access: AccessTokenRecord;
  /** The family's live refresh token after this grant (new when just issued or rotated), or null if none. */
  refresh: RefreshTokenRecord | null;
  refreshIsNew: boolean;
  client: OAuthClient;
  user: User;
  account: Account;
}

/** RFC 6749 §5.2 error codes the token endpoint produces. */
type TokenErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_scope';

/** Why a token request failed, finer than the RFC code; shapes word their errors from it. */
export type TokenFailureReason =
  | 'missing_parameter'
  | 'duplicate_parameter'
  | 'bad_content_type'
  | 'unsupported_grant_type'
  | 'client_auth_missing'
  | 'client_unknown'
  | 'client_secret_wrong'
  | 'client_mismatch'
  | 'code_unknown'
  | 'code_expired'
  | 'code_reused'
  | 'code_other_client'
  | 'wrong_region'
  | 'redirect_mismatch'
  | 'pkce_missing_verifier'
  | 'pkce_mismatch'
  | 'refresh_unknown'
  | 'refresh_revoked'
  | 'refresh_expired'
  | 'refresh_reused'
  | 'refresh_other_client'
  | 'user_removed'
  | 'invalid_scope';

export interface TokenFailure {
  error: TokenErrorCode;
  reason: TokenFailureReason;
  description: string;
  /** The grant the request asked for, when known (shapes word code and refresh errors differently). */
  grantType: 'authorization_code' | 'refresh_token' | null;
}

/** Why an access token was not accepted by a who-am-I or REST call. */
export type AccessTokenRejection = 'missing' | 'unknown' | 'revoked' | 'expired' | 'user_removed' | 'wrong_region';
