import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { AccountsStore } from '../accounts/accounts.store';
import { isDataCenterRegion } from '../accounts/crm-model';
import { badRequest, notFound, SandboxError } from '../common/sandbox-error';
import {
  AdminAuthorizeDto,
  ExpireOAuthTokenDto,
  ListGrantsQueryDto,
  InspectRefreshTokenDto,
  IssueGrantsDto,
  OAuthSettingsDto,
  RevokeOAuthTokenDto,
  UpsertOAuthClientDto,
} from './oauth-admin.dto';
import { AuthorizationService } from './authorization.service';
import { OAuthClientsService } from './oauth-clients.service';
import { baseUrlOf } from './oauth-endpoints';
import { OAuthClient } from './oauth-model';
import { RawParams } from './oauth-params';
import { OAuthSettingsService } from './oauth-settings.service';
import { OAuthShape, SHAPES } from './oauth-shapes';
import { OAuthStatsService } from './oauth-stats.service';
import { RevocationService } from './revocation.service';
import { TokenStore } from './token-store.service';

/**
 * Control plane of the sandbox's OAuth servers: register apps, approve authorizations without a
 * browser, revoke or expire tokens, read counters. Unauthenticated, like the rest of `/admin`.
 */
@Controller('admin/oauth')
export class OAuthAdminController {
  constructor(
    private readonly clients: OAuthClientsService,
    private readonly authorization: AuthorizationService,
    private readonly revocation: RevocationService,
    private readonly settings: OAuthSettingsService,
    private readonly stats: OAuthStatsService,
    private readonly tokens: TokenStore,
    private readonly accounts: AccountsStore,
  ) {}

  /** Registers an app; posting an existing clientId again updates it. */
  @Post('clients')
  upsertClient(@Body() body: UpsertOAuthClientDto, @Req() req: Request) {
    return this.clientView(this.clients.upsert(body), req);
  }

  @Get('clients')
  listClients(@Req() req: Request) {
    return { data: this.clients.list().map((client) => this.clientView(client, req)) };
  }

  @Get('clients/:clientId')
  getClient(@Param('clientId') clientId: string, @Req() req: Request) {
    return this.clientView(this.clients.get(clientId), req);
  }

  /** Simulates the app being uninstalled/deleted: its tokens stop working. */
  @Delete('clients/:clientId')
  deleteClient(@Param('clientId') clientId: string, @Req() req: Request) {
    return this.clientView(this.clients.delete(clientId), req);
  }

  /**
   * Runs an authorize URL through the same validation and consent logic as the browser flow and
   * returns the URL the user would have been redirected to.
   */
  @Post('authorize')
  @HttpCode(HttpStatus.OK)
  authorize(@Body() body: AdminAuthorizeDto, @Req() req: Request) {
    let url: URL;
    try {
      url = new URL(body.authorizeUrl, baseUrlOf(req));
    } catch {
      throw badRequest('invalid_authorize_url', 'authorizeUrl is not a URL');
    }
    const shape = shapeForAuthorizePath(url.pathname);
    if (!shape) throw badRequest('invalid_authorize_url', `"${url.pathname}" is not an authorization endpoint of the sandbox`);

    const outcome = this.authorization.begin(shape, queryParams(url), url.origin);
    if (outcome.kind === 'error_page') throw badRequest(outcome.error, outcome.description);
    if (outcome.kind === 'redirect') return { redirectTo: outcome.url };

    const decided = this.authorization.complete(shape.provider, {
      requestId: outcome.request.id,
      userId: body.userId,
      decision: body.decision ?? 'allow',
      scopes: body.grantScopes,
    });
    if (decided.kind === 'error') {
      const status = decided.code === 'user_not_found' ? HttpStatus.NOT_FOUND : decided.code === 'user_removed' ? HttpStatus.CONFLICT : HttpStatus.BAD_REQUEST;
      throw new SandboxError(status, decided.code, decided.message);
    }
    return { redirectTo: decided.url };
  }

  /**
   * Issues grants in bulk, as if that many people had each consented once for `clientId` from an
   * account of their own: per entry a new account and user, and a token family whose first access
   * token expires at the given time, with a refresh token. The tokens are the same records the
   * consent flow produces (they refresh, rotate, expire and revoke alike); only the browser round
   * trip is skipped, so a benchmark can seed thousands of OAuth integrations in seconds.
   */
  @Post('grants')
  @HttpCode(HttpStatus.OK)
  issueGrants(@Body() body: IssueGrantsDto) {
    const client = this.clients.get(body.clientId);
    const shape = SHAPES[client.provider];
    const scopes = body.scopes ?? client.scopes ?? shape.defaultScopes;
    const now = Date.now();
    const expiries = body.accessTokenExpiresAt.map((at) => Date.parse(at));
    if (expiries.some((at) => at <= now)) throw badRequest('invalid_request', 'every accessTokenExpiresAt must be in the future');
    const refreshTtl = this.settings.get().refreshTokenTtlSeconds;
    const grants = expiries.map((expiresAt) => {
      const account = this.accounts.createAccount();
      const user = this.accounts.addUser(account.id);
      const family = this.tokens.startFamily({ provider: client.provider, clientId: client.clientId, userId: user.id, accountId: account.id });
      const grant = { region: account.region, scopes };
      const access = this.tokens.issueAccessToken(family, { ...grant, ttlSeconds: (expiresAt - Date.now()) / 1000 });
      const refresh = this.tokens.issueRefreshToken(family, { ...grant, ttlSeconds: refreshTtl });
      return {
        accountId: account.id,
        userId: user.id,
        accessToken: access.token,
        refreshToken: refresh.token,
        expiresAt: new Date(access.expiresAt).toISOString(),
        scopes: [...scopes],
      };
    });
    return { data: grants };
  }

  /** Revokes a refresh token (and its whole family) or a single access token. */
  @Post('revoke')
  @HttpCode(HttpStatus.OK)
  revoke(@Body() body: RevokeOAuthTokenDto) {
    const given = [body.refreshToken, body.accessToken].filter((value) => value !== undefined);
    if (given.length !== 1) throw badRequest('invalid_request', 'Send exactly one of refreshToken or accessToken');
    const result = this.revocation.revoke(given[0]!);
    const expected = body.refreshToken !== undefined ? 'refresh_token' : 'access_token';
    if (!result || result.kind !== expected) throw notFound('token_not_found', `No such OAuth ${expected.replace('_', ' ')}`);
    return { revoked: true, tokenType: result.kind, tokensRevoked: result.tokensRevoked };
  }

  /**
   * Reads the token store about one refresh token: whether it is the one its family's client must
   * hold now (`live`), was rotated away (`rotated`), revoked or unknown — and which token is live.
   * How a test checks that a client never lost a rotation. (POST: a token belongs in a body, not a URL.)
   */
  @Post('refresh-tokens/inspect')
  @HttpCode(HttpStatus.OK)
  inspectRefreshToken(@Body() body: InspectRefreshTokenDto) {
    const record = this.tokens.findRefreshToken(body.refreshToken);
    if (!record) return { state: 'unknown', familyId: null, liveRefreshToken: null };
    const family = this.tokens.findFamily(record.familyId);
    const live = this.tokens.liveRefreshToken(record.familyId);
    const state = record.revoked || family?.revoked ? 'revoked' : record.used ? 'rotated' : live?.token === record.token ? 'live' : 'superseded';
    return { state, familyId: record.familyId, liveRefreshToken: live?.token ?? null, rotations: Math.max(0, (family?.refreshTokens.length ?? 1) - 1) };
  }

  /** Makes an access token expired right now, so tests need not sleep through a TTL. */
  @Post('expire')
  @HttpCode(HttpStatus.OK)
  expire(@Body() body: ExpireOAuthTokenDto) {
    const record = this.revocation.expireAccessToken(body.accessToken);
    return { expired: true, expiresAt: new Date(record.expiresAt).toISOString() };
  }

  /**
   * Grants (token families) with whether they still work: `live` while a refresh token of theirs
   * does. Filter by app and/or user — tests count one user's live grants to one app.
   */
  @Get('grants')
  listGrants(@Query() query: ListGrantsQueryDto) {
    const families = this.tokens.familiesOf({ clientId: query.clientId, userId: query.userId });
    return {
      data: families.map((family) => {
        const live = this.tokens.liveRefreshTokens(family);
        return {
          familyId: family.id,
          provider: family.provider,
          clientId: family.clientId,
          userId: family.userId,
          accountId: family.accountId,
          live: live.length > 0,
          liveRefreshTokens: live.length,
          createdAt: new Date(family.createdAt).toISOString(),
        };
      }),
    };
  }

  @Get('stats')
  getStats() {
    return this.stats.get();
  }

  @Delete('stats')
  resetStats() {
    return this.stats.reset();
  }

  @Get('settings')
  getSettings() {
    return this.settings.get();
  }

  @Post('settings')
  @HttpCode(HttpStatus.OK)
  updateSettings(@Body() body: OAuthSettingsDto) {
    return this.settings.update(body);
  }

  private clientView(client: OAuthClient, req: Request) {
    return {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      provider: client.provider,
      name: client.name,
      redirectUris: [...client.redirectUris],
      requirePkce: client.requirePkce,
      accessTokenTtlSeconds: this.settings.accessTokenTtlSeconds(client),
      rotateRefreshTokens: client.rotateRefreshTokens,
      scopes: client.scopes ? [...client.scopes] : null,
      appId: client.appId,
      endpoints: SHAPES[client.provider].endpoints(baseUrlOf(req)),
      createdAt: client.createdAt,
      updatedAt: client.updatedAt,
    };
  }
}

/** The shape whose authorization endpoint `path` is (any Zoho data center's), or null. */
function shapeForAuthorizePath(path: string): OAuthShape | null {
  for (const shape of [SHAPES.hubspot, SHAPES.salesforce, SHAPES.pipedrive]) {
    if (path === shape.paths('us').authorize) return shape;
  }
  const zoho = /^\/zoho\/([^/]+)\/accounts\/oauth\/v2\/auth$/.exec(path);
  return zoho && isDataCenterRegion(zoho[1]) ? SHAPES.zoho : null;
}

/** Query parameters the way Express parses them: a repeated name becomes an array. */
function queryParams(url: URL): RawParams {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const existing = params[name];
    params[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return params;
}
