import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../../libs/config/config';
import { CoreModule } from '../../libs/nest/core.module';
import { DatabaseModule } from '../../libs/nest/database.module';
import { pinoParams } from '../../libs/nest/logger';
import { AlertsModule } from './alerts/alerts.controller';
import { AuditModule } from './audit/audit.module';
import { MetricsModule } from './metrics/metrics.module';
import { AuthModule } from './auth/auth.module';
import { CodecController } from './codec/codec.controller';
import { HealthModule } from './health/health.module';
import { IntegrationsModule } from './integrations/integrations.module';
import { ProvidersModule } from './providers/providers.module';
import { ConnectModule } from './connect/connect.module';
import { ConsoleModule } from './console/console.module';
import { SdkModule } from './sdk/sdk.module';
import { ReauthorizationsModule } from './reauthorizations/reauthorizations.module';
import { ResyncsModule } from './resyncs/resyncs.module';
import { TemporalClientModule } from '../../libs/nest/temporal-client.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static register(cfg: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(cfg),
        LoggerModule.forRoot(pinoParams(cfg, 'api')),
        DatabaseModule,
        TemporalClientModule,
        AuthModule,
        HealthModule,
        IntegrationsModule,
        ReauthorizationsModule,
        ResyncsModule,
        ProvidersModule,
        ConnectModule,
        ConsoleModule,
        SdkModule,
        WebhooksModule,
        AlertsModule,
        AuditModule,
        MetricsModule,
      ],
      controllers: [CodecController],
    };
  }
}
