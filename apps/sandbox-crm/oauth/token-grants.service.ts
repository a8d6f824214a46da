import { Injectable } from '@nestjs/common';
import { AccountsStore } from '../accounts/accounts.store';
import { DataCenterRegion } from '../accounts/crm-model';
import { AuthorizationService } from './authorization.service';
import { ClientAuthenticationService } from './client-authentication.service';
import { IssuedTokens, OAuthClient, RefreshTokenRecord, TokenFailure, TokenFailureReason } from './oauth-model';
import { RawParams, repeatedParams, single } from './oauth-params';
import { OAuthSettingsService } from './oauth-settings.service';
import { OAuthShape } from './oauth-shapes';
import { OAuthStatsService } from './oauth-stats.service';
import { verifierMatchesChallenge } from './pkce';
import { RevocationService } from './revocation.service';
import { TokenStore } from './token-store.service';

export type TokenOutcome = { ok: true; issued: IssuedTokens } | { ok: false; failure: TokenFailure };

type GrantType = IssuedTokens['grantType'];

/** Builds the failure of a grant in progress (the grant type is already known to it). */
type FailWith = (error: TokenFailure['error'], reason: TokenFailureReason, description: string) => TokenOutcome;

/**
 * The token endpoint's grants, one implementation for every provider shape: authorization_code
 * (single use, PKCE, redirect URI and data-center binding; a replay revokes what the code
 * produced) and refresh_token (optional scope narrowing; with rotation, reuse of a rotated-away
 * token revokes the whole family, unless it comes within the reuse grace period: see OAuthSettings).
 */
@Injectable()
export class TokenGrantsService {
  constructor(
    private readonly clientAuthentication: ClientAuthenticationService,
    private readonly authorization: AuthorizationService,
    private readonly tokens: TokenStore,
    private readonly revocation: RevocationService,
    private readonly settings: OAuthSettingsService,
    private readonly accounts: AccountsStore,
    private readonly stats: OAuthStatsService,
  ) {}

  /**
   * A token request. `region` is the data center whose accounts server received it (only the
   * Zoho shape binds codes and refresh tokens to one).
   */
  token(shape: OAuthShape, region: DataCenterRegion | null, params: RawParams, authorization: string | undefined): TokenOutcome {
    const outcome = this.grant(shape, region, params, authorization);
    if (!outcome.ok) this.stats.count('failedTokenRequests');
    return outcome;
  }

  private grant(shape: OAuthShape, region: DataCenterRegion | null, params: RawParams, authorization: string | undefined): TokenOutcome {
    const grantTypeRaw = single(params, 'grant_type');
    const grantType: GrantType | null = grantTypeRaw === 'authorization_code' || grantTypeRaw === 'refresh_token' ? grantTypeRaw : null;
    const failWith: FailWith = (error, reason, description) => ({ ok: false, failure: { error, reason, description, grantType } });

    const [repeated] = repeatedParams(params);
    if (repeated !== undefined) return failWith('invalid_request', 'duplicate_parameter', `Parameter ${repeated} was given more than once`);
    if (!grantTypeRaw) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: grant_type');

    const auth = this.clientAuthentication.authenticate(shape, params, authorization);
    if ('failure' in auth) return { ok: false, failure: { ...auth.failure, grantType } };

    if (grantType === 'authorization_code') return this.exchangeCode(shape, region, auth.client, params, failWith);
    if (grantType === 'refresh_token') return this.refresh(shape, region, auth.client, params, failWith);
    return failWith('unsupported_grant_type', 'unsupported_grant_type', `grant_type "${grantTypeRaw}" is not supported; use authorization_code or refresh_token`);
  }

  private exchangeCode(shape: OAuthShape, region: DataCenterRegion | null, client: OAuthClient, params: RawParams, failWith: FailWith): TokenOutcome {
    const codeValue = single(params, 'code');
    if (!codeValue) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: code');
    const redirectUri = single(params, 'redirect_uri');
    if (!redirectUri) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: redirect_uri');

    const code = this.authorization.findCode(codeValue);
    if (!code || code.provider !== shape.provider) return failWith('invalid_grant', 'code_unknown', 'The authorization code is invalid');
    // A data center's accounts server only knows its own codes (Zoho).
    if (shape.regionBound && region !== code.region) {
      return failWith('invalid_grant', 'wrong_region', `The authorization code belongs to the "${code.region}" data center, not "${region}"`);
    }
    if (code.clientId !== client.clientId) return failWith('invalid_grant', 'code_other_client', 'The authorization code was issued to another client');
    if (code.used) {
      // RFC 6749 §4.1.2: a replayed code may mean it leaked; revoke what it produced.
      if (code.familyId) this.revocation.revokeFamily(code.familyId);
      this.stats.count('reuseDetections');
      return failWith('invalid_grant', 'code_reused', 'The authorization code was already used; every token issued from it has been revoked');
    }
    if (code.expiresAt <= Date.now()) return failWith('invalid_grant', 'code_expired', 'The authorization code has expired');
    if (redirectUri !== code.redirectUri) {
      return failWith('invalid_grant', 'redirect_mismatch', 'redirect_uri does not match the one used in the authorization request');
    }
    if (code.codeChallenge) {
      const verifier = single(params, 'code_verifier');
      if (!verifier) return failWith('invalid_grant', 'pkce_missing_verifier', 'code_verifier is required: the authorization request carried a code_challenge');
      if (!verifierMatchesChallenge(verifier, code.codeChallenge)) return failWith('invalid_grant', 'pkce_mismatch', 'code_verifier does not match the code_challenge');
    }
    const user = this.accounts.findUser(code.userId);
    const account = this.accounts.findAccount(code.accountId);
    if (!user || !account || user.removed) return failWith('invalid_grant', 'user_removed', 'The user who approved this authorization has been removed');

    const family = this.tokens.startFamily(code);
    this.authorization.markRedeemed(code, family.id);
    const grant = { region: account.region, scopes: code.scopes };
    const access = this.tokens.issueAccessToken(family, { ...grant, ttlSeconds: this.settings.accessTokenTtlSeconds(client) });
    const refreshTtl = this.settings.get().refreshTokenTtlSeconds;
    const refresh = shape.issuesRefreshToken({ scopes: code.scopes, offline: code.offline }) ? this.tokens.issueRefreshToken(family, { ...grant, ttlSeconds: refreshTtl }) : null;
    if (refresh) this.enforceGrantLimit(shape, family);
    this.stats.count('codeExchanges');
    return { ok: true, issued: { grantType: 'authorization_code', access, refresh, refreshIsNew: refresh !== null, client, user, account } };
  }

  /**
   * The providers' limits on live grants of one user to one app, applied as a new grant is made:
   * Salesforce revokes the oldest approval when a user approves an app a sixth time; Zoho deletes
   * the oldest refresh token when a user's 21st for a client is issued. Whatever else used the
   * revoked grant stops working — which is what a client that leaves old grants alive runs into.
   */
  private enforceGrantLimit(shape: OAuthShape, newest: { id: string; clientId: string; userId: string }): void {
    const settings = this.settings.get();
    const limit = shape.provider === 'salesforce' ? settings.salesforceMaxApprovalsPerUser : shape.provider === 'zoho' ? settings.zohoMaxRefreshTokensPerUser : null;
    if (limit === null) return;
    const live = this.tokens
      .familiesOf({ provider: shape.provider, clientId: newest.clientId, userId: newest.userId })
      .filter((family) => this.tokens.liveRefreshTokens(family).length > 0);
    for (const oldest of live.slice(0, Math.max(0, live.length - limit))) {
      this.revocation.revokeFamily(oldest.id);
      this.stats.count('grantLimitRevocations');
    }
  }

  private refresh(shape: OAuthShape, region: DataCenterRegion | null, client: OAuthClient, params: RawParams, failWith: FailWith): TokenOutcome {
    const value = single(params, 'refresh_token');
    if (!value) return failWith('invalid_request', 'missing_parameter', 'Missing parameter: refresh_token');
    const refresh = this.tokens.findRefreshToken(value);
    if (!refresh || refresh.provider !== shape.provider) return failWith('invalid_grant', 'refresh_unknown', 'The refresh token is invalid');
    if (shape.regionBound && region !== refresh.region) {
      return failWith('invalid_grant', 'wrong_region', `The refresh token belongs to the "${refresh.region}" data center, not "${region}"`);
    }
    if (refresh.clientId !== client.clientId) return failWith('invalid_grant', 'refresh_other_client', 'The refresh token was issued to another client');
    const family = this.tokens.findFamily(refresh.familyId);
    if (!family || family.revoked || refresh.revoked) return failWith('invalid_grant', 'refresh_revoked', 'The refresh token has been revoked');
    if (refresh.expiresAt !== null && refresh.expiresAt <= Date.now()) return failWith('invalid_grant', 'refresh_expired', 'The refresh token has expired');
    if (refresh.used) {
      const successor = this.graceSuccessor(refresh);
      const user = this.accounts.findUser(refresh.userId);
      const account = this.accounts.findAccount(refresh.accountId);
      if (successor && user && account && !user.removed) {
        // Within the grace period: the client most likely lost the answer. Same successor, a new access token.
        const access = this.tokens.issueAccessToken(family, { region: refresh.region, scopes: refresh.scopes, ttlSeconds: this.settings.accessTokenTtlSeconds(client) });
        this.stats.count('graceReuses');
        return { ok: true, issued: { grantType: 'refresh_token', access, refresh: successor, refreshIsNew: true, client, user, account } };
      }
      // Reuse of a rotated-away refresh token: someone else may hold the family. Kill it all.
      this.revocation.revokeFamily(family.id);
      this.stats.count('reuseDetections');
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
      const narrowed = [...new Set(shape.parseScopes(requestedScope))];
      const extra = narrowed.find((scope) => !refresh.scopes.includes(scope));
      if (extra !== undefined) return failWith('invalid_scope', 'invalid_scope', `Scope "${extra}" was not granted to this refresh token`);
      scopes = narrowed;
    }

    const access = this.tokens.issueAccessToken(family, { region: refresh.region, scopes, ttlSeconds: this.settings.accessTokenTtlSeconds(client) });
    let live = refresh;
    if (client.rotateRefreshTokens) {
      // The replacement keeps the full grant: a narrowed scope only narrows this access token.
      live = this.tokens.issueRefreshToken(family, { region: refresh.region, scopes: refresh.scopes, ttlSeconds: this.settings.get().refreshTokenTtlSeconds });
      refresh.used = true;
      refresh.usedAt = Date.now();
      refresh.successor = live.token;
    }
    this.stats.count('refreshGrants');
    return { ok: true, issued: { grantType: 'refresh_token', access, refresh: live, refreshIsNew: live !== refresh, client, user, account } };
  }

  /** The live successor a rotated-away refresh token may still be answered with (reuse grace period), or null. */
  private graceSuccessor(refresh: RefreshTokenRecord): RefreshTokenRecord | null {
    const graceMs = this.settings.get().refreshTokenReuseGraceSeconds * 1000;
    if (graceMs <= 0 || refresh.usedAt === undefined || refresh.successor === undefined) return null;
    if (Date.now() - refresh.usedAt > graceMs) return null;
    const successor = this.tokens.findRefreshToken(refresh.successor);
    return successor && !successor.used && !successor.revoked ? successor : null;
  }
}
