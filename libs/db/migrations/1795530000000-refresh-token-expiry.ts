import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a credential's refresh token stops working by itself (an idle window or a policy the CRM
 * states), so the engine can recommend a reauthorization before it does. Null: not known to expire.
 */
export class RefreshTokenExpiry1795530000000 implements MigrationInterface {
  name = 'RefreshTokenExpiry1795530000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "credential_versions" ADD "refresh_token_expires_at" timestamptz`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "credential_versions" DROP COLUMN "refresh_token_expires_at"`);
  }
}
