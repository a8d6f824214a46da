import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { DataCenterRegion, isDataCenterRegion } from '../accounts/crm-model';
import { badRequest, notFound, SandboxError } from '../common/sandbox-error';
import {
  AdminAuthorizeDto,
  ExpireOAuthTokenDto,
  OAuthSettingsDto,
  RevokeOAuthTokenDto,
  UpsertOAuthClientDto,
} from './oauth-admin.dto';
import { baseUrlOf } from './oauth-endpoints';
import { OAuthClient } from './oauth-model';
import { OAuthShape, SHAPES } from './oauth-shapes';
import { OAuthService, RawParams } from './oauth.service';

/**
 * Control plane of the sandbox's OAuth servers: register apps, approve authorizations without a
 * browser, revoke or expire tokens, read counters. Unauthenticated, like the rest of `/admin`.
 */
@Controller('admin/oauth')
export class OAuthAdminController {
  constructor(private readonly oauth: OAuthService) {}

  /** Registers an app; posting an existing clientId again updates it. */
  @Post('clients')
  upsertClient(@Body() body: UpsertOAuthClientDto, @Req() req: Request) {
    return clientView(this.oauth.upsertClient(body), this.oauth.effectiveTtlSeconds.bind(this.oauth), baseUrlOf(req));
  }

  @Get('clients')
  listClients(@Req() req: Request) {
    return { data: this.oauth.listClients().map((client) => clientView(client, this.oauth.effectiveTtlSeconds.bind(this.oauth), baseUrlOf(req))) };
  }

  @Get('clients/:clientId')
  getClient(@Param('clientId') clientId: string, @Req() req: Request) {
    return clientView(this.oauth.getClient(clientId), this.oauth.effectiveTtlSeconds.bind(this.oauth), baseUrlOf(req));
  }

  /** Simulates the app being uninstalled/deleted: its tokens stop working. */
  @Delete('clients/:clientId')
  deleteClient(@Param('clientId') clientId: string, @Req() req: Request) {
    return clientView(this.oauth.deleteClient(clientId), this.oauth.effectiveTtlSeconds.bind(this.oauth), baseUrlOf(req));
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
    const target = shapeForAuthorizePath(url.pathname);
    if (!target) throw badRequest('invalid_authorize_url', `"${url.pathname}" is not an authorization endpoint of the sandbox`);

    const outcome = this.oauth.beginAuthorization(target.shape, queryParams(url), url.origin);
    if (outcome.kind === 'error_page') throw badRequest(outcome.error, outcome.description);
    if (outcome.kind === 'redirect') return { redirectTo: outcome.url };

    const decided = this.oauth.completeAuthorization(target.shape.provider, {
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

  /** Revokes a refresh token (and its whole family) or a single access token. */
  @Post('revoke')
  @HttpCode(HttpStatus.OK)
  revoke(@Body() body: RevokeOAuthTokenDto) {
    const given = [body.refreshToken, body.accessToken].filter((value) => value !== undefined);
    if (given.length !== 1) throw badRequest('invalid_request', 'Send exactly one of refreshToken or accessToken');
    const result = this.oauth.revoke(given[0]!);
    const expected = body.refreshToken !== undefined ? 'refresh_token' : 'access_token';
    if (!result || result.kind !== expected) throw notFound('token_not_found', `No such OAuth ${expected.replace('_', ' ')}`);
    return { revoked: true, tokenType: result.kind, tokensRevoked: result.tokensRevoked };
  }

  /** Makes an access token expired right now, so tests need not sleep through a TTL. */
  @Post('expire')
  @HttpCode(HttpStatus.OK)
  expire(@Body() body: ExpireOAuthTokenDto) {
    const record = this.oauth.expireAccessToken(body.accessToken);
    return { expired: true, expiresAt: new Date(record.expiresAt).toISOString() };
  }

  @Get('stats')
  stats() {
    return this.oauth.getStats();
  }

  @Delete('stats')
  resetStats() {
    return this.oauth.resetStats();
  }

  @Get('settings')
  settings() {
    return this.oauth.getSettings();
  }

  @Post('settings')
  @HttpCode(HttpStatus.OK)
  updateSettings(@Body() body: OAuthSettingsDto) {
    return this.oauth.updateSettings(body);
  }
}

function clientView(client: OAuthClient, ttlOf: (client: OAuthClient) => number, baseUrl: string) {
  return {
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    provider: client.provider,
    name: client.name,
    redirectUris: [...client.redirectUris],
    requirePkce: client.requirePkce,
    accessTokenTtlSeconds: ttlOf(client),
    rotateRefreshTokens: client.rotateRefreshTokens,
    scopes: client.scopes ? [...client.scopes] : null,
    appId: client.appId,
    endpoints: SHAPES[client.provider].endpoints(baseUrl),
    createdAt: client.createdAt,
    updatedAt: client.updatedAt,
  };
}

function shapeForAuthorizePath(path: string): { shape: OAuthShape; region: DataCenterRegion } | null {
  for (const shape of [SHAPES.hubspot, SHAPES.salesforce, SHAPES.pipedrive]) {
    if (path === shape.paths('us').authorize) return { shape, region: 'us' };
  }
  const zoho = /^\/zoho\/([^/]+)\/accounts\/oauth\/v2\/auth$/.exec(path);
  if (zoho && isDataCenterRegion(zoho[1])) return { shape: SHAPES.zoho, region: zoho[1] };
  return null;
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
