import { Injectable, type NestMiddleware } from '@nestjs/common';
import { InjectThrottlerOptions, InjectThrottlerStorage, normalizeIp, ThrottlerStorage, type ThrottlerModuleOptions, type ThrottlerOptions } from '@nestjs/throttler';
import type { NextFunction, Request, Response } from 'express';
import type { RateLimitConfig } from '../../../libs/config/config';
import type { ApiError } from '../common/api-error';
import { tooManyRequests } from '../common/error.filter';

/**
 * The API's rate limits, as named throttlers of @nestjs/throttler (ThrottlerModule in auth.module.ts,
 * counters in its in-process storage). No ThrottlerGuard applies them wholesale: each is counted
 * where its tracker is known —
 * - `public-pages`: every request to `/connect/*`, `/oauth/callback`, `/sdk/*`, per client IP
 *   (PublicPagesRateLimit below; a middleware, because `/sdk/*` is static files that no guard sees);
 * - `auth-failures`: only requests whose API key is missing or wrong, per client IP (ApiKeyGuard), and
 *   those refused at the payload codec for a missing or wrong operator credential (OperatorGuard), so
 *   a client with a valid key is never slowed by someone else's failures on the same address;
 * - `api-key`: authenticated requests, per API key (ApiKeyGuard);
 * - `webhook-resends`: requests that send webhook events again (redelivery, replay), per tenant
 *   (WebhooksController), on top of `api-key`: they make requests to the tenant's receivers.
 * `/health`, `/ready`, `/metrics` and everything else public are under none of them.
 */
export const RATE_LIMIT_NAMES = ['public-pages', 'auth-failures', 'api-key', 'webhook-resends'] as const;
export type RateLimitName = (typeof RATE_LIMIT_NAMES)[number];

/** The throttlers for ThrottlerModule; a budget of 0 leaves that limit out (off). */
export function throttlerOptions(limits: RateLimitConfig): ThrottlerModuleOptions {
  const ttl = limits.windowSeconds * 1000;
  const budgets: Record<RateLimitName, number> = {
    'public-pages': limits.publicPagesPerIp,
    'auth-failures': limits.authFailuresPerIp,
    'api-key': limits.requestsPerApiKey,
    'webhook-resends': limits.webhookResendsPerTenant,
  };
  // blockDuration = ttl: a client over a limit is refused for one whole window, then starts afresh.
  return { throttlers: RATE_LIMIT_NAMES.filter((name) => budgets[name] > 0).map((name) => ({ name, ttl, limit: budgets[name], blockDuration: ttl })) };
}

/**
 * The client's address as the limits count it: `req.ip` (Express applies TRUST_PROXY), with IPv6
 * addresses taken per /64 — one client usually holds a whole /64 and could otherwise rotate
 * addresses inside it — and IPv4-mapped IPv6 addresses as plain IPv4.
 */
export function clientIp(req: Request): string {
  return normalizeIp(req.ip ?? req.socket.remoteAddress ?? 'unknown');
}

/** The 429 of every limit: `Retry-After` in seconds, and the same seconds in the message. */
export function rateLimited(res: Response, retryAfterSeconds: number): ApiError {
  res.setHeader('Retry-After', String(retryAfterSeconds));
  return tooManyRequests(retryAfterSeconds);
}

interface Budget {
  limit: number;
  ttl: number;
  blockDuration: number;
}

@Injectable()
export class RateLimiter {
  private readonly budgets = new Map<string, Budget>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
  ) {
    const throttlers: ThrottlerOptions[] = Array.isArray(options) ? options : options.throttlers;
    for (const t of throttlers) {
      const { name, limit, ttl, blockDuration = ttl } = t;
      if (typeof name !== 'string' || typeof limit !== 'number' || typeof ttl !== 'number' || typeof blockDuration !== 'number') {
        throw new Error(`throttler ${String(name)}: the API's rate limits take a name and fixed numbers`);
      }
      this.budgets.set(name, { limit, ttl, blockDuration });
    }
  }

  /**
   * Counts one request of `tracker` (a client IP, an API key's hash) against the limit. Returns the
   * seconds the tracker must wait when it is over the limit, else null (also when the limit is off).
   */
  async hit(name: RateLimitName, tracker: string): Promise<number | null> {
    const budget = this.budgets.get(name);
    if (!budget) return null;
    const record = await this.storage.increment(`${name}:${tracker}`, budget.ttl, budget.limit, budget.blockDuration, name);
    return record.isBlocked ? Math.max(1, record.timeToBlockExpire) : null;
  }

  /**
   * A request whose credential is missing or wrong: counted against its address's `auth-failures`
   * budget, then refused with `refusal` (401, 403) — or with 429 once the address is over it. For any
   * guard; call it on failures only, never before a credential has been checked.
   */
  async refuseAuthentication(req: Request, res: Response, refusal: ApiError): Promise<never> {
    const wait = await this.hit('auth-failures', clientIp(req));
    if (wait !== null) throw rateLimited(res, wait);
    throw refusal;
  }
}

/** The per-IP limit of the public pages (see RATE_LIMIT_NAMES); a refused request reaches no handler. */
@Injectable()
export class PublicPagesRateLimit implements NestMiddleware {
  constructor(private readonly limiter: RateLimiter) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const wait = await this.limiter.hit('public-pages', clientIp(req));
    if (wait !== null) throw rateLimited(res, wait);
    next();
  }
}
