import { type CanActivate, type ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ApiError } from '../common/api-error';
import { ApiKeysService, hashApiKey } from './api-keys.service';
import { IS_PUBLIC } from './public.decorator';
import { RateLimiter, rateLimited } from './rate-limits';
import type { AuthedRequest } from './tenant.decorator';

/**
 * `Authorization: Bearer <api key>` on every route not marked @Public(), with two rate limits
 * (rate-limits.ts): a missing or wrong key counts against the client IP's `auth-failures` budget —
 * over it, the answer is 429 instead of 401 — and a valid key against its own `api-key` budget. A
 * valid key is never refused for its address's failures: the key is always checked first.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const http = ctx.switchToHttp();
    const req = http.getRequest<Request & AuthedRequest>();
    const res = http.getResponse<Response>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return this.refuse(req, res, 'Missing API key: send "Authorization: Bearer <api key>"');
    const tenantId = await this.keys.tenantForKey(match[1]);
    if (!tenantId) return this.refuse(req, res, 'Invalid API key');
    const keyHash = hashApiKey(match[1]);
    req.tenantId = tenantId;
    req.apiKeyHash = keyHash;
    await this.keys.noteUse(keyHash);
    const wait = await this.limiter.hit('api-key', keyHash);
    if (wait !== null) throw rateLimited(res, wait);
    return true;
  }

  /** 401, or 429 once this address has failed too often in the window. */
  private refuse(req: Request, res: Response, message: string): Promise<never> {
    return this.limiter.refuseAuthentication(req, res, new ApiError(HttpStatus.UNAUTHORIZED, 'unauthorized', message));
  }
}
