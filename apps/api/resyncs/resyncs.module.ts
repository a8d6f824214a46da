import { Module } from '@nestjs/common';
import { Client } from '@temporalio/client';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { ProviderRegistry } from '../../../libs/providers/provider-registry';
import { ResyncStarter } from '../../../libs/resync/resync-starter';
import { IntegrationsModule } from '../integrations/integrations.module';
import { ResyncsController } from './resyncs.controller';
import { ResyncsService } from './resyncs.service';

@Module({
  imports: [IntegrationsModule],
  controllers: [ResyncsController],
  providers: [
    ResyncsService,
    {
      provide: ResyncStarter,
      inject: [DataSource, APP_CONFIG, ProviderRegistry, Client],
      useFactory: (dataSource: DataSource, config: AppConfig, providers: ProviderRegistry, temporal: Client) =>
        new ResyncStarter({ dataSource, config, providers, temporal }),
    },
  ],
  exports: [ResyncsService],
})
export class ResyncsModule {}
