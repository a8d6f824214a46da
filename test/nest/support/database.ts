/**
 * A fresh, migrated Postgres database for one test file, on the machine's server (127.0.0.1:5432,
 * user postgres, or TEST_DATABASE_ADMIN_URL), dropped afterwards. Tests that only need a stub do
 * not use it; tests of services whose behaviour is their queries do.
 */
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrationsLocked } from '../../../libs/db/data-source';

export interface TestDatabase {
  url: string;
  dataSource: DataSource;
  /** Closes the data source and drops the database. */
  drop(): Promise<void>;
}

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function asAdmin(sql: string): Promise<void> {
  const admin = new PgClient({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (err) {
    const where = new URL(ADMIN_URL);
    where.password = '';
    throw new Error(
      `test/nest needs Postgres at ${where.toString()} (set TEST_DATABASE_ADMIN_URL to use another server): ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** `label` names the test file in the database name, so a leftover database says where it came from. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `nest_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await asAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const dataSource = await new DataSource(dataSourceOptions(url.toString(), { extra: { max: 4 } })).initialize();
  await runMigrationsLocked(dataSource);
  return {
    url: url.toString(),
    dataSource,
    drop: async () => {
      await dataSource.destroy().catch(() => undefined);
      await asAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * Stands in for DatabaseModule: provides a ready DataSource under the token `@InjectDataSource()`
 * resolves to (the DataSource class, for the default connection), so the real services and
 * terminus' TypeOrmHealthIndicator find it without TypeOrmModule.
 */
@Global()
@Module({})
export class TestDataSourceModule {
  static of(dataSource: unknown): DynamicModule {
    return { module: TestDataSourceModule, providers: [{ provide: DataSource, useValue: dataSource }], exports: [DataSource] };
  }
}
