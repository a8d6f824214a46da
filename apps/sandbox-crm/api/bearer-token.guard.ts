import { CanActivate, createParamDecorator, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AccountsStore } from '../accounts/accounts.store';
import { Account, ApiToken, User } from '../accounts/crm-model';
import { SandboxError } from '../common/sandbox-error';
import { ACCESS_TOKEN_PREFIX } from '../oauth/oauth-model';
import { TokenIntrospectionService } from '../oauth/token-introspection.service';

/** Who an authenticated API request acts as. */
export interface ApiCaller {
  account: Account;
  user: User;
  /** For an OAuth access token, an equivalent view of it (its granted scopes, never revoked here). */
  apiToken: ApiToken;
  /** Set when the request used an OAuth access token (`sbx_at_…`) rather than an API token. */
  oauth?: { provider: string; clientId: string; expiresAt: string };
}

type RequestWithCaller = Request & { apiCaller?: ApiCaller };

/**
 * Resolves `Authorization: Bearer <token>` to an {@link ApiCaller}. Accepts API tokens and live
 * OAuth access tokens of any provider shape. A token whose user was removed gets a distinct
 * `user_removed` code, and an expired OAuth token `token_expired` (status stays 401, as with real
 * CRMs), so the engine's tests can check it classifies "user gone" differently from "token revoked".
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  constructor(
    private readonly accounts: AccountsStore,
    private readonly oauthTokens: TokenIntrospectionService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthorized('invalid_token', 'Missing or malformed bearer token');
    if (token.startsWith(ACCESS_TOKEN_PREFIX)) {
      request.apiCaller = this.oauthCaller(token);
      return true;
    }

    const apiToken = this.accounts.findToken(token);
    if (!apiToken || apiToken.revoked) throw unauthorized('invalid_token', 'The access token is invalid or has been revoked');

    const user = this.accounts.getUser(apiToken.userId);
    if (user.removed) throw unauthorized('user_removed', 'The user this token belongs to has been removed from the account');

    request.apiCaller = { account: this.accounts.getAccount(apiToken.accountId), user, apiToken };
    return true;
  }

  private oauthCaller(token: string): ApiCaller {
    const resolved = this.oauthTokens.resolveAccessToken(token);
    if (!resolved.ok) {
      switch (resolved.rejection) {
        case 'expired':
          throw unauthorized('token_expired', 'The access token has expired; refresh it');
        case 'user_removed':
          throw unauthorized('user_removed', 'The user this token belongs to has been removed from the account');
        default:
          throw unauthorized('invalid_token', 'The access token is invalid or has been revoked');
      }
    }
    const { token: record, user, account } = resolved;
    return {
      account,
      user,
      apiToken: {
        token: record.token,
        accountId: account.id,
        userId: user.id,
        scopes: [...record.scopes],
        revoked: false,
        createdAt: new Date(record.issuedAt).toISOString(),
      },
      oauth: { provider: record.provider, clientId: record.clientId, expiresAt: new Date(record.expiresAt).toISOString() },
    };
  }
}

/** Injects the {@link ApiCaller} that {@link BearerTokenGuard} attached to the request. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): ApiCaller => {
  const caller = context.switchToHttp().getRequest<RequestWithCaller>().apiCaller;
  if (!caller) throw new Error('Caller used on a route not protected by BearerTokenGuard');
  return caller;
});

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}

function unauthorized(code: string, message: string): SandboxError {
  // RFC 6750 challenge, so generic OAuth clients recognise the failure too.
  return new SandboxError(HttpStatus.UNAUTHORIZED, code, message, {
    'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message}"`,
  });
}
