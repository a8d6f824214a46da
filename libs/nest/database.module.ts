import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { dataSourceOptions, runMigrationsLocked } from '../db/data-source';
import { APP_CONFIG } from './tokens';

/** TypeORM connection for the process; pending migrations run at start (never `synchronize`). */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (cfg: AppConfig) => {
        if (!cfg.databaseUrl) throw new Error('DATABASE_URL is not set (npm start sets it for embedded Postgres)');
        return dataSourceOptions(cfg.databaseUrl, { extra: { max: cfg.databasePoolSize } });
      },
      dataSourceFactory: async (opts) => {
        const ds = await new DataSource(opts!).initialize();
        await runMigrationsLocked(ds);
        return ds;
      },
    }),
  ],
})
export class DatabaseModule {}
