import * as oauth from 'oauth4webapi';
import type { CrmIdentity } from '../domain/reauthorization';
import { getCrmJson, readPath } from './api-token-client';
import type { OAuth2Definition, Region } from './catalog';
import { CrmError, parseRetryAfter } from './errors';

/** A tenant's OAuth app at a provider. */
export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  scopes?: string[];
}

/** What a token endpoint gave us; `metadata` holds the non-secret facts worth keeping. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: string | null;
  /** Scopes the token endpoint says were granted, or null when it does not say. */
  grantedScopes: string[] | null;
  metadata: { apiBaseUrl?: string; region?: string; instanceUrl?: string; identityUrl?: string };
}

/** Loopback URLs (sandbox, tests) may be plain http; anything else must be https. */
function isLoopback(url: string): boolean {
  try {
    const { hostname } = new URL(url);
    return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
  } catch {
    return false;
  }
}

function requestOptions(url: string): { [oauth.allowInsecureRequests]?: boolean; signal: AbortSignal } {
  return { ...(isLoopback(url) ? { [oauth.allowInsecureRequests]: true } : {}), signal: AbortSignal.timeout(15_000) };
}

function authorizationServer(def: OAuth2Definition, tokenUrl = def.tokenUrl): oauth.AuthorizationServer {
  return {
    issuer: def.issuer ?? new URL(def.authorizationUrl).origin,
    authorization_endpoint: def.authorizationUrl,
    token_endpoint: tokenUrl,
    userinfo_endpoint: def.identityUrl,
  };
}

function clientAuth(def: OAuth2Definition, app: OAuthApp): oauth.ClientAuth {
  return def.clientAuth === 'client_secret_basic' ? oauth.ClientSecretBasic(app.clientSecret) : oauth.ClientSecretPost(app.clientSecret);
}

export function parseScopes(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return null;
  return value.split(/[\s,]+/).filter(Boolean);
}

export function generatePkceVerifier(): string {
  return oauth.generateRandomCodeVerifier();
}

export function generateState(): string {
  return oauth.generateRandomState();
}

/** The CRM consent URL for one authorization attempt. */
export async function buildAuthorizationUrl(
  def: OAuth2Definition,
  app: OAuthApp,
  args: { redirectUri: string; scopes: string[]; state: string; codeVerifier: string | null },
): Promise<string> {
  const url = new URL(def.authorizationUrl);
  url.searchParams.set('client_id', app.clientId);
  url.searchParams.set('redirect_uri', args.redirectUri);
  url.searchParams.set('response_type', 'code');
  if (args.scopes.length) url.searchParams.set('scope', args.scopes.join(def.scopeSeparator));
  url.searchParams.set('state', args.state);
  if (def.pkce && args.codeVerifier) {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(args.codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  for (const [k, v] of Object.entries(def.extraAuthorizationParams ?? {})) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * For data-center-aware providers (Zoho) the callback names the user's region and accounts server;
 * only a known pair is accepted — the callback must not be able to send our client secret elsewhere.
 */
export function regionFromCallback(def: OAuth2Definition, params: Record<string, string>): { region: string | null; server: Region | null } {
  if (!def.regions) return { region: null, server: null };
  const region = params.location ?? def.defaultRegion ?? 'us';
  const server = def.regions[region];
  if (!server) throw new CrmError('bad_response', `unknown data center "${region}" in the OAuth callback`);
  const claimed = params['accounts-server'];
  if (claimed && claimed.replace(/\/$/, '') !== server.accountsServer) {
    throw new CrmError('bad_response', 'the OAuth callback names an accounts server that does not match its data center');
  }
  return { region, server };
}

function trustedApiBase(def: OAuth2Definition, candidate: unknown): string | undefined {
  if (typeof candidate !== 'string' || candidate === '') return undefined;
  const prefixes = def.trustedApiPrefixes ?? [];
  if (!prefixes.some((p) => candidate.startsWith(p))) {
    throw new CrmError('bad_response', `token response names an untrusted API host`);
  }
  return candidate.replace(/\/$/, '');
}

/** Network errors and oauth4webapi's errors, classified like every other CRM failure. */
function classifyOAuthError(err: unknown): CrmError {
  if (err instanceof CrmError) return err;
  if (err instanceof oauth.ResponseBodyError) {
    if (err.error === 'invalid_grant' || err.error === 'invalid_code') return new CrmError('invalid_grant', err.error_description ?? err.error, err.status);
    if (err.error === 'invalid_client' || err.error === 'unauthorized_client') return new CrmError('invalid_client', err.error, err.status);
    if (err.status === 429 || err.status >= 500 || err.error === 'temporarily_unavailable') {
      return new CrmError('transient', `token endpoint answered ${err.status}`, err.status, parseRetryAfter(err.response.headers.get('retry-after')));
    }
    return new CrmError('bad_response', `token endpoint error ${err.error}`, err.status);
  }
  const e = err as { name?: string; code?: string; cause?: { status?: number } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || (err as Error)?.message === 'fetch failed') {
    return new CrmError('transient', `token endpoint unreachable: ${e.name}`);
  }
  if (e?.code === oauth.RESPONSE_IS_NOT_CONFORM || e?.code === oauth.RESPONSE_IS_NOT_JSON) {
    const status = (err as { cause?: Response }).cause?.status;
    if (status && (status === 429 || status >= 500)) {
      return new CrmError('transient', `token endpoint answered ${status}`, status, parseRetryAfter((err as { cause: Response }).cause.headers.get('retry-after')));
    }
    return new CrmError('bad_response', `token endpoint answer not understood (${status ?? 'no status'})`, status);
  }
  // Issuer, ID-token or response-shape checks failing mean the provider is set up wrong, not that
  // the person did something wrong: an admin has to fix the provider settings.
  if (e?.code && String(e.code).startsWith('OAUTH_')) return new CrmError('invalid_client', `OAuth response rejected (${e.code})`);
  return new CrmError('bad_response', `token endpoint answer not understood: ${(err as Error)?.message ?? String(err)}`);
}

/** Zoho answers token errors with HTTP 200 and `{"error": "..."}`; turn that into a proper error first. */
async function rejectErrorInOkBody(res: Response): Promise<void> {
  if (res.status !== 200) return;
  const body = (await res.clone().json().catch(() => null)) as { error?: string } | null;
  if (body && typeof body.error === 'string' && !('access_token' in body)) {
    throw new CrmError(body.error === 'invalid_code' || body.error === 'invalid_grant' ? 'invalid_grant' : 'bad_response', `token endpoint error ${body.error}`, 200);
  }
}

function toTokenSet(def: OAuth2Definition, t: oauth.TokenEndpointResponse, region: string | null, regionServer: Region | null): TokenSet {
  const apiBase =
    (regionServer ? trustedApiBase({ ...def, trustedApiPrefixes: [regionServer.apiDomain] }, t.api_domain ?? regionServer.apiDomain) : undefined) ??
    trustedApiBase(def, t.instance_url) ??
    trustedApiBase(def, t.api_domain) ??
    def.defaultApiBaseUrl;
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token ?? null,
    expiresAt: typeof t.expires_in === 'number' ? new Date(Date.now() + t.expires_in * 1000).toISOString() : null,
    grantedScopes: parseScopes(t.scope),
    metadata: {
      ...(apiBase ? { apiBaseUrl: apiBase } : {}),
      ...(region ? { region } : {}),
      ...(typeof t.instance_url === 'string' ? { instanceUrl: t.instance_url } : {}),
      ...(typeof t.id === 'string' ? { identityUrl: t.id } : {}),
    },
  };
}

/** Exchanges an authorization code (PKCE verifier when the provider uses PKCE). */
export async function exchangeAuthorizationCode(
  def: OAuth2Definition,
  app: OAuthApp,
  args: { code: string; redirectUri: string; codeVerifier: string | null; callbackParams: Record<string, string> },
): Promise<TokenSet> {
  try {
    const { region, server } = regionFromCallback(def, args.callbackParams);
    const tokenUrl = server ? `${server.accountsServer}/oauth/v2/token` : def.tokenUrl;
    const as = authorizationServer(def, tokenUrl);
    const client: oauth.Client = { client_id: app.clientId };
    // oauth4webapi only redeems callback parameters that went through validateAuthResponse. `state`
    // was already checked (by hash) before the code reached the workflow; an `iss` the CRM sent
    // (RFC 9207) must name this provider's issuer.
    const params = oauth.validateAuthResponse(
      as,
      client,
      new URLSearchParams({ code: args.code, ...(args.callbackParams.iss ? { iss: args.callbackParams.iss } : {}) }),
      oauth.skipStateCheck,
    );
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth(def, app),
      params,
      args.redirectUri,
      def.pkce && args.codeVerifier ? args.codeVerifier : oauth.nopkce,
      requestOptions(tokenUrl),
    );
    await rejectErrorInOkBody(res);
    if (res.status === 429 || res.status >= 500) {
      throw new CrmError('transient', `token endpoint answered ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
    }
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { requireIdToken: false });
    return toTokenSet(def, tokens, region, server);
  } catch (err) {
    throw classifyOAuthError(err);
  }
}

/** Refresh-token grant; the answer may carry a rotated refresh token. */
export async function refreshAccessToken(def: OAuth2Definition, app: OAuthApp, refreshToken: string, region: string | null): Promise<TokenSet> {
  try {
    const server = def.regions ? def.regions[region ?? def.defaultRegion ?? 'us'] : null;
    const tokenUrl = server ? `${server.accountsServer}/oauth/v2/token` : def.tokenUrl;
    const as = authorizationServer(def, tokenUrl);
    const client: oauth.Client = { client_id: app.clientId };
    const res = await oauth.refreshTokenGrantRequest(as, client, clientAuth(def, app), refreshToken, requestOptions(tokenUrl));
    await rejectErrorInOkBody(res);
    if (res.status === 429 || res.status >= 500) {
      throw new CrmError('transient', `token endpoint answered ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
    }
    const tokens = await oauth.processRefreshTokenResponse(as, client, res);
    return toTokenSet(def, tokens, region, server ?? null);
  } catch (err) {
    throw classifyOAuthError(err);
  }
}

async function getJson(url: string, headers: Record<string, string>): Promise<unknown> {
  // HubSpot answers an unknown or dead token on its token-info endpoint with 404.
  return (await getCrmJson(url, headers, { notFoundMeansInvalid: url.includes('/access-tokens/') })).body;
}

function idOf(v: unknown): string | null {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
}

/** Asks the CRM who an access token belongs to, in each provider's own API shape. */
export async function whoAmIWithAccessToken(
  def: OAuth2Definition,
  tokens: { accessToken: string; metadata: TokenSet['metadata'] },
): Promise<CrmIdentity> {
  const bearer = { authorization: `${def.tokenHeaderPrefix}${tokens.accessToken}` };
  let accountId: string | null = null;
  let userId: string | null = null;
  let scopes: string[] = [];
  switch (def.identity) {
    case 'hubspot_token_info': {
      const info = (await getJson(`${def.identityUrl}/${encodeURIComponent(tokens.accessToken)}`, {})) as Record<string, unknown>;
      accountId = idOf(info?.hub_id);
      userId = idOf(info?.user_id) ?? idOf(info?.user);
      scopes = parseScopes(info?.scopes) ?? [];
      break;
    }
    case 'salesforce_userinfo': {
      const info = (await getJson(def.identityUrl!, bearer)) as Record<string, unknown>;
      accountId = idOf(info?.organization_id);
      userId = idOf(info?.user_id);
      break;
    }
    case 'pipedrive_users_me': {
      const base = tokens.metadata.apiBaseUrl ?? def.defaultApiBaseUrl;
      const info = (await getJson(`${base}/api/v1/users/me`, bearer)) as { data?: Record<string, unknown> };
      accountId = idOf(info?.data?.company_id);
      userId = idOf(info?.data?.id);
      break;
    }
    case 'zoho_org': {
      const region = tokens.metadata.region ?? def.defaultRegion ?? 'us';
      const base = tokens.metadata.apiBaseUrl ?? def.regions?.[region]?.apiDomain;
      const org = (await getJson(`${base}/crm/v2/org`, bearer)) as { org?: Array<Record<string, unknown>> };
      accountId = idOf(org?.org?.[0]?.id);
      const users = (await getJson(`${base}/crm/v2/users?type=CurrentUser`, bearer)) as { users?: Array<Record<string, unknown>> };
      userId = idOf(users?.users?.[0]?.id);
      break;
    }
    case 'userinfo': {
      const info = await getJson(def.identityUrl!, { authorization: `Bearer ${tokens.accessToken}` });
      accountId = idOf(readPath(info, def.accountIdClaim ?? 'sub'));
      userId = idOf(readPath(info, 'sub'));
      scopes = parseScopes(readPath(info, 'scope')) ?? [];
      break;
    }
  }
  if (!accountId) throw new CrmError('bad_response', 'the CRM did not say which account the token belongs to');
  return { accountId, userId, scopes };
}
