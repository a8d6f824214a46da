import { type CanActivate, type ExecutionContext, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { RateLimiter } from '../auth/rate-limits';
import { ApiError } from '../common/api-error';
import { OperatorCredentials } from './operator-credentials';

/**
 * The payload codec's door (see OperatorCredentials): no credential is 401, a credential that is
 * not an operator's — a tenant API key above all — is 403. The codec controller is @Public() so the
 * tenant guard never runs there: a tenant key is not even looked up.
 *
 * Every refusal counts against the client IP's `auth-failures` budget, the same one wrong API keys
 * draw on (rate-limits.ts): over it, the answer is 429 instead of 401/403, so operator keys cannot
 * be guessed at speed. The credential is always checked first, so a valid operator key is never
 * refused for its address's failures.
 */
@Injectable()
export class OperatorGuard implements CanActivate {
  private readonly logger = new Logger(OperatorGuard.name);
  private readonly credentials: OperatorCredentials;

  constructor(
    @Inject(APP_CONFIG) cfg: AppConfig,
    private readonly limiter: RateLimiter,
  ) {
    this.credentials = new OperatorCredentials(cfg);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const http = ctx.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const check = await this.credentials.check(req.headers.authorization);
    switch (check.outcome) {
      case 'operator':
        return true;
      case 'missing':
        return this.limiter.refuseAuthentication(
          req,
          res,
          new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'Missing operator credential: send "Authorization: Bearer <operator key>"'),
        );
      case 'invalid_token':
        this.logger.warn(`codec access token refused: ${check.reason}`);
        return this.limiter.refuseAuthentication(req, res, new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'Invalid or expired access token'));
      case 'not_operator':
        return this.limiter.refuseAuthentication(
          req,
          res,
          new ApiError(
            HttpStatus.FORBIDDEN,
            'forbidden',
            'The payload codec is for operators: tenant API keys are not accepted here (use a key of OPERATOR_API_KEYS)',
          ),
        );
    }
  }
}
