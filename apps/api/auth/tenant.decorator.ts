import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

export interface AuthedRequest {
  tenantId?: string;
}

/** The tenant the request's API key belongs to; every query is scoped by it. */
export const TenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const tenantId = ctx.switchToHttp().getRequest<AuthedRequest>().tenantId;
  if (!tenantId) throw new Error('TenantId used on a public route');
  return tenantId;
});
