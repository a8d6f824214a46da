import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AccountsModule } from './accounts/accounts.module';
import { AdminModule } from './admin/admin.module';
import { ApiModule } from './api/api.module';
import { ErrorResponseFilter } from './common/error-response.filter';
import { SandboxValidationPipe } from './common/validation.pipe';
import { FaultInjectionMiddleware } from './faults/fault-injection.middleware';
import { FaultsModule } from './faults/faults.module';
import { HealthController } from './health.controller';
import { OAuthModule } from './oauth/oauth.module';
import { RecordsApiModule } from './records-api/records-api.module';
import { RequestStatsMiddleware } from './stats/request-stats.middleware';
import { StatsModule } from './stats/stats.module';

/**
 * Root module. One module per concern: accounts data, CRM API, the provider-shaped OAuth servers,
 * the CRM shapes' record APIs, admin, faults, stats.
 */
@Module({
  imports: [AccountsModule, ApiModule, OAuthModule, RecordsApiModule, AdminModule, FaultsModule, StatsModule],
  controllers: [HealthController],
  providers: [
    { provide: APP_FILTER, useClass: ErrorResponseFilter },
    { provide: APP_PIPE, useClass: SandboxValidationPipe },
  ],
})
export class SandboxCrmModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Everything except the control plane and the health probe is "CRM traffic": counted first
    // (so faulted attempts are counted too), then subjected to faults. Unmatched paths are
    // included, so a fault or count on a route the sandbox lacks still behaves predictably.
    consumer
      .apply(RequestStatsMiddleware, FaultInjectionMiddleware)
      .exclude(
        { path: 'admin', method: RequestMethod.ALL },
        { path: 'admin/{*rest}', method: RequestMethod.ALL },
        { path: 'health', method: RequestMethod.ALL },
      )
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
