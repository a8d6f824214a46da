import * as oauth from 'oauth4webapi';
import type { CrmIdentity } from '../domain/reauthorization';
import { EgressRefused, type EgressPolicy } from '../http/egress-policy';
import { getCrmJson, readPath } from './api-token-client';
import type { GrantRevocation, OAuth2Definition, Region } from './catalog';
import { accountIdFromAnswer, CrmError, type CrmUrlRole, idFromAnswer, isTransientStatus, parseRetryAfter, requestFailure } from './errors';
import { parseScopes } from './scopes';

export { parseScopes } from './scopes';

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
  /** When the answer says its refresh token expires (`refresh_token_expires_in`), else null. */
  refreshTokenExpiresAt: string | null;
  metadata: { apiBaseUrl?: string; region?: string; instanceUrl?: string };
}

/**
 * Token requests go through the egress policy (oauth4webapi's customFetch), which also decides
 * whether plain http is acceptable: it refuses it when CRM_MODE=production, and every destination
 * that is neither public nor allow-listed (or, for catalog providers, their configured origin).
 */
function requestOptions(egress: EgressPolicy): { [oauth.allowInsecureRequests]: true; [oauth.customFetch]: typeof egress.fetch; signal: AbortSignal } {
  return { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: egress.fetch, signal: AbortSignal.timeout(15_000) };
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
  if (!server) throw new CrmError('bad_response', 'the OAuth callback names an unknown data center');
  const claimed = params['accounts-server'];
  if (claimed && claimed.replace(/\/$/, '') !== server.accountsServer) {
    throw new CrmError('bad_response', 'the OAuth callback names an accounts server that does not match its data center');
  }
  return { region, server };
}

/**
 * Whether `url` lies under a trusted prefix: a scheme alone (`https://`, any host), or a URL whose
 * origin the candidate must share and whose path it must equal or continue after a `/`. Compared
 * on the parsed, normalised URL, so `https://api.example.com.evil.test` or `…/prefix/../admin`
 * are not "under" `https://api.example.com` or `…/prefix`.
 */
function isUnderPrefix(url: URL, prefix: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\/$/i.test(prefix)) return url.protocol === prefix.slice(0, -2).toLowerCase();
  let base: URL;
  try {
    base = new URL(prefix);
  } catch {
    return false;
  }
  const basePath = base.pathname.replace(/\/$/, '');
  const path = url.pathname.replace(/\/$/, '');
  return url.origin === base.origin && (path === basePath || path.startsWith(`${basePath}/`));
}

/** An API base URL a token response names, if the provider trusts it: no credentials, query or fragment, under a trusted prefix. */
export function trustedApiBase(def: Pick<OAuth2Definition, 'trustedApiPrefixes'>, candidate: unknown): string | undefined {
  if (typeof candidate !== 'string' || candidate === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(candidate);
  } catch {
    url = undefined;
  }
  const prefixes = def.trustedApiPrefixes ?? [];
  if (!url || url.username || url.password || url.search || url.hash || !prefixes.some((p) => isUnderPrefix(url, p))) {
    throw new CrmError('bad_response', 'the token response names an untrusted API host');
  }
  return `${url.origin}${url.pathname.replace(/\/$/, '')}`;
}

/** OAuth error codes we name in messages; any other `error` value of an answer is not repeated. */
const KNOWN_OAUTH_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'invalid_code',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'invalid_token',
]);

function oauthErrorCode(code: unknown): string {
  return typeof code === 'string' && KNOWN_OAUTH_ERRORS.has(code) ? code : 'an unrecognised error code';
}

/** The answer's `error_description`, bounded, for classification only (see CrmError.remoteDescription). */
function remoteDescription(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 500) : undefined;
}

/** Network errors, egress refusals and oauth4webapi's errors, classified like every other CRM failure; messages are ours. */
function classifyOAuthError(err: unknown, role: CrmUrlRole = 'token URL'): CrmError {
  if (err instanceof CrmError) return err;
  if (err instanceof EgressRefused) return requestFailure(err, role);
  if (err instanceof oauth.ResponseBodyError) {
    const code = oauthErrorCode(err.error);
    if (err.error === 'invalid_grant' || err.error === 'invalid_code') {
      return new CrmError('invalid_grant', `the token endpoint refused the grant (${err.status}, ${code})`, err.status, undefined, remoteDescription(err.error_description));
    }
    if (err.error === 'invalid_client' || err.error === 'unauthorized_client') return new CrmError('invalid_client', `the token endpoint refused the client (${err.status}, ${code})`, err.status);
    if (isTransientStatus(err.status) || err.error === 'temporarily_unavailable') return tokenEndpointUnavailable(err.status, err.response.headers);
    return new CrmError('bad_response', `the token endpoint answered ${err.status} (${code})`, err.status);
  }
  const e = err as { name?: string; code?: string };
  if (e?.code === oauth.RESPONSE_IS_NOT_CONFORM || e?.code === oauth.RESPONSE_IS_NOT_JSON) {
    const response = (err as { cause?: Response }).cause;
    const status = response?.status;
    if (response && status && isTransientStatus(status)) return tokenEndpointUnavailable(status, response.headers);
    return new CrmError('bad_response', `the token endpoint's answer was not understood (${status ?? 'no status'})`, status);
  }
  // Issuer, ID-token or response-shape checks failing mean the provider is set up wrong, not that
  // the person did something wrong: an admin has to fix the provider settings.
  if (e?.code && String(e.code).startsWith('OAUTH_')) return new CrmError('invalid_client', `OAuth response rejected (${e.code})`);
  // What is left: fetch's TypeError for an unsendable request, an interrupted request, or a
  // TypeError of oauth4webapi about its input; none of their texts is repeated.
  return requestFailure(err, role);
}

/** A token endpoint's "try again later" answer, carrying its Retry-After. */
function tokenEndpointUnavailable(status: number, headers: Headers): CrmError {
  return new CrmError('transient', `the token endpoint answered ${status}`, status, parseRetryAfter(headers.get('retry-after')));
}

/**
 * Before oauth4webapi reads a token response: a "try again later" status is a transient error, and
 * Zoho's token errors, answered with HTTP 200 and `{"error": "..."}`, become proper errors.
 */
async function rejectUnusableTokenResponse(res: Response): Promise<void> {
  if (isTransientStatus(res.status)) throw tokenEndpointUnavailable(res.status, res.headers);
  if (res.status !== 200) return;
  const body = (await res.clone().json().catch(() => null)) as { error?: string } | null;
  if (body && typeof body.error === 'string' && !('access_token' in body)) {
    const grantRefused = body.error === 'invalid_code' || body.error === 'invalid_grant';
    throw new CrmError(grantRefused ? 'invalid_grant' : 'bad_response', `the token endpoint answered 200 with ${oauthErrorCode(body.error)}`, 200);
  }
}

/**
 * The token set of a token response. An API base URL the response names (Salesforce
 * `instance_url`, Pipedrive and Zoho `api_domain`) is CRM input: it must be under one of the
 * provider's trusted prefixes, and the egress policy must not refuse it, before it is stored.
 */
async function toTokenSet(egress: EgressPolicy, def: OAuth2Definition, t: oauth.TokenEndpointResponse, region: string | null, regionServer: Region | null): Promise<TokenSet> {
  const apiBase =
    (regionServer ? trustedApiBase({ ...def, trustedApiPrefixes: [regionServer.apiDomain] }, t.api_domain ?? regionServer.apiDomain) : undefined) ??
    trustedApiBase(def, t.instance_url) ??
    trustedApiBase(def, t.api_domain) ??
    def.defaultApiBaseUrl;
  if (apiBase) {
    try {
      await egress.check(apiBase);
    } catch (err) {
      if (err instanceof EgressRefused) throw new CrmError('url_not_allowed', 'the token response names an API URL that is not allowed (egress policy)');
      throw err;
    }
  }
  const instanceUrl = typeof t.instance_url === 'string' ? trustedApiBase(def, t.instance_url) : undefined;
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token ?? null,
    expiresAt: typeof t.expires_in === 'number' ? new Date(Date.now() + t.expires_in * 1000).toISOString() : null,
    grantedScopes: parseScopes(t.scope),
    refreshTokenExpiresAt: statedRefreshTokenExpiry(t.refresh_token_expires_in),
    metadata: {
      ...(apiBase ? { apiBaseUrl: apiBase } : {}),
      ...(region ? { region } : {}),
      // Kept only as the checked API base it is; other URLs of the answer (Salesforce's identity
      // URL `id`) are not used, so not stored.
      ...(instanceUrl && instanceUrl === apiBase ? { instanceUrl } : {}),
    },
  };
}

/** `refresh_token_expires_in` (seconds, a number or a numeric string) as an instant; anything else is not a statement. */
function statedRefreshTokenExpiry(value: unknown): string | null {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  return new Date(Date.now() + seconds * 1000).toISOString();
}

/** Exchanges an authorization code (PKCE verifier when the provider uses PKCE). */
export async function exchangeAuthorizationCode(
  egress: EgressPolicy,
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
      requestOptions(egress),
    );
    await rejectUnusableTokenResponse(res);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res, { requireIdToken: false });
    return await toTokenSet(egress, def, tokens, region, server);
  } catch (err) {
    throw classifyOAuthError(err);
  }
}

/** Refresh-token grant; the answer may carry a rotated refresh token. */
export async function refreshAccessToken(egress: EgressPolicy, def: OAuth2Definition, app: OAuthApp, refreshToken: string, region: string | null): Promise<TokenSet> {
  try {
    const server = def.regions ? def.regions[region ?? def.defaultRegion ?? 'us'] : null;
    const tokenUrl = server ? `${server.accountsServer}/oauth/v2/token` : def.tokenUrl;
    const as = authorizationServer(def, tokenUrl);
    const client: oauth.Client = { client_id: app.clientId };
    const res = await oauth.refreshTokenGrantRequest(as, client, clientAuth(def, app), refreshToken, requestOptions(egress));
    await rejectUnusableTokenResponse(res);
    const tokens = await oauth.processRefreshTokenResponse(as, client, res);
    return await toTokenSet(egress, def, tokens, region, server ?? null);
  } catch (err) {
    throw classifyOAuthError(err);
  }
}

async function getJson(egress: EgressPolicy, url: string, headers: Record<string, string>, role: CrmUrlRole): Promise<unknown> {
  // HubSpot answers an unknown or dead token on its token-info endpoint with 404.
  return (await getCrmJson(egress, url, headers, { role, notFoundMeansInvalid: role === 'token info URL' })).body;
}

/**
 * Asks the CRM who an access token belongs to, in each provider's own API shape. The account id
 * must look like one (`invalid_account_id` otherwise); a user id that does not is left out.
 */
export async function whoAmIWithAccessToken(
  egress: EgressPolicy,
  def: OAuth2Definition,
  tokens: { accessToken: string; metadata: TokenSet['metadata'] },
): Promise<CrmIdentity> {
  const bearer = { authorization: `${def.tokenHeaderPrefix}${tokens.accessToken}` };
  switch (def.identity) {
    case 'hubspot_token_info': {
      const info = (await getJson(egress, `${def.identityUrl}/${encodeURIComponent(tokens.accessToken)}`, {}, 'token info URL')) as Record<string, unknown>;
      return {
        accountId: accountIdFromAnswer(info?.hub_id, 'hub_id'),
        userId: idFromAnswer(info?.user_id) ?? idFromAnswer(info?.user),
        scopes: parseScopes(info?.scopes) ?? [],
      };
    }
    case 'salesforce_userinfo': {
      const info = (await getJson(egress, def.identityUrl!, bearer, 'userinfo URL')) as Record<string, unknown>;
      return { accountId: accountIdFromAnswer(info?.organization_id, 'organization_id'), userId: idFromAnswer(info?.user_id), scopes: [] };
    }
    case 'pipedrive_users_me': {
      const base = tokens.metadata.apiBaseUrl ?? def.defaultApiBaseUrl;
      const info = (await getJson(egress, `${base}/api/v1/users/me`, bearer, 'API URL')) as { data?: Record<string, unknown> };
      return { accountId: accountIdFromAnswer(info?.data?.company_id, 'data.company_id'), userId: idFromAnswer(info?.data?.id), scopes: [] };
    }
    case 'zoho_org': {
      const region = tokens.metadata.region ?? def.defaultRegion ?? 'us';
      const base = tokens.metadata.apiBaseUrl ?? def.regions?.[region]?.apiDomain;
      const org = (await getJson(egress, `${base}/crm/v2/org`, bearer, 'API URL')) as { org?: Array<Record<string, unknown>> };
      const accountId = accountIdFromAnswer(org?.org?.[0]?.id, 'org.0.id');
      const users = (await getJson(egress, `${base}/crm/v2/users?type=CurrentUser`, bearer, 'API URL')) as { users?: Array<Record<string, unknown>> };
      return { accountId, userId: idFromAnswer(users?.users?.[0]?.id), scopes: [] };
    }
    case 'userinfo': {
      const claim = def.accountIdClaim ?? 'sub';
      const info = await getJson(egress, def.identityUrl!, { authorization: `Bearer ${tokens.accessToken}` }, 'userinfo URL');
      return {
        accountId: accountIdFromAnswer(readPath(info, claim), claim),
        userId: idFromAnswer(readPath(info, 'sub')),
        scopes: parseScopes(readPath(info, 'scope')) ?? [],
      };
    }
  }
}

/** What a revocation request achieved: the grant is gone now, or it was not live any more (unknown, already revoked). */
export type RevocationOutcome = 'revoked' | 'not_live';

/**
 * Revokes a refresh token — and with it the grant it belongs to — the way the provider does it
 * (see {@link GrantRevocation}). Throws `CrmError`: `transient` (network, 429, 5xx; with
 * Retry-After) to retry, anything else is an answer we do not understand. Never follows a redirect,
 * never repeats the answer's body; the token goes in the request only (a path segment for HubSpot,
 * as its API wants, else the body or the query string the provider reads it from).
 */
export async function revokeRefreshToken(
  egress: EgressPolicy,
  def: OAuth2Definition,
  revocation: GrantRevocation,
  app: OAuthApp,
  refreshToken: string,
  region: string | null,
  timeoutMs = 15_000,
): Promise<RevocationOutcome> {
  const base = def.regions ? def.regions[region ?? def.defaultRegion ?? 'us']?.accountsServer : '';
  if (base === undefined) throw new CrmError('bad_response', 'the credentials name an unknown data center');
  let url: string;
  const init: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number } = { method: 'POST', headers: { accept: 'application/json' }, timeoutMs };
  switch (revocation.kind) {
    case 'hubspot_delete':
      url = `${revocation.url}/${encodeURIComponent(refreshToken)}`;
      init.method = 'DELETE';
      break;
    case 'form_post':
      url = revocation.url;
      init.headers['content-type'] = 'application/x-www-form-urlencoded';
      init.body = new URLSearchParams({ token: refreshToken }).toString();
      if (revocation.clientAuth === 'client_secret_basic') {
        init.headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString('base64')}`;
      }
      break;
    case 'query_post':
      url = `${base}${revocation.url}?${new URLSearchParams({ token: refreshToken }).toString()}`;
      break;
  }
  let res: Response;
  let text: string;
  try {
    res = await egress.fetch(url, init);
    text = await res.text();
  } catch (err) {
    throw requestFailure(err, 'token URL');
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null; // not JSON: judged by status alone
  }
  if (isTransientStatus(res.status)) throw new CrmError('transient', `the revocation endpoint answered ${res.status}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
  const error = (body as { error?: unknown } | null)?.error;
  switch (revocation.kind) {
    case 'hubspot_delete':
      if (res.status === 204 || res.status === 200) return 'revoked';
      if (res.status === 404) return 'not_live';
      break;
    case 'form_post':
      if (res.status === 200) return 'revoked';
      // Salesforce answers a token it does not know (or no longer knows) with 400 and one of these.
      if (res.status === 400 && (error === 'unsupported_token_type' || error === 'invalid_token')) return 'not_live';
      break;
    case 'query_post':
      // Zoho answers 200 either way and says in the body.
      if (res.status === 200 && (body as { status?: unknown } | null)?.status === 'success') return 'revoked';
      if (res.status === 200 && (error === 'invalid_token' || error === 'invalid_code')) return 'not_live';
      break;
  }
  throw new CrmError('bad_response', `the revocation endpoint answered ${res.status}${typeof error === 'string' ? ` (${oauthErrorCode(error)})` : ''}`, res.status);
}
