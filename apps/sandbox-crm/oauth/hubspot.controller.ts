import { randomUUID } from 'node:crypto';
import { Controller, Delete, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { OAuthEndpoints, rejectionHeader, tokenFromHeader } from './oauth-endpoints';
import { SHAPES } from './oauth-shapes';
import { hubDomain, numericAccountId } from './provider-identities';
import { RevocationService } from './revocation.service';
import { TokenIntrospectionService } from './token-introspection.service';

const shape = SHAPES.hubspot;

/**
 * HubSpot's OAuth: app.hubspot.com/oauth/authorize, api.hubapi.com/oauth/v1/token, and the
 * token-info endpoints HubSpot apps use as who-am-I (`hub_id` names the portal).
 */
@Controller('hubspot')
export class HubspotController {
  constructor(
    private readonly endpoints: OAuthEndpoints,
    private readonly introspection: TokenIntrospectionService,
    private readonly revocation: RevocationService,
  ) {}

  @Get('oauth/authorize')
  authorize(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.authorize(shape, 'us', req, res);
  }

  @Post('oauth/consent')
  consent(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.consent(shape, req, res);
  }

  @Post('oauth/v1/token')
  token(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.token(shape, null, req, res);
  }

  /** Access token metadata; 404 for a token that is unknown, expired, revoked or whose user is gone. */
  @Get('oauth/v1/access-tokens/:token')
  accessTokenInfo(@Param('token') token: string, @Res() res: Response): void {
    const resolved = this.introspection.resolveAccessToken(token, { provider: 'hubspot' });
    if (!resolved.ok) {
      res
        .status(404)
        .set(rejectionHeader(resolved.rejection))
        .json({ status: 'error', message: 'The access token is not found or has expired', correlationId: randomUUID() });
      return;
    }
    const { token: record, user, account, client } = resolved;
    res.json({
      token: record.token,
      user: user.email,
      hub_domain: hubDomain(account),
      scopes: [...record.scopes],
      hub_id: numericAccountId(account),
      app_id: client.appId,
      expires_in: Math.max(0, Math.round((record.expiresAt - Date.now()) / 1000)),
      user_id: user.numericId,
      token_type: 'access',
    });
  }

  /** Refresh token metadata; 404 once it no longer works. */
  @Get('oauth/v1/refresh-tokens/:token')
  refreshTokenInfo(@Param('token') token: string, @Res() res: Response): void {
    const resolved = this.introspection.resolveRefreshToken(token, 'hubspot');
    if (!resolved) {
      res.status(404).json({ status: 'error', message: 'The refresh token is not found or has been revoked', correlationId: randomUUID() });
      return;
    }
    const { token: record, user, account, client } = resolved;
    res.json({
      token: record.token,
      user: user.email,
      hub_domain: hubDomain(account),
      scopes: [...record.scopes],
      hub_id: numericAccountId(account),
      client_id: client.clientId,
      user_id: user.numericId,
      token_type: 'refresh',
    });
  }

  /** Uninstall-style revocation: the refresh token and everything issued alongside it. */
  @Delete('oauth/v1/refresh-tokens/:token')
  deleteRefreshToken(@Param('token') token: string, @Res() res: Response): void {
    const revoked = this.revocation.revokeOnRequest(token, 'hubspot');
    if (!revoked || revoked.kind !== 'refresh_token') {
      res.status(404).json({ status: 'error', message: 'The refresh token is not found', correlationId: randomUUID() });
      return;
    }
    res.status(204).end();
  }

  /** Bearer-authenticated portal details (a cheap API call that proves the token works). */
  @Get('account-info/v3/details')
  accountInfo(@Req() req: Request, @Res() res: Response): void {
    const resolved = this.introspection.resolveAccessToken(tokenFromHeader(req.headers.authorization, ['Bearer']), { provider: 'hubspot' });
    if (!resolved.ok) {
      const expired = resolved.rejection === 'expired' && resolved.token;
      res
        .status(401)
        .set(rejectionHeader(resolved.rejection))
        .json({
          status: 'error',
          message: expired
            ? `The OAuth token used to make this call expired ${Math.max(1, Math.round((Date.now() - resolved.token!.expiresAt) / 1000))} second(s) ago.`
            : 'Authentication credentials not found. This API supports OAuth 2.0 authentication.',
          correlationId: randomUUID(),
          category: expired ? 'EXPIRED_AUTHENTICATION' : 'INVALID_AUTHENTICATION',
        });
      return;
    }
    res.json({
      portalId: numericAccountId(resolved.account),
      accountType: 'STANDARD',
      timeZone: 'US/Eastern',
      companyCurrency: 'USD',
      additionalCurrencies: [],
      utcOffset: '-05:00',
      utcOffsetMilliseconds: -18_000_000,
      uiDomain: 'app.hubspot.com',
      dataHostingLocation: 'na1',
    });
  }
}
