import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys a tenant creates and deletes itself: a label, and when each key was last used. */
export class ApiKeyLifecycle1795490000000 implements MigrationInterface {
  name = 'ApiKeyLifecycle1795490000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_keys" ADD "name" text`);
    await q.query(`ALTER TABLE "api_keys" ADD "last_used_at" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_keys" DROP COLUMN "last_used_at"`);
    await q.query(`ALTER TABLE "api_keys" DROP COLUMN "name"`);
  }
}
