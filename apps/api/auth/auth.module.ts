import { Global, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { AuditModule } from '../audit/audit.module';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { PublicPagesRateLimit, RateLimiter, throttlerOptions } from './rate-limits';

/**
 * Who may call what, and how often: the tenant API-key guard on every route not @Public(), the
 * tenant's key management (`/v1/api-keys`), and the rate limits (rate-limits.ts) with their
 * throttler, whose counters live in this process's memory.
 */
@Global()
@Module({
  imports: [ThrottlerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (cfg: AppConfig) => throttlerOptions(cfg.rateLimits) }), AuditModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysService, RateLimiter, PublicPagesRateLimit, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeysService, RateLimiter],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(PublicPagesRateLimit).forRoutes(
      { path: 'connect/{*page}', method: RequestMethod.ALL },
      { path: 'oauth/callback', method: RequestMethod.ALL },
      { path: 'oauth/callback/{*page}', method: RequestMethod.ALL },
      { path: 'sdk/{*file}', method: RequestMethod.ALL },
    );
  }
}
