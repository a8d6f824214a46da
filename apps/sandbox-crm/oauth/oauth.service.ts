import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AccountsStore } from '../accounts/accounts.store';
import { Account, DataCenterRegion, User } from '../accounts/crm-model';
import { UniqueNumberSource } from '../accounts/random-ids';
import { badRequest, conflict, notFound } from '../common/sandbox-error';
import {
  ACCESS_TOKEN_PREFIX,
  AccessTokenRecord,
  AccessTokenRejection,
  AUTHORIZATION_CODE_PREFIX,
  AUTHORIZATION_CODE_TTL_MS,
  AuthorizationCode,
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  OAuthClient,
  OAuthProvider,
  PENDING_AUTHORIZATION_TTL_MS,
  PendingAuthorization,
  REFRESH_TOKEN_PREFIX,
  RefreshTokenRecord,
  TokenFailure,
  TokenFailureReason,
  TokenFamily,
} from './oauth-model';
import { OAuthShape, SHAPES } from './oauth-shapes';

/** Request parameters as parsed from a query string or form body: repeated fields become arrays. */
export type RawParams = Record<string, unknown>;

export interface ClientInput {
  provider: OAuthProvider;
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  name?: string;
  requirePkce?: boolean;
  accessTokenTtlSeconds?: number;
  rotateRefreshTokens?: boolean;
  scopes?: string[];
}

export type AuthorizeOutcome =
  /** The request can't be trusted to redirect (unknown client, unregistered redirect_uri): show an error page. */
  | { kind: 'error_page'; error: string; description: string }
  /** A protocol error reported back to the client, RFC 6749 §4.1.2.1. */
  | { kind: 'redirect'; url: string }
  | { kind: 'consent'; request: PendingAuthorization; client: OAuthClient };

export interface ConsentInput {
  requestId: unknown;
  userId: unknown;
  decision: unknown;
  /** undefined: grant everything requested. An array (possibly empty): exactly these. */
  scopes: string[] | undefined;
}

export type ConsentOutcome = { kind: 'redirect'; url: string } | { kind: 'error'; code: string; message: string };

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

export type TokenOutcome = { ok: true; issued: IssuedTokens } | { ok: false; failure: TokenFailure };

export type AccessTokenResolution =
  | { ok: true; token: AccessTokenRecord; user: User; account: Account; client: OAuthClient }
  | { ok: false; rejection: AccessTokenRejection; token?: AccessTokenRecord };

export interface OAuthStats {
  authorizationCodesIssued: number;
  codeExchanges: number;
  refreshGrants: number;
  /** Replayed authorization codes plus reused (already rotated) refresh tokens. */
  reuseDetections: number;
  failedTokenRequests: number;
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const MAX_SCOPES = 100;
/** Used codes are remembered this long past expiry so a late replay is still detected. */
const USED_CODE_RETENTION_MS = 10 * 60_000;

/**
 * The sandbox's OAuth2 authorization server: clients, authorization requests, codes, token
 * families. One implementation for every provider shape; the shapes only differ in wire format
 * (see oauth-shapes.ts) and in a few policies (refresh rotation, data-center binding).
 */
@Injectable()
export class OAuthService {
  private readonly clients = new Map<string, OAuthClient>();
  private readonly pending = new Map<string, PendingAuthorization>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly families = new Map<string, TokenFamily>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  private readonly appIds = new UniqueNumberSource();
  private defaultAccessTokenTtlSeconds = DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  private stats: OAuthStats = emptyStats();
  private mutationsSincePrune = 0;

  constructor(private readonly accounts: AccountsStore) {}

  // ---------------------------------------------------------------- clients

  /** Creates a client, or updates the one with the same clientId (omitted fields keep their value). */
  upsertClient(input: ClientInput): OAuthClient {
    for (const uri of input.redirectUris) assertRedirectUri(uri);
    const now = new Date().toISOString();
    const existing = input.clientId === undefined ? undefined : this.clients.get(input.clientId);
    if (existing) {
      if (existing.provider !== input.provider) {
        throw conflict('client_provider_mismatch', `Client "${existing.clientId}" is a ${existing.provider} app, not ${input.provider}`);
      }
      existing.redirectUris = [...input.redirectUris];
      if (input.clientSecret !== undefined) existing.clientSecret = input.clientSecret;
      if (input.name !== undefined) existing.name = input.name;
      if (input.requirePkce !== undefined) existing.requirePkce = input.requirePkce;
      if (input.accessTokenTtlSeconds !== undefined) existing.accessTokenTtlSeconds = input.accessTokenTtlSeconds;
      if (input.rotateRefreshTokens !== undefined) existing.rotateRefreshTokens = this.rotationFor(input.provider, input.rotateRefreshTokens);
      if (input.scopes !== undefined) existing.scopes = [...input.scopes];
      existing.updatedAt = now;
      return existing;
    }
    const shape = SHAPES[input.provider];
    const credentials = shape.newClientCredentials();
    const client: OAuthClient = {
      clientId: input.clientId ?? credentials.clientId,
      clientSecret: input.clientSecret ?? credentials.clientSecret,
      provider: input.provider,
      name: input.name ?? `Sandbox ${shape.displayName} app`,
      redirectUris: [...input.redirectUris],
      requirePkce: input.requirePkce ?? false,
      accessTokenTtlSeconds: input.accessTokenTtlSeconds ?? null,
      rotateRefreshTokens: this.rotationFor(input.provider, input.rotateRefreshTokens),
      scopes: input.scopes ? [...input.scopes] : null,
      appId: this.appIds.next(),
      createdAt: now,
      updatedAt: now,
    };
    this.clients.set(client.clientId, client);
    return client;
  }

  getClient(clientId: string): OAuthClient {
    const client = this.clients.get(clientId);
    if (!client) throw notFound('oauth_client_not_found', `No OAuth client with id "${clientId}"`);
    return client;
  }

  listClients(): OAuthClient[] {
    return [...this.clients.values()];
  }

  /** Simulates the app being deleted/uninstalled: its tokens stop working at once. */
  deleteClient(clientId: string): OAuthClient {
    const client = this.getClient(clientId);
    this.clients.delete(clientId);
    return client;
  }

  effectiveTtlSeconds(client: OAuthClient): number {
    return client.accessTokenTtlSeconds ?? this.defaultAccessTokenTtlSeconds;
  }

  private rotationFor(provider: OAuthProvider, requested: boolean | undefined): boolean {
    const shape = SHAPES[provider];
    if (!shape.supportsRotation) return false;
    return requested ?? shape.defaultRotateRefreshTokens;
  }

  // ------------------------------------------------------ authorization

  /** Validates an authorization request (GET authorize) and parks it for the consent step. */
  beginAuthorization(shape: OAuthShape, params: RawParams, baseUrl: string): AuthorizeOutcome {
    const duplicated = Object.keys(params).filter((name) => Array.isArray(params[name]));
    const clientId = single(params, 'client_id');
    if (duplicated.includes('client_id')) return errorPage('invalid_request', 'client_id was given more than once');
    if (!clientId) return errorPage('invalid_request', 'The authorization request is missing client_id');
    const client = this.clients.get(clientId);
    if (!client || client.provider !== shape.provider) {
      return errorPage('invalid_client', `No ${shape.displayName} app with client_id "${clientId}" is registered`);
    }
    if (duplicated.includes('redirect_uri')) return errorPage('invalid_request', 'redirect_uri was given more than once');
    const redirectUri = single(params, 'redirect_uri');
    if (!redirectUri) return errorPage('invalid_request', 'The authorization request is missing redirect_uri');
    if (!client.redirectUris.includes(redirectUri)) {
      return errorPage('invalid_redirect_uri', `redirect_uri "${redirectUri}" is not registered for ${client.name}`);
    }

    // From here on the redirect URI is trusted: errors go back to the client.
    const state = single(params, 'state') ?? null;
    const fail = (error: string, description: string): AuthorizeOutcome => ({
      kind: 'redirect',
      url: withParams(redirectUri, [['error', error], ['error_description', description], ...stateParam(state)]),
    });
    if (duplicated.length > 0) return fail('invalid_request', `Parameter ${duplicated[0]} was given more than once`);

    const responseType = single(params, 'response_type');
    if (!responseType) return fail('invalid_request', 'response_type is required');
    if (responseType !== 'code') return fail('unsupported_response_type', `response_type "${responseType}" is not supported; use "code"`);

    const challenge = single(params, 'code_challenge') || null;
    const method = single(params, 'code_challenge_method') ?? (challenge ? shape.defaultChallengeMethod : undefined);
    if (method !== undefined && method !== null && !challenge) return fail('invalid_request', 'code_challenge_method was sent without code_challenge');
    if (challenge) {
      if (method !== 'S256') return fail('invalid_request', 'Only code_challenge_method=S256 is supported');
      if (!S256_CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be a base64url-encoded SHA-256 hash (43 characters)');
    } else if (client.requirePkce) {
      return fail('invalid_request', 'This app requires PKCE: send code_challenge and code_challenge_method=S256');
    }

    const requested = [...shape.parseScopes(single(params, 'scope') ?? ''), ...shape.parseScopes(single(params, 'optional_scope') ?? '')];
    const scopes = unique(requested.length > 0 ? requested : (client.scopes ?? shape.defaultScopes));
    const badScope = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
    if (badScope !== undefined) return fail('invalid_scope', `"${badScope}" is not a valid scope`);
    if (scopes.length > MAX_SCOPES) return fail('invalid_scope', `At most ${MAX_SCOPES} scopes may be requested`);

    const request: PendingAuthorization = {
      id: 'authreq_' + randomBytes(16).toString('hex'),
      provider: shape.provider,
      clientId: client.clientId,
      redirectUri,
      scopes,
      state,
      codeChallenge: challenge,
      offline: shape.offlineAccessRequested(params),
      baseUrl,
      expiresAt: Date.now() + PENDING_AUTHORIZATION_TTL_MS,
    };
    this.pending.set(request.id, request);
    this.noteMutation();
    return { kind: 'consent', request, client };
  }

  /** The pending request behind a consent page, if it is still live. */
  findPending(requestId: string): PendingAuthorization | undefined {
    const request = this.pending.get(requestId);
    return request && request.expiresAt > Date.now() ? request : undefined;
  }

  /** The user's answer on the consent page: a redirect with a code, or with access_denied. */
  completeAuthorization(provider: OAuthProvider, input: ConsentInput): ConsentOutcome {
    const requestId = typeof input.requestId === 'string' ? input.requestId : '';
    const request = this.findPending(requestId);
    if (!request || request.provider !== provider) {
      return consentError('authorization_request_expired', 'This authorization request has expired or was already answered. Start again from the app.');
    }
    const client = this.clients.get(request.clientId);
    if (!client) return consentError('invalid_client', 'The app that started this authorization request no longer exists.');

    if (input.decision !== 'allow' && input.decision !== 'deny') {
      return consentError('invalid_request', 'decision must be "allow" or "deny"');
    }
    if (input.decision === 'deny') {
      this.pending.delete(request.id);
      return {
        kind: 'redirect',
        url: withParams(request.redirectUri, [
          ['error', 'access_denied'],
          ['error_description', 'The user denied the authorization request'],
          ...stateParam(request.state),
        ]),
      };
    }

    const user = typeof input.userId === 'string' ? this.accounts.findUser(input.userId) : undefined;
    if (!user) return consentError('user_not_found', 'Choose a user to sign in as.');
    if (user.removed) return consentError('user_removed', `User "${user.id}" has been removed and cannot sign in.`);
    const account = this.accounts.getAccount(user.accountId);

    let granted = request.scopes;
    if (input.scopes !== undefined) {
      const extra = input.scopes.find((scope) => !request.scopes.includes(scope));
      if (extra !== undefined) return consentError('invalid_scope', `Scope "${extra}" was not requested, so it cannot be granted.`);
      granted = request.scopes.filter((scope) => input.scopes!.includes(scope));
    }

    this.pending.delete(request.id);
    const code: AuthorizationCode = {
      code: AUTHORIZATION_CODE_PREFIX + randomBytes(20).toString('hex'),
      provider: request.provider,
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      userId: user.id,
      accountId: account.id,
      region: account.region,
      scopes: [...granted],
      codeChallenge: request.codeChallenge,
      offline: request.offline,
      expiresAt: Date.now() + AUTHORIZATION_CODE_TTL_MS,
      used: false,
      familyId: null,
    };
    this.codes.set(code.code, code);
    this.stats.authorizationCodesIssued += 1;
    this.noteMutation();
    const shape = SHAPES[request.provider];
    return {
      kind: 'redirect',
      url: withParams(request.redirectUri, [
        ['code', code.code],
        ...stateParam(request.state),
        ...shape.redirectExtras({ baseUrl: request.baseUrl, region: account.region }),
      ]),
    };
  }

  /** Active users of every account, for the consent page's "Sign in as" list. */
  signInChoices(): Array<{ account: Account; users: User[] }> {
    return this.accounts
      .listAccounts()
      .map((account) => ({ account, users: this.accounts.listUsers(account.id, { includeRemoved: false }) }))
      .filter((entry) => entry.users.length > 0);
  }

  // ------------------------------------------------------------ tokens

  /**
   * The token endpoint. `region` is the data center whose accounts server received the request
   * (only the Zoho shape binds codes and refresh tokens to one).
   */
  token(shape: OAuthShape, region: DataCenterRegion | null, params: RawParams, authorization: string | undefined): TokenOutcome {
    const outcome = this.tokenUnchecked(shape, region, params, authorization);
    if (!outcome.ok) this.stats.failedTokenRequests += 1;
    return outcome;
  }

  private tokenUnchecked(shape: OAuthShape, region: DataCenterRegion | null, params: RawParams, authorization: string | undefined): TokenOutcome {
    const grantTypeRaw = single(params, 'grant_type');
    const grantType = grantTypeRaw === 'authorization_code' || grantTypeRaw === 'refresh_token' ? grantTypeRaw : null;
    const failWith = (error: TokenFailure['error'], reason: TokenFailureReason, description: string): TokenOutcome => ({
      ok: false,
      failure: { error, reason, description, grantType },
    });

    const duplicated = Object.keys(params).find((name) => Array.isArray(params[name]));
    if (duplicated !== undefined) return failWith('invalid_request', 'duplicate_parameter', `Parameter ${duplicated} was given more than once`);
    if (!grantTypeRaw) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: grant_type');

    const auth = this.authenticateClient(shape, params, authorization);
    if ('failure' in auth) return { ok: false, failure: { ...auth.failure, grantType } };
    const { client } = auth;

    if (grantType === 'authorization_code') return this.redeemCode(shape, region, client, params, failWith);
    if (grantType === 'refresh_token') return this.redeemRefreshToken(shape, region, client, params, failWith);
    return failWith('unsupported_grant_type', 'unsupported_grant_type', `grant_type "${grantTypeRaw}" is not supported; use authorization_code or refresh_token`);
  }

  authenticateClient(
    shape: OAuthShape,
    params: RawParams,
    authorization: string | undefined,
  ): { client: OAuthClient } | { failure: Omit<TokenFailure, 'grantType'> } {
    const invalidClient = (reason: TokenFailureReason, description: string) => ({ failure: { error: 'invalid_client' as const, reason, description } });
    const basic = parseBasicAuthorization(authorization);
    const bodyId = single(params, 'client_id');
    const bodySecret = single(params, 'client_secret');
    let clientId: string | undefined;
    let secret: string | undefined;
    if (basic) {
      if (bodyId !== undefined && bodyId !== basic.id) return invalidClient('client_mismatch', 'client_id in the body does not match the HTTP Basic credentials');
      if (bodySecret !== undefined && bodySecret !== basic.secret) return invalidClient('client_mismatch', 'client_secret in the body does not match the HTTP Basic credentials');
      clientId = basic.id;
      secret = basic.secret;
    } else {
      clientId = bodyId;
      secret = bodySecret;
    }
    if (!clientId || secret === undefined) {
      return invalidClient('client_auth_missing', 'Client authentication is missing: send client_id and client_secret in the body or as HTTP Basic credentials');
    }
    const client = this.clients.get(clientId);
    if (!client || client.provider !== shape.provider) return invalidClient('client_unknown', `Unknown client_id "${clientId}"`);
    if (!constantTimeEqual(secret, client.clientSecret)) return invalidClient('client_secret_wrong', 'Client authentication failed: wrong client_secret');
    return { client };
  }

  private redeemCode(
    shape: OAuthShape,
    region: DataCenterRegion | null,
    client: OAuthClient,
    params: RawParams,
    failWith: (error: TokenFailure['error'], reason: TokenFailureReason, description: string) => TokenOutcome,
  ): TokenOutcome {
    const codeValue = single(params, 'code');
    if (!codeValue) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: code');
    const redirectUri = single(params, 'redirect_uri');
    if (!redirectUri) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: redirect_uri');

    const code = this.codes.get(codeValue);
    if (!code || code.provider !== shape.provider) return failWith('invalid_grant', 'code_unknown', 'The authorization code is invalid');
    // A data center's accounts server only knows its own codes (Zoho).
    if (shape.regionBound && region !== code.region) {
      return failWith('invalid_grant', 'wrong_region', `The authorization code belongs to the "${code.region}" data center, not "${region}"`);
    }
    if (code.clientId !== client.clientId) return failWith('invalid_grant', 'code_other_client', 'The authorization code was issued to another client');
    if (code.used) {
      // RFC 6749 §4.1.2: a replayed code may mean it leaked; revoke what it produced.
      if (code.familyId) this.revokeFamily(code.familyId);
      this.stats.reuseDetections += 1;
      return failWith('invalid_grant', 'code_reused', 'The authorization code was already used; every token issued from it has been revoked');
    }
    if (code.expiresAt <= Date.now()) return failWith('invalid_grant', 'code_expired', 'The authorization code has expired');
    if (redirectUri !== code.redirectUri) {
      return failWith('invalid_grant', 'redirect_mismatch', 'redirect_uri does not match the one used in the authorization request');
    }
    if (code.codeChallenge) {
      const verifier = single(params, 'code_verifier');
      if (!verifier) return failWith('invalid_grant', 'pkce_missing_verifier', 'code_verifier is required: the authorization request carried a code_challenge');
      if (!VERIFIER.test(verifier) || !constantTimeEqual(s256(verifier), code.codeChallenge)) {
        return failWith('invalid_grant', 'pkce_mismatch', 'code_verifier does not match the code_challenge');
      }
    }
    const user = this.accounts.findUser(code.userId);
    const account = this.accounts.findAccount(code.accountId);
    if (!user || !account || user.removed) return failWith('invalid_grant', 'user_removed', 'The user who approved this authorization has been removed');

    code.used = true;
    const family: TokenFamily = {
      id: 'fam_' + randomBytes(8).toString('hex'),
      provider: code.provider,
      clientId: client.clientId,
      userId: user.id,
      accountId: account.id,
      accessTokens: [],
      refreshTokens: [],
      revoked: false,
    };
    this.families.set(family.id, family);
    code.familyId = family.id;

    const access = this.issueAccessToken(family, client, account.region, code.scopes);
    const refresh = shape.issuesRefreshToken({ scopes: code.scopes, offline: code.offline })
      ? this.issueRefreshToken(family, account.region, code.scopes)
      : null;
    this.stats.codeExchanges += 1;
    this.noteMutation();
    return { ok: true, issued: { grantType: 'authorization_code', access, refresh, refreshIsNew: refresh !== null, client, user, account } };
  }

  private redeemRefreshToken(
    shape: OAuthShape,
    region: DataCenterRegion | null,
    client: OAuthClient,
    params: RawParams,
    failWith: (error: TokenFailure['error'], reason: TokenFailureReason, description: string) => TokenOutcome,
  ): TokenOutcome {
    const value = single(params, 'refresh_token');
    if (!value) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: refresh_token');
    const refresh = this.refreshTokens.get(value);
    if (!refresh || refresh.provider !== shape.provider) return failWith('invalid_grant', 'refresh_unknown', 'The refresh token is invalid');
    if (shape.regionBound && region !== refresh.region) {
      return failWith('invalid_grant', 'wrong_region', `The refresh token belongs to the "${refresh.region}" data center, not "${region}"`);
    }
    if (refresh.clientId !== client.clientId) return failWith('invalid_grant', 'refresh_other_client', 'The refresh token was issued to another client');
    const family = this.families.get(refresh.familyId);
    if (!family || family.revoked || refresh.revoked) return failWith('invalid_grant', 'refresh_revoked', 'The refresh token has been revoked');
    if (refresh.used) {
      // Reuse of a rotated-away refresh token: someone else may hold the family. Kill it all.
      this.revokeFamily(family.id);
      this.stats.reuseDetections += 1;
      return failWith('invalid_grant', 'refresh_reused', 'The refresh token was already used; the whole token family has been revoked');
    }
    const user = this.accounts.findUser(refresh.userId);
    const account = this.accounts.findAccount(refresh.accountId);
    if (!user || !account || user.removed) return failWith('invalid_grant', 'user_removed', 'The user who authorized this refresh token has been removed');
    if (shape.regionBound && account.region !== refresh.region) {
      return failWith('invalid_grant', 'wrong_region', `The account has moved to the "${account.region}" data center; authorize again`);
    }

    let scopes = refresh.scopes;
    const requestedScope = single(params, 'scope');
    if (requestedScope !== undefined && requestedScope !== '') {
      const narrowed = unique(shape.parseScopes(requestedScope));
      const extra = narrowed.find((scope) => !refresh.scopes.includes(scope));
      if (extra !== undefined) return failWith('invalid_scope', 'invalid_scope', `Scope "${extra}" was not granted to this refresh token`);
      scopes = narrowed;
    }

    const access = this.issueAccessToken(family, client, refresh.region, scopes);
    let live = refresh;
    let refreshIsNew = false;
    if (client.rotateRefreshTokens) {
      refresh.used = true;
      live = this.issueRefreshToken(family, refresh.region, refresh.scopes);
      refreshIsNew = true;
    }
    this.stats.refreshGrants += 1;
    this.noteMutation();
    return { ok: true, issued: { grantType: 'refresh_token', access, refresh: live, refreshIsNew, client, user, account } };
  }

  private issueAccessToken(family: TokenFamily, client: OAuthClient, region: DataCenterRegion, scopes: string[]): AccessTokenRecord {
    const now = Date.now();
    const record: AccessTokenRecord = {
      token: ACCESS_TOKEN_PREFIX + randomBytes(24).toString('hex'),
      familyId: family.id,
      provider: family.provider,
      clientId: family.clientId,
      userId: family.userId,
      accountId: family.accountId,
      region,
      scopes: [...scopes],
      issuedAt: now,
      expiresAt: now + this.effectiveTtlSeconds(client) * 1000,
      revoked: false,
    };
    this.accessTokens.set(record.token, record);
    family.accessTokens.push(record.token);
    return record;
  }

  private issueRefreshToken(family: TokenFamily, region: DataCenterRegion, scopes: string[]): RefreshTokenRecord {
    const record: RefreshTokenRecord = {
      token: REFRESH_TOKEN_PREFIX + randomBytes(24).toString('hex'),
      familyId: family.id,
      provider: family.provider,
      clientId: family.clientId,
      userId: family.userId,
      accountId: family.accountId,
      region,
      scopes: [...scopes],
      issuedAt: Date.now(),
      used: false,
      revoked: false,
    };
    this.refreshTokens.set(record.token, record);
    family.refreshTokens.push(record.token);
    return record;
  }

  // ------------------------------------------------- token introspection

  /**
   * Resolves an access token for a resource call. `provider` limits it to tokens of that shape
   * (a HubSpot token means nothing to Pipedrive); `region` to tokens valid on that data center's
   * API domain (Zoho).
   */
  resolveAccessToken(token: string | null, expect: { provider?: OAuthProvider; region?: DataCenterRegion } = {}): AccessTokenResolution {
    if (!token) return { ok: false, rejection: 'missing' };
    const record = this.accessTokens.get(token);
    if (!record || (expect.provider !== undefined && record.provider !== expect.provider)) return { ok: false, rejection: 'unknown' };
    const family = this.families.get(record.familyId);
    const client = this.clients.get(record.clientId);
    if (record.revoked || !family || family.revoked || !client) return { ok: false, rejection: 'revoked', token: record };
    if (record.expiresAt <= Date.now()) return { ok: false, rejection: 'expired', token: record };
    const user = this.accounts.findUser(record.userId);
    const account = this.accounts.findAccount(record.accountId);
    if (!user || !account) return { ok: false, rejection: 'unknown' };
    if (user.removed) return { ok: false, rejection: 'user_removed', token: record };
    if (expect.region !== undefined && (record.region !== expect.region || account.region !== expect.region)) {
      return { ok: false, rejection: 'wrong_region', token: record };
    }
    return { ok: true, token: record, user, account, client };
  }

  /** A refresh token's details (HubSpot's refresh-token info endpoint); undefined if it no longer works. */
  resolveRefreshToken(token: string, provider: OAuthProvider): { token: RefreshTokenRecord; user: User; account: Account; client: OAuthClient } | undefined {
    const record = this.refreshTokens.get(token);
    if (!record || record.provider !== provider || record.revoked || record.used) return undefined;
    const family = this.families.get(record.familyId);
    const client = this.clients.get(record.clientId);
    const user = this.accounts.findUser(record.userId);
    const account = this.accounts.findAccount(record.accountId);
    if (!family || family.revoked || !client || !user || user.removed || !account) return undefined;
    return { token: record, user, account, client };
  }

  // ------------------------------------------------------ revocation

  /**
   * Revokes one token. A refresh token takes its whole family (every access and refresh token
   * from the same authorization) with it; an access token goes alone. Returns null if unknown.
   */
  revoke(token: string, options: { provider?: OAuthProvider } = {}): { kind: 'access_token' | 'refresh_token'; tokensRevoked: number } | null {
    const refresh = this.refreshTokens.get(token);
    if (refresh && (options.provider === undefined || refresh.provider === options.provider)) {
      return { kind: 'refresh_token', tokensRevoked: this.revokeFamily(refresh.familyId) };
    }
    const access = this.accessTokens.get(token);
    if (access && (options.provider === undefined || access.provider === options.provider)) {
      const wasLive = !access.revoked;
      access.revoked = true;
      return { kind: 'access_token', tokensRevoked: wasLive ? 1 : 0 };
    }
    return null;
  }

  /** Forces an access token to be expired now (saves tests from sleeping through a TTL). */
  expireAccessToken(token: string): AccessTokenRecord {
    const record = this.accessTokens.get(token);
    if (!record) throw notFound('token_not_found', 'No such OAuth access token');
    record.expiresAt = Math.min(record.expiresAt, Date.now());
    return record;
  }

  private revokeFamily(familyId: string): number {
    const family = this.families.get(familyId);
    if (!family) return 0;
    let count = 0;
    family.revoked = true;
    for (const token of family.accessTokens) {
      const record = this.accessTokens.get(token);
      if (record && !record.revoked) {
        record.revoked = true;
        count += 1;
      }
    }
    for (const token of family.refreshTokens) {
      const record = this.refreshTokens.get(token);
      if (record && !record.revoked) {
        record.revoked = true;
        count += 1;
      }
    }
    return count;
  }

  // ------------------------------------------------------ admin state

  getStats(): OAuthStats {
    return { ...this.stats };
  }

  resetStats(): OAuthStats {
    this.stats = emptyStats();
    return this.getStats();
  }

  getSettings() {
    return { defaultAccessTokenTtlSeconds: this.defaultAccessTokenTtlSeconds };
  }

  updateSettings(settings: { defaultAccessTokenTtlSeconds?: number }) {
    if (settings.defaultAccessTokenTtlSeconds !== undefined) this.defaultAccessTokenTtlSeconds = settings.defaultAccessTokenTtlSeconds;
    return this.getSettings();
  }

  /** Back to a blank authorization server: no clients, requests, codes or tokens; default settings. */
  reset(): void {
    this.clients.clear();
    this.pending.clear();
    this.codes.clear();
    this.families.clear();
    this.accessTokens.clear();
    this.refreshTokens.clear();
    this.defaultAccessTokenTtlSeconds = DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
    this.stats = emptyStats();
  }

  /** Drops abandoned authorization requests and long-dead codes now and then; tokens are kept. */
  private noteMutation(): void {
    this.mutationsSincePrune += 1;
    if (this.mutationsSincePrune < 500) return;
    this.mutationsSincePrune = 0;
    const now = Date.now();
    for (const [id, request] of this.pending) if (request.expiresAt <= now) this.pending.delete(id);
    for (const [value, code] of this.codes) if (code.expiresAt + USED_CODE_RETENTION_MS <= now) this.codes.delete(value);
  }
}

function emptyStats(): OAuthStats {
  return { authorizationCodesIssued: 0, codeExchanges: 0, refreshGrants: 0, reuseDetections: 0, failedTokenRequests: 0 };
}

function errorPage(error: string, description: string): AuthorizeOutcome {
  return { kind: 'error_page', error, description };
}

function consentError(code: string, message: string): ConsentOutcome {
  return { kind: 'error', code, message };
}

/** A single string parameter; undefined when absent or repeated (callers check repeats first). */
export function single(params: RawParams, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function stateParam(state: string | null): Array<[string, string]> {
  return state === null ? [] : [['state', state]];
}

/** Appends query parameters to a registered redirect URI, keeping the ones it already has. */
export function withParams(uri: string, params: Array<[string, string]>): string {
  const url = new URL(uri);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url.toString();
}

function assertRedirectUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badRequest('invalid_request', `redirectUris: "${uri}" is not an absolute URL`);
  }
  if (url.hash !== '' || uri.includes('#')) throw badRequest('invalid_request', `redirectUris: "${uri}" must not contain a fragment`);
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * `Authorization: Basic base64(id:secret)`, where id and secret are form-urlencoded first
 * (RFC 6749 §2.3.1). Undecodable percent-escapes fall back to the raw text.
 */
export function parseBasicAuthorization(header: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
