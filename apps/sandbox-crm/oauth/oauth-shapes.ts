import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DATA_CENTER_REGIONS, DataCenterRegion } from '../accounts/crm-model';
import { IssuedTokens, OAuthProvider, TokenFailure, TokenFailureReason } from './oauth-model';
import type { RawParams } from './oauth-params';
import { salesforceOrgId, salesforceUserId } from './provider-identities';

/** A response in a shape's own wire format. */
export interface WireResponse {
  status: number;
  body: unknown;
}

export interface TokenResponseContext {
  /** `http://host:port` the token request arrived at. */
  baseUrl: string;
  /** Data center of the accounts server that answered (Zoho), else null. */
  region: DataCenterRegion | null;
}

/**
 * Everything that differs between the CRM OAuth dialects. The flow itself (validation, codes,
 * PKCE, rotation, reuse detection) lives once, in the authorization and token-grant services.
 */
export interface OAuthShape {
  provider: OAuthProvider;
  displayName: string;
  /** Paths relative to the sandbox base URL; `region` only matters for Zoho. */
  paths(region: DataCenterRegion): { authorize: string; consent: string };
  /** Splits a `scope` parameter in this shape's format (lenient on input). */
  parseScopes(raw: string): string[];
  /** Granted when the request names no scopes and the client has none configured. */
  defaultScopes: string[];
  supportsRotation: boolean;
  defaultRotateRefreshTokens: boolean;
  /** `code_challenge_method` assumed when only `code_challenge` is sent (Salesforce: S256), or null to require it. */
  defaultChallengeMethod: 'S256' | null;
  /** Codes and refresh tokens are only redeemable at the accounts server of the user's data center. */
  regionBound: boolean;
  /** The token endpoint also reads its parameters from the query string, whatever the content type (Zoho). */
  acceptsQueryParams: boolean;
  offlineAccessRequested(params: RawParams): boolean;
  /** Whether a code exchange comes with a refresh token. */
  issuesRefreshToken(grant: { scopes: string[]; offline: boolean }): boolean;
  /** Parameters the authorization redirect carries besides `code` and `state`. */
  redirectExtras(context: { baseUrl: string; region: DataCenterRegion }): Array<[string, string]>;
  newClientCredentials(): { clientId: string; clientSecret: string };
  tokenSuccess(issued: IssuedTokens, context: TokenResponseContext): WireResponse;
  tokenError(failure: TokenFailure): WireResponse;
  /** Where an app talks to this shape, for the admin client view. */
  endpoints(baseUrl: string): Record<string, string>;
}

const splitOnWhitespace = (raw: string) => raw.split(/\s+/).filter(Boolean);
const splitOnCommaOrWhitespace = (raw: string) => raw.split(/[\s,]+/).filter(Boolean);

function expiresIn(issued: IssuedTokens): number {
  return Math.max(0, Math.round((issued.access.expiresAt - Date.now()) / 1000));
}

function rfcStatus(failure: TokenFailure): number {
  return failure.error === 'invalid_client' ? 401 : 400;
}

function missingParameter(failure: TokenFailure): string | null {
  return failure.reason === 'missing_parameter' ? (/Missing parameter: (\w+)/.exec(failure.description)?.[1] ?? null) : null;
}

function randomAlnum(length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

// ------------------------------------------------------------------ HubSpot

const HUBSPOT_STATUS: Partial<Record<TokenFailureReason, [status: string, message: string]>> = {
  client_auth_missing: ['BAD_CLIENT_ID', 'missing or invalid client id'],
  client_unknown: ['BAD_CLIENT_ID', 'missing or invalid client id'],
  client_mismatch: ['BAD_CLIENT_ID', 'missing or invalid client id'],
  client_secret_wrong: ['BAD_CLIENT_SECRET', 'missing or invalid client secret'],
  code_unknown: ['BAD_AUTH_CODE', 'missing or unknown auth code'],
  code_other_client: ['BAD_AUTH_CODE', 'missing or unknown auth code'],
  code_reused: ['BAD_AUTH_CODE', 'missing or unknown auth code'],
  code_expired: ['EXPIRED_AUTH_CODE', 'auth code is expired'],
  redirect_mismatch: ['MISMATCH_REDIRECT_URI_AUTH_CODE', 'redirect URI does not match initial auth code URL'],
  pkce_missing_verifier: ['BAD_CODE_VERIFIER', 'missing or invalid code verifier'],
  pkce_mismatch: ['BAD_CODE_VERIFIER', 'missing or invalid code verifier'],
  refresh_unknown: ['BAD_REFRESH_TOKEN', 'missing or invalid refresh token'],
  refresh_revoked: ['BAD_REFRESH_TOKEN', 'missing or invalid refresh token'],
  refresh_expired: ['BAD_REFRESH_TOKEN', 'missing or invalid refresh token'],
  refresh_reused: ['BAD_REFRESH_TOKEN', 'missing or invalid refresh token'],
  refresh_other_client: ['BAD_REFRESH_TOKEN', 'missing or invalid refresh token'],
  unsupported_grant_type: ['BAD_GRANT_TYPE', 'grant_type must be authorization_code or refresh_token'],
  invalid_scope: ['BAD_SCOPE', 'scope is not a subset of the granted scopes'],
};

const HUBSPOT_MISSING: Record<string, [string, string]> = {
  code: ['BAD_AUTH_CODE', 'missing or unknown auth code'],
  refresh_token: ['BAD_REFRESH_TOKEN', 'missing or invalid refresh token'],
  redirect_uri: ['BAD_REDIRECT_URI', 'missing or invalid redirect uri'],
  grant_type: ['BAD_GRANT_TYPE', 'missing or invalid grant type'],
};

const hubspot: OAuthShape = {
  provider: 'hubspot',
  displayName: 'HubSpot',
  paths: () => ({ authorize: '/hubspot/oauth/authorize', consent: '/hubspot/oauth/consent' }),
  parseScopes: splitOnWhitespace,
  defaultScopes: ['oauth'],
  supportsRotation: true,
  defaultRotateRefreshTokens: true,
  defaultChallengeMethod: null,
  regionBound: false,
  acceptsQueryParams: false,
  offlineAccessRequested: () => true,
  issuesRefreshToken: () => true,
  redirectExtras: () => [],
  newClientCredentials: () => ({ clientId: randomUUID(), clientSecret: randomUUID() }),
  tokenSuccess: (issued) => ({
    status: 200,
    body: {
      token_type: 'bearer',
      // HubSpot always answers with the refresh token to keep (the same one when it did not rotate).
      ...(issued.refresh ? { refresh_token: issued.refresh.token } : {}),
      access_token: issued.access.token,
      expires_in: expiresIn(issued),
    },
  }),
  tokenError: (failure) => {
    const parameter = missingParameter(failure);
    const [status, message] =
      (parameter ? HUBSPOT_MISSING[parameter] : undefined) ??
      (failure.reason === 'user_removed' || failure.reason === 'wrong_region'
        ? failure.grantType === 'refresh_token'
          ? HUBSPOT_STATUS.refresh_unknown!
          : HUBSPOT_STATUS.code_unknown!
        : HUBSPOT_STATUS[failure.reason]) ?? ['BAD_REQUEST', failure.description];
    return {
      status: rfcStatus(failure),
      body: { status, message, correlationId: randomUUID(), error: failure.error, error_description: failure.description },
    };
  },
  endpoints: (baseUrl) => ({
    authorizationUrl: `${baseUrl}/hubspot/oauth/authorize`,
    tokenUrl: `${baseUrl}/hubspot/oauth/v1/token`,
    accessTokenInfoUrl: `${baseUrl}/hubspot/oauth/v1/access-tokens/{token}`,
    refreshTokenInfoUrl: `${baseUrl}/hubspot/oauth/v1/refresh-tokens/{token}`,
    accountInfoUrl: `${baseUrl}/hubspot/account-info/v3/details`,
  }),
};

// --------------------------------------------------------------- Salesforce

const SALESFORCE_DESCRIPTION: Partial<Record<TokenFailureReason, string>> = {
  client_auth_missing: 'invalid client credentials',
  client_unknown: 'invalid client credentials',
  client_mismatch: 'invalid client credentials',
  client_secret_wrong: 'invalid client credentials',
  code_unknown: 'invalid authorization code',
  code_other_client: 'invalid authorization code',
  code_reused: 'invalid authorization code',
  wrong_region: 'invalid authorization code',
  code_expired: 'expired authorization code',
  redirect_mismatch: 'redirect_uri must match configuration',
  pkce_missing_verifier: 'invalid code verifier',
  pkce_mismatch: 'invalid code verifier',
  refresh_unknown: 'expired access/refresh token',
  refresh_revoked: 'expired access/refresh token',
  refresh_expired: 'expired access/refresh token',
  refresh_reused: 'expired access/refresh token',
  refresh_other_client: 'expired access/refresh token',
  user_removed: 'inactive user',
  unsupported_grant_type: 'grant type not supported',
};

/** Salesforce's `signature`: Base64 HMAC-SHA256 of `id + issued_at`, keyed with the client secret. */
function salesforceSignature(id: string, issuedAt: string, clientSecret: string): string {
  return createHmac('sha256', clientSecret).update(id + issuedAt).digest('base64');
}

export function salesforceIdentityUrl(baseUrl: string, issued: Pick<IssuedTokens, 'account' | 'user'>): string {
  return `${baseUrl}/salesforce/id/${salesforceOrgId(issued.account)}/${salesforceUserId(issued.user)}`;
}

const salesforce: OAuthShape = {
  provider: 'salesforce',
  displayName: 'Salesforce',
  paths: () => ({ authorize: '/salesforce/services/oauth2/authorize', consent: '/salesforce/services/oauth2/consent' }),
  parseScopes: splitOnWhitespace,
  defaultScopes: ['api', 'refresh_token'],
  supportsRotation: true,
  defaultRotateRefreshTokens: false,
  defaultChallengeMethod: 'S256',
  regionBound: false,
  acceptsQueryParams: false,
  offlineAccessRequested: () => true,
  // Like Salesforce: a refresh token only when the grant includes refresh_token (alias offline_access).
  issuesRefreshToken: ({ scopes }) => scopes.includes('refresh_token') || scopes.includes('offline_access'),
  redirectExtras: () => [],
  newClientCredentials: () => ({
    clientId: '3MVG9' + randomAlnum(80, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._'),
    clientSecret: randomBytes(32).toString('hex').toUpperCase(),
  }),
  tokenSuccess: (issued, { baseUrl }) => {
    const id = salesforceIdentityUrl(baseUrl, issued);
    const issuedAt = String(issued.access.issuedAt);
    return {
      status: 200,
      body: {
        access_token: issued.access.token,
        // Only a code exchange (or a refresh with rotation enabled on the app) hands one out.
        ...(issued.refresh && issued.refreshIsNew ? { refresh_token: issued.refresh.token } : {}),
        // An org's refresh token policy ("expire refresh token after …"), when the sandbox has one set.
        ...(issued.refresh && issued.refreshIsNew && issued.refresh.expiresAt !== null
          ? { refresh_token_expires_in: Math.max(0, Math.round((issued.refresh.expiresAt - Date.now()) / 1000)) }
          : {}),
        signature: salesforceSignature(id, issuedAt, issued.client.clientSecret),
        scope: issued.access.scopes.join(' '),
        instance_url: `${baseUrl}/salesforce`,
        id,
        token_type: 'Bearer',
        issued_at: issuedAt,
      },
    };
  },
  tokenError: (failure) => ({
    status: rfcStatus(failure),
    body: { error: failure.error, error_description: SALESFORCE_DESCRIPTION[failure.reason] ?? failure.description },
  }),
  endpoints: (baseUrl) => ({
    authorizationUrl: `${baseUrl}/salesforce/services/oauth2/authorize`,
    tokenUrl: `${baseUrl}/salesforce/services/oauth2/token`,
    userInfoUrl: `${baseUrl}/salesforce/services/oauth2/userinfo`,
    revokeUrl: `${baseUrl}/salesforce/services/oauth2/revoke`,
  }),
};

// ---------------------------------------------------------------- Pipedrive

const PIPEDRIVE_MESSAGE: Partial<Record<TokenFailureReason, string>> = {
  bad_content_type: 'Invalid request: content must be application/x-www-form-urlencoded',
  unsupported_grant_type: 'Unsupported grant type: grant_type is invalid',
  client_auth_missing: 'Invalid client: cannot retrieve client credentials',
  client_unknown: 'Invalid client: client is invalid',
  client_mismatch: 'Invalid client: client is invalid',
  client_secret_wrong: 'Invalid client: client is invalid',
  code_unknown: 'Invalid grant: authorization_code is invalid',
  code_other_client: 'Invalid grant: authorization_code is invalid',
  code_reused: 'Invalid grant: authorization_code is invalid',
  wrong_region: 'Invalid grant: authorization_code is invalid',
  code_expired: 'Invalid grant: authorization_code has expired',
  redirect_mismatch: 'Invalid request: redirect_uri is invalid',
  pkce_missing_verifier: 'Invalid grant: code_verifier is invalid',
  pkce_mismatch: 'Invalid grant: code_verifier is invalid',
  refresh_unknown: 'Invalid grant: refresh_token is invalid',
  refresh_revoked: 'Invalid grant: refresh_token is invalid',
  refresh_expired: 'Invalid grant: refresh_token is invalid',
  refresh_reused: 'Invalid grant: refresh_token is invalid',
  refresh_other_client: 'Invalid grant: refresh_token is invalid',
};

const pipedrive: OAuthShape = {
  provider: 'pipedrive',
  displayName: 'Pipedrive',
  paths: () => ({ authorize: '/pipedrive/oauth/authorize', consent: '/pipedrive/oauth/consent' }),
  parseScopes: splitOnCommaOrWhitespace,
  defaultScopes: ['base'],
  supportsRotation: true,
  defaultRotateRefreshTokens: true,
  defaultChallengeMethod: null,
  regionBound: false,
  acceptsQueryParams: false,
  offlineAccessRequested: () => true,
  issuesRefreshToken: () => true,
  redirectExtras: () => [],
  newClientCredentials: () => ({ clientId: randomBytes(8).toString('hex'), clientSecret: randomBytes(20).toString('hex') }),
  tokenSuccess: (issued, { baseUrl }) => ({
    status: 200,
    body: {
      access_token: issued.access.token,
      token_type: 'Bearer',
      ...(issued.refresh ? { refresh_token: issued.refresh.token } : {}),
      scope: issued.access.scopes.join(','),
      expires_in: expiresIn(issued),
      api_domain: `${baseUrl}/pipedrive`,
    },
  }),
  tokenError: (failure) => {
    const message =
      (failure.reason === 'user_removed'
        ? failure.grantType === 'refresh_token'
          ? PIPEDRIVE_MESSAGE.refresh_unknown
          : PIPEDRIVE_MESSAGE.code_unknown
        : PIPEDRIVE_MESSAGE[failure.reason]) ?? failure.description;
    return { status: rfcStatus(failure), body: { success: false, error: failure.error, error_description: message, message } };
  },
  endpoints: (baseUrl) => ({
    authorizationUrl: `${baseUrl}/pipedrive/oauth/authorize`,
    tokenUrl: `${baseUrl}/pipedrive/oauth/token`,
    revokeUrl: `${baseUrl}/pipedrive/oauth/revoke`,
    apiDomain: `${baseUrl}/pipedrive`,
    usersMeUrl: `${baseUrl}/pipedrive/api/v1/users/me`,
  }),
};

// --------------------------------------------------------------------- Zoho

/** Zoho words every token error as `{"error": "<code>"}` in an HTTP 200 body. */
function zohoErrorCode(failure: TokenFailure): string {
  switch (failure.reason) {
    case 'client_auth_missing':
    case 'client_unknown':
    case 'client_mismatch':
    case 'client_secret_wrong':
      return 'invalid_client';
    case 'redirect_mismatch':
      return 'invalid_redirect_uri';
    case 'unsupported_grant_type':
      return 'unsupported_grant_type';
    case 'invalid_scope':
      return 'invalid_scope';
    case 'missing_parameter': {
      const parameter = missingParameter(failure);
      if (parameter === 'code' || parameter === 'refresh_token') return 'invalid_code';
      if (parameter === 'redirect_uri') return 'invalid_redirect_uri';
      return 'invalid_request';
    }
    case 'duplicate_parameter':
    case 'bad_content_type':
      return 'invalid_request';
    default:
      // Unknown/expired/used/wrong-DC codes, bad PKCE verifiers and every refresh failure.
      return 'invalid_code';
  }
}

function zohoAccountsServer(baseUrl: string, region: DataCenterRegion): string {
  return `${baseUrl}/zoho/${region}/accounts`;
}

function zohoApiDomain(baseUrl: string, region: DataCenterRegion): string {
  return `${baseUrl}/zoho/${region}/api`;
}

const zoho: OAuthShape = {
  provider: 'zoho',
  displayName: 'Zoho CRM',
  paths: (region) => ({ authorize: `/zoho/${region}/accounts/oauth/v2/auth`, consent: `/zoho/${region}/accounts/oauth/v2/consent` }),
  parseScopes: splitOnCommaOrWhitespace,
  defaultScopes: ['ZohoCRM.users.READ', 'ZohoCRM.org.READ'],
  supportsRotation: false,
  defaultRotateRefreshTokens: false,
  defaultChallengeMethod: null,
  regionBound: true,
  acceptsQueryParams: true,
  // Like Zoho: refresh tokens only for access_type=offline (the default is online).
  offlineAccessRequested: (params) => params.access_type === 'offline',
  issuesRefreshToken: ({ offline }) => offline,
  redirectExtras: ({ baseUrl, region }) => [
    ['location', region],
    ['accounts-server', zohoAccountsServer(baseUrl, region)],
  ],
  newClientCredentials: () => ({ clientId: '1000.' + randomAlnum(30), clientSecret: randomBytes(21).toString('hex') }),
  tokenSuccess: (issued, { baseUrl, region }) => ({
    status: 200,
    body: {
      access_token: issued.access.token,
      ...(issued.grantType === 'authorization_code' && issued.refresh ? { refresh_token: issued.refresh.token } : {}),
      scope: issued.access.scopes.join(' '),
      api_domain: zohoApiDomain(baseUrl, region ?? issued.access.region),
      token_type: 'Bearer',
      expires_in: expiresIn(issued),
    },
  }),
  tokenError: (failure) => ({ status: 200, body: { error: zohoErrorCode(failure) } }),
  endpoints: (baseUrl) => ({
    authorizationUrl: `${zohoAccountsServer(baseUrl, 'us')}/oauth/v2/auth`,
    tokenUrl: `${zohoAccountsServer(baseUrl, '{region}' as DataCenterRegion)}/oauth/v2/token`,
    apiDomain: zohoApiDomain(baseUrl, '{region}' as DataCenterRegion),
    regions: DATA_CENTER_REGIONS.join(','),
  }),
};

export const SHAPES: Readonly<Record<OAuthProvider, OAuthShape>> = { hubspot, salesforce, pipedrive, zoho };
