import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccountsStore } from '../accounts/accounts.store';
import { Account, DataCenterRegion, isDataCenterRegion, User } from '../accounts/crm-model';
import { notFound } from '../common/sandbox-error';
import { OAuthEndpoints, rejectionHeader, tokenFromHeader } from './oauth-endpoints';
import { SHAPES } from './oauth-shapes';
import { single } from './oauth-params';
import { splitName, zohoOrgId, zohoUserId } from './provider-identities';
import { RevocationService } from './revocation.service';
import { AccessTokenResolution, TokenIntrospectionService } from './token-introspection.service';

const shape = SHAPES.zoho;

const COUNTRY: Readonly<Record<DataCenterRegion, string>> = { us: 'US', eu: 'DE', in: 'IN', au: 'AU', jp: 'JP' };
const API_VERSION = /^v\d+(\.\d+)?$/;

/**
 * Zoho CRM with its data centers: `/zoho/<region>/accounts` is that region's accounts server
 * (accounts.zoho.com, .eu, .in, .com.au, .jp) and `/zoho/<region>/api` its API domain
 * (www.zohoapis.*). A user's codes, tokens and data live in their account's region only.
 */
@Controller('zoho/:region')
export class ZohoController {
  constructor(
    private readonly endpoints: OAuthEndpoints,
    private readonly introspection: TokenIntrospectionService,
    private readonly revocation: RevocationService,
    private readonly accounts: AccountsStore,
  ) {}

  /** Any region's accounts server starts an authorization; the redirect names the user's own region. */
  @Get('accounts/oauth/v2/auth')
  authorize(@Param('region') region: string, @Req() req: Request, @Res() res: Response): void {
    this.endpoints.authorize(shape, parseRegion(region), req, res);
  }

  @Post('accounts/oauth/v2/consent')
  consent(@Param('region') region: string, @Req() req: Request, @Res() res: Response): void {
    parseRegion(region);
    this.endpoints.consent(shape, req, res);
  }

  /** Errors come back as HTTP 200 `{"error": "invalid_code" | "invalid_client" | ...}`, as Zoho does. */
  @Post('accounts/oauth/v2/token')
  token(@Param('region') region: string, @Req() req: Request, @Res() res: Response): void {
    this.endpoints.token(shape, parseRegion(region), req, res);
  }

  /** `POST .../oauth/v2/token/revoke?token=<refresh token>`: revokes it and every token issued alongside it. */
  @Post('accounts/oauth/v2/token/revoke')
  revoke(@Param('region') region: string, @Req() req: Request, @Res() res: Response): void {
    parseRegion(region);
    const token = single(this.endpoints.revocationParams(req), 'token');
    const revoked = token ? this.revocation.revokeOnRequest(token, 'zoho') : null;
    res.status(200).json(revoked ? { status: 'success' } : { error: 'invalid_token' });
  }

  @Get('api/crm/:version/org')
  org(@Param('region') region: string, @Param('version') version: string, @Req() req: Request, @Res() res: Response): void {
    const resolved = this.authenticate(parseRegion(region), version, req, res);
    if (!resolved) return;
    const { account } = resolved;
    const users = this.accounts.listUsers(account.id, { includeRemoved: false });
    const primary = this.accounts.listUsers(account.id, { includeRemoved: true })[0];
    res.json({
      org: [
        {
          id: zohoOrgId(account),
          company_name: account.name,
          alias: null,
          primary_email: primary?.email ?? null,
          primary_zuid: primary ? zohoUserId(primary) : null,
          zgid: zohoOrgId(account),
          domain_name: `org${zohoOrgId(account)}`,
          time_zone: 'GMT',
          currency: 'US Dollar - USD',
          currency_symbol: '$',
          currency_locale: 'en_US',
          iso_code: 'USD',
          country_code: COUNTRY[account.region],
          country: null,
          mc_status: false,
          gapps_enabled: false,
          translation_enabled: false,
          type: 'production',
          phone: null,
          mobile: null,
          fax: null,
          website: null,
          employee_count: null,
          description: null,
          street: null,
          city: null,
          state: null,
          zip: null,
          photo_id: null,
          privacy_settings: false,
          zia_portal_id: null,
          license_details: {
            paid: true,
            paid_type: 'enterprise',
            trial_type: null,
            trial_expiry: null,
            paid_expiry: null,
            users_license_purchased: Math.max(users.length, 1),
          },
        },
      ],
    });
  }

  /** `?type=CurrentUser` is the who-am-I; AllUsers (default), ActiveUsers, DeactiveUsers and AdminUsers list the org. */
  @Get('api/crm/:version/users')
  users(
    @Param('region') region: string,
    @Param('version') version: string,
    @Query('type') type: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): void {
    const resolved = this.authenticate(parseRegion(region), version, req, res);
    if (!resolved) return;
    const { account, user: caller } = resolved;
    const all = this.accounts.listUsers(account.id, { includeRemoved: true });
    let users: User[];
    switch (type ?? 'AllUsers') {
      case 'CurrentUser':
        users = [caller];
        break;
      case 'AllUsers':
        users = all;
        break;
      case 'ActiveUsers':
        users = all.filter((user) => !user.removed);
        break;
      case 'DeactiveUsers':
        users = all.filter((user) => user.removed);
        break;
      case 'AdminUsers':
        users = all.slice(0, 1);
        break;
      default:
        res.status(400).json({ code: 'INVALID_DATA', details: { param_name: 'type' }, message: 'invalid data', status: 'error' });
        return;
    }
    res.json({
      users: users.map((user) => zohoUser(account, user, all[0]?.id === user.id)),
      info: { per_page: 200, count: users.length, page: 1, more_records: false },
    });
  }

  private authenticate(
    region: DataCenterRegion,
    version: string,
    req: Request,
    res: Response,
  ): Extract<AccessTokenResolution, { ok: true }> | null {
    if (!API_VERSION.test(version)) {
      res.status(404).json({ code: 'INVALID_URL_PATTERN', details: {}, message: 'Please check if the URL trying to access is a correct one', status: 'error' });
      return null;
    }
    const token = tokenFromHeader(req.headers.authorization, ['Zoho-oauthtoken', 'Bearer']);
    const resolved = this.introspection.resolveAccessToken(token, { provider: 'zoho', region });
    if (resolved.ok) return resolved;
    const body =
      resolved.rejection === 'missing'
        ? { code: 'AUTHENTICATION_FAILURE', details: {}, message: 'Authentication failed', status: 'error' }
        : { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };
    res.status(401).set(rejectionHeader(resolved.rejection)).json(body);
    return null;
  }
}

function zohoUser(account: Account, user: User, isAdmin: boolean) {
  const { first, last } = splitName(user.name);
  return {
    id: zohoUserId(user),
    zuid: zohoUserId(user),
    email: user.email,
    first_name: first || null,
    last_name: last,
    full_name: user.name,
    status: user.removed ? 'deleted' : 'active',
    confirm: true,
    role: isAdmin ? { name: 'CEO', id: `${zohoOrgId(account)}000000000101` } : { name: 'Manager', id: `${zohoOrgId(account)}000000000102` },
    profile: isAdmin
      ? { name: 'Administrator', id: `${zohoOrgId(account)}000000000201` }
      : { name: 'Standard', id: `${zohoOrgId(account)}000000000202` },
    country: COUNTRY[account.region],
    country_locale: 'en_US',
    locale: 'en_US',
    language: 'en_US',
    time_zone: 'GMT',
    created_time: account.createdAt,
    Modified_Time: account.createdAt,
  };
}

function parseRegion(region: string): DataCenterRegion {
  if (!isDataCenterRegion(region)) throw notFound('route_not_found', `Unknown Zoho data center "${region}"`);
  return region;
}
