import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** One place that knows how to reach Postgres; `synchronize` stays off: schema changes are migrations. */
export function dataSourceOptions(url: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: ['error'],
    // gen_random_uuid() is core since PG 13; no extension to install (embedded Postgres ships none).
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    extra: { max: 10 },
    ...extra,
  } as DataSourceOptions;
}

// Lock id shared by every process that runs migrations (API and worker may start together).
const MIGRATION_LOCK_ID = 7_233_001;

/** Runs pending migrations under a Postgres advisory lock so concurrent starters do not collide. */
export async function runMigrationsLocked(ds: DataSource): Promise<void> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await ds.runMigrations({ transaction: 'all' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}
