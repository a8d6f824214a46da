import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../../libs/config/config';
import { CoreModule } from '../../libs/nest/core.module';
import { DatabaseModule } from '../../libs/nest/database.module';
import { pinoParams } from '../../libs/nest/logger';
import { TemporalClientModule } from '../../libs/nest/temporal-client.module';

/**
 * Nest application context of the worker: builds what the activities depend on (config, key rings,
 * egress policies, database, provider registry, Temporal client); `main.ts` hands those to `createActivities`.
 */
@Module({})
export class WorkerModule {
  static register(cfg: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [CoreModule.forRoot(cfg), LoggerModule.forRoot(pinoParams(cfg, 'worker')), DatabaseModule, TemporalClientModule],
    };
  }
}
