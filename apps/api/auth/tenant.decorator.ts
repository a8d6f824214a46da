import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

export interface AuthedRequest {
  tenantId?: string;
  /** SHA-256 of the API key that authenticated the request (as `api_keys.key_hash` stores it). */
  apiKeyHash?: string;
}

/** The tenant the request's API key belongs to; every query is scoped by it. */
export const TenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const tenantId = ctx.switchToHttp().getRequest<AuthedRequest>().tenantId;
  if (!tenantId) throw new Error('TenantId used on a public route');
  return tenantId;
});
