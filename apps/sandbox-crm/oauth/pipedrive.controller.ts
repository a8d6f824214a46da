import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ClientAuthenticationService } from './client-authentication.service';
import { OAuthEndpoints, rejectionHeader, tokenFromHeader } from './oauth-endpoints';
import { SHAPES } from './oauth-shapes';
import { single } from './oauth-params';
import { numericAccountId, pipedriveCompanyDomain } from './provider-identities';
import { RevocationService } from './revocation.service';
import { TokenIntrospectionService } from './token-introspection.service';

const shape = SHAPES.pipedrive;

const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';

/**
 * Pipedrive's OAuth (oauth.pipedrive.com) and the company API domain under `/pipedrive`
 * (the token response's `api_domain`), with `GET /api/v1/users/me` as who-am-I.
 */
@Controller('pipedrive')
export class PipedriveController {
  constructor(
    private readonly endpoints: OAuthEndpoints,
    private readonly introspection: TokenIntrospectionService,
    private readonly revocation: RevocationService,
    private readonly clientAuthentication: ClientAuthenticationService,
  ) {}

  @Get('oauth/authorize')
  authorize(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.authorize(shape, 'us', req, res);
  }

  @Post('oauth/consent')
  consent(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.consent(shape, req, res);
  }

  @Post('oauth/token')
  token(@Req() req: Request, @Res() res: Response): void {
    this.endpoints.token(shape, null, req, res);
  }

  /** RFC 7009 revocation with client authentication; a refresh token takes its whole family along. */
  @Post('oauth/revoke')
  revoke(@Req() req: Request, @Res() res: Response): void {
    const params = this.endpoints.revocationParams(req);
    const auth = this.clientAuthentication.authenticate(shape, params, req.headers.authorization);
    if ('failure' in auth) {
      res.status(401).json({ success: false, error: 'invalid_client', message: 'Invalid client: client is invalid' });
      return;
    }
    const token = single(params, 'token');
    if (!token) {
      res.status(400).json({ success: false, error: 'invalid_request', message: 'Missing parameter: token' });
      return;
    }
    // Unknown tokens are not an error (RFC 7009 §2.2).
    this.revocation.revokeOnRequest(token, 'pipedrive');
    res.status(200).end();
  }

  @Get('api/v1/users/me')
  me(@Req() req: Request, @Res() res: Response): void {
    const resolved = this.introspection.resolveAccessToken(tokenFromHeader(req.headers.authorization, ['Bearer']), { provider: 'pipedrive' });
    if (!resolved.ok) {
      const error =
        resolved.rejection === 'missing'
          ? 'unauthorized access'
          : resolved.rejection === 'expired'
            ? 'Invalid token: access token has expired'
            : 'Invalid token: access token is invalid';
      res.status(401).set(rejectionHeader(resolved.rejection)).json({ success: false, error, errorCode: 401, error_info: ERROR_INFO });
      return;
    }
    const { user, account } = resolved;
    res.json({
      success: true,
      data: {
        id: user.numericId,
        name: user.name,
        default_currency: 'USD',
        locale: 'en_US',
        lang: 1,
        email: user.email,
        phone: null,
        activated: true,
        last_login: new Date().toISOString().slice(0, 19).replace('T', ' '),
        created: account.createdAt.slice(0, 19).replace('T', ' '),
        modified: account.createdAt.slice(0, 19).replace('T', ' '),
        has_created_company: true,
        access: [{ app: 'sales', admin: true, permission_set_id: `ps-${account.numericId}` }],
        active_flag: true,
        timezone_name: 'UTC',
        timezone_offset: '+00:00',
        role_id: 1,
        icon_url: null,
        is_you: true,
        is_deleted: false,
        company_id: numericAccountId(account),
        company_name: account.name,
        company_domain: pipedriveCompanyDomain(account),
        company_country: 'US',
        company_industry: null,
        language: { language_code: 'en', country_code: 'US' },
      },
    });
  }
}
