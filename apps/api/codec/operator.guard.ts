import { type CanActivate, type ExecutionContext, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { ApiError } from '../common/api-error';
import { OperatorCredentials } from './operator-credentials';

/**
 * The payload codec's door (see OperatorCredentials): no credential is 401, a credential that is
 * not an operator's — a tenant API key above all — is 403. The codec controller is @Public() so the
 * tenant guard never runs there: a tenant key is not even looked up.
 */
@Injectable()
export class OperatorGuard implements CanActivate {
  private readonly logger = new Logger(OperatorGuard.name);
  private readonly credentials: OperatorCredentials;

  constructor(@Inject(APP_CONFIG) cfg: AppConfig) {
    this.credentials = new OperatorCredentials(cfg);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request>();
    const check = await this.credentials.check(req.headers.authorization);
    switch (check.outcome) {
      case 'operator':
        return true;
      case 'missing':
        throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'Missing operator credential: send "Authorization: Bearer <operator key>"');
      case 'invalid_token':
        this.logger.warn(`codec access token refused: ${check.reason}`);
        throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'Invalid or expired access token');
      case 'not_operator':
        throw new ApiError(
          HttpStatus.FORBIDDEN,
          'forbidden',
          'The payload codec is for operators: tenant API keys are not accepted here (use a key of OPERATOR_API_KEYS)',
        );
    }
  }
}
