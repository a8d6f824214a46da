import { type CanActivate, type ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/api-error';
import { ApiKeysService } from './api-keys.service';
import { IS_PUBLIC } from './public.decorator';
import type { AuthedRequest } from './tenant.decorator';

/** `Authorization: Bearer <api key>` on every route not marked @Public(). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<Request & AuthedRequest>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'Missing API key: send "Authorization: Bearer <api key>"');
    const tenantId = await this.keys.tenantForKey(match[1]);
    if (!tenantId) throw new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', 'Invalid API key');
    req.tenantId = tenantId;
    return true;
  }
}
