import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DataCenterRegion } from '../accounts/crm-model';
import { AuthorizationService } from './authorization.service';
import { ConsentPageRenderer } from './consent-page';
import { AccessTokenRejection, TokenFailure } from './oauth-model';
import { RawParams } from './oauth-params';
import { OAuthShape } from './oauth-shapes';
import { TokenGrantsService } from './token-grants.service';

/**
 * The HTTP side of the authorization server, shared by every provider shape's controller:
 * authorization page, consent form, token endpoint. Responses are written by hand because each
 * shape has its own success and error formats (Zoho even answers errors with 200).
 */
@Injectable()
export class OAuthEndpoints {
  constructor(
    private readonly authorization: AuthorizationService,
    private readonly grants: TokenGrantsService,
    private readonly pages: ConsentPageRenderer,
  ) {}

  /** GET authorize: the consent page, an error page (never a redirect to an untrusted URI), or an error redirect. */
  authorize(shape: OAuthShape, region: DataCenterRegion, req: Request, res: Response): void {
    const outcome = this.authorization.begin(shape, req.query as RawParams, baseUrlOf(req));
    switch (outcome.kind) {
      case 'error_page':
        return sendHtml(res, 400, this.pages.errorPage({ providerName: shape.displayName, error: outcome.error, description: outcome.description }));
      case 'redirect':
        return redirect(res, outcome.url);
      case 'consent':
        return sendHtml(
          res,
          200,
          this.pages.consentPage({
            shape,
            client: outcome.client,
            request: outcome.request,
            consentPath: shape.paths(region).consent,
            choices: this.authorization.signInChoices(),
          }),
        );
    }
  }

  /** POST consent (form-urlencoded from the page, or JSON): 302 back to the app. */
  consent(shape: OAuthShape, req: Request, res: Response): void {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as RawParams;
    const outcome = this.authorization.complete(shape.provider, {
      requestId: body.request_id,
      userId: body.user_id,
      decision: body.decision,
      scopes: grantedScopesField(shape, body),
    });
    if (outcome.kind === 'redirect') return redirect(res, outcome.url);
    if (req.is('application/json')) {
      res.status(400).set('Cache-Control', 'no-store').json({ error: { code: outcome.code, message: outcome.message } });
      return;
    }
    sendHtml(res, 400, this.pages.errorPage({ providerName: shape.displayName, error: outcome.code, description: outcome.message }));
  }

  /** POST token: code and refresh grants, answered in the shape's format. */
  token(shape: OAuthShape, region: DataCenterRegion | null, req: Request, res: Response): void {
    const isForm = isFormRequest(req);
    const body = (isForm && typeof req.body === 'object' && req.body !== null ? req.body : {}) as RawParams;
    if (!isForm && !shape.acceptsQueryParams) {
      const failure: TokenFailure = {
        error: 'invalid_request',
        reason: 'bad_content_type',
        description: 'The token endpoint expects Content-Type application/x-www-form-urlencoded',
        grantType: null,
      };
      return sendTokenFailure(res, shape, failure);
    }
    // Zoho documents its token parameters in the query string of the POST; the body works too.
    const params = shape.acceptsQueryParams ? { ...(req.query as RawParams), ...body } : body;
    const outcome = this.grants.token(shape, region, params, req.headers.authorization);
    if (!outcome.ok) return sendTokenFailure(res, shape, outcome.failure);
    const wire = shape.tokenSuccess(outcome.issued, { baseUrl: baseUrlOf(req), region });
    res.status(wire.status).set(NO_STORE).json(wire.body);
  }

  /** Parameters of a revocation request: form body, plus the query string (Salesforce GET, Zoho). */
  revocationParams(req: Request): RawParams {
    const body = (isFormRequest(req) && typeof req.body === 'object' && req.body !== null ? req.body : {}) as RawParams;
    return { ...(req.query as RawParams), ...body };
  }
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function sendTokenFailure(res: Response, shape: OAuthShape, failure: TokenFailure): void {
  const wire = shape.tokenError(failure);
  // No WWW-Authenticate on 401s: strict OAuth clients (oauth4webapi) would then surface a
  // challenge error instead of the `invalid_client` body, and the real CRMs don't send one either.
  res
    .status(wire.status)
    .set({ ...NO_STORE, 'X-Sandbox-Error-Reason': failure.reason })
    .json(wire.body);
}

/** `http://host:port` as the client addressed the sandbox (so redirects and URLs match what it configured). */
export function baseUrlOf(req: Request): string {
  const host = req.get('host');
  if (host) return `${req.protocol}://${host}`;
  const address = req.socket.localAddress ?? '127.0.0.1';
  return `${req.protocol}://${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort}`;
}

function isFormRequest(req: Request): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/**
 * The scopes the user ticked. A repeated `scope` field, a JSON array, or one shape-formatted
 * string. Absent: all requested — unless the form says it showed checkboxes, in which case
 * nothing was ticked.
 */
function grantedScopesField(shape: OAuthShape, body: RawParams): string[] | undefined {
  const field = body.scope ?? body.scopes;
  if (Array.isArray(field)) return field.flatMap((item) => (typeof item === 'string' ? shape.parseScopes(item) : []));
  if (typeof field === 'string') return shape.parseScopes(field);
  if (body.scopes_presented !== undefined) return [];
  return undefined;
}

function sendHtml(res: Response, status: number, html: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    })
    .send(html);
}

function redirect(res: Response, url: string): void {
  res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }).redirect(302, url);
}

/** `<scheme> <token>` from an Authorization header, for the listed schemes (case-insensitive). */
export function tokenFromHeader(header: string | undefined, schemes: readonly string[]): string | null {
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header ?? '');
  if (!match) return null;
  return schemes.some((scheme) => scheme.toLowerCase() === match[1].toLowerCase()) ? match[2] : null;
}

/** Tells humans (and test logs) why a token was refused, without changing the shape's body. */
export function rejectionHeader(rejection: AccessTokenRejection): Record<string, string> {
  return { 'X-Sandbox-Token-Status': rejection };
}
