import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Account, User } from '../accounts/crm-model';
import { baseUrlOf, OAuthEndpoints, rejectionHeader, tokenFromHeader } from './oauth-endpoints';
import { salesforceIdentityUrl, SHAPES } from './oauth-shapes';
import { single } from './oauth-params';
import { salesforceOrgId, salesforceUserId, splitName } from './provider-identities';
import { RevocationService } from './revocation.service';
import { AccessTokenResolution, TokenIntrospectionService } from './token-introspection.service';

const shape = SHAPES.salesforce;

/**
 * Salesforce's OAuth 2.0 web-server flow under `/salesforce` (standing in for both
 * login.salesforce.com and the instance URL), with the userinfo and identity-URL who-am-I calls.
 */
@Controller('salesforce')
export class SalesforceController {
  constructor(
    private readonly endpoints: OAuthEndpoints,
    private readonly introspection: TokenIntrospectionService,
    private readonly revocation: RevocationService,
  ) {}

  @Get('services/oauth2/authorize')
  authorize(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.authorize(shape, 'us', req, res);
  }

  @Post('services/oauth2/consent')
  consent(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.consent(shape, req, res);
  }

  @Post('services/oauth2/token')
  token(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.token(shape, null, req, res);
  }

  /** Revokes a refresh token (with its whole family) or one access token; `token` in the form or query. */
  @Post('services/oauth2/revoke')
  revokePost(@Req() req: Request, @Res() res: Response): void {
    this.revoke(req, res);
  }

  @Get('services/oauth2/revoke')
  revokeGet(@Req() req: Request, @Res() res: Response): void {
    this.revoke(req, res);
  }

  /** OpenID Connect-style userinfo. */
  @Get('services/oauth2/userinfo')
  userinfo(@Req() req: Request, @Res() res: Response): void {
    const resolved = this.authenticate(req, res);
    if (!resolved) return;
    const { user, account } = resolved;
    const base = baseUrlOf(req);
    const { first, last } = splitName(user.name);
    res.json({
      sub: salesforceIdentityUrl(base, { account, user }),
      user_id: salesforceUserId(user),
      organization_id: salesforceOrgId(account),
      preferred_username: user.email,
      nickname: user.email.split('@')[0],
      name: user.name,
      email: user.email,
      email_verified: true,
      given_name: first,
      family_name: last,
      zoneinfo: 'America/Los_Angeles',
      photos: { picture: null, thumbnail: null },
      profile: `${base}/salesforce/${salesforceUserId(user)}`,
      picture: null,
      address: { country: 'US' },
      is_salesforce_integration_user: false,
      urls: salesforceUrls(base, account, user),
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: -28_800_000,
      updated_at: new Date(0).toISOString().replace('.000Z', 'Z'),
    });
  }

  /** The identity URL the token response's `id` points at; a user may only read their own. */
  @Get('id/:orgId/:userId')
  identity(@Param('orgId') orgId: string, @Param('userId') userId: string, @Req() req: Request, @Res() res: Response): void {
    const resolved = this.authenticate(req, res);
    if (!resolved) return;
    const { user, account } = resolved;
    if (!sameSalesforceId(orgId, salesforceOrgId(account)) || !sameSalesforceId(userId, salesforceUserId(user))) {
      res.status(403).json([{ message: 'You may only read the identity of the user the token belongs to', errorCode: 'INSUFFICIENT_ACCESS' }]);
      return;
    }
    const base = baseUrlOf(req);
    const { first, last } = splitName(user.name);
    res.json({
      id: salesforceIdentityUrl(base, { account, user }),
      asserted_user: true,
      user_id: salesforceUserId(user),
      organization_id: salesforceOrgId(account),
      username: user.email,
      nick_name: user.email.split('@')[0],
      display_name: user.name,
      email: user.email,
      email_verified: true,
      first_name: first,
      last_name: last,
      timezone: 'America/Los_Angeles',
      photos: { picture: null, thumbnail: null },
      addr_street: null,
      addr_city: null,
      addr_state: null,
      addr_country: 'US',
      addr_zip: null,
      mobile_phone: null,
      mobile_phone_verified: false,
      is_lightning_login_user: false,
      status: { created_date: null, body: null },
      urls: salesforceUrls(base, account, user),
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: -28_800_000,
      last_modified_date: new Date(0).toISOString().replace('.000Z', '+0000'),
      is_app_installed: true,
    });
  }

  private authenticate(req: Request, res: Response): Extract<AccessTokenResolution, { ok: true }> | null {
    const resolved = this.introspection.resolveAccessToken(tokenFromHeader(req.headers.authorization, ['Bearer', 'OAuth']), { provider: 'salesforce' });
    if (resolved.ok) return resolved;
    res
      .status(401)
      .set(rejectionHeader(resolved.rejection))
      .json([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    return null;
  }

  private revoke(req: Request, res: Response): void {
    const token = single(this.endpoints.revocationParams(req), 'token');
    if (!token || !this.revocation.revokeOnRequest(token, 'salesforce')) {
      res.status(400).json({ error: 'unsupported_token_type', error_description: 'this token type is not supported' });
      return;
    }
    res.status(200).end();
  }
}

function salesforceUrls(base: string, account: Account, user: User): Record<string, string> {
  const instance = `${base}/salesforce`;
  const org = salesforceOrgId(account);
  return {
    enterprise: `${instance}/services/Soap/c/{version}/${org}`,
    metadata: `${instance}/services/Soap/m/{version}/${org}`,
    partner: `${instance}/services/Soap/u/{version}/${org}`,
    rest: `${instance}/services/data/v{version}/`,
    sobjects: `${instance}/services/data/v{version}/sobjects/`,
    search: `${instance}/services/data/v{version}/search/`,
    query: `${instance}/services/data/v{version}/query/`,
    recent: `${instance}/services/data/v{version}/recent/`,
    profile: `${instance}/${salesforceUserId(user)}`,
    users: `${instance}/services/data/v{version}/chatter/users`,
    custom_domain: instance,
  };
}

/** Salesforce accepts both the 15-character (case-sensitive) and 18-character forms of an id. */
function sameSalesforceId(given: string, expected18: string): boolean {
  return given === expected18 || (given.length === 15 && given === expected18.slice(0, 15));
}
