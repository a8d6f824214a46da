import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OAuth reauthorizations: pending credential versions (exchanged, not yet validated) have no
 * version number yet and belong to one attempt of a reauthorization; reauthorizations carry their
 * current attempt's state hash and the sealed state/PKCE verifier/authorize URL.
 */
export class OauthAttempts1795450000000 implements MigrationInterface {
  name = 'OauthAttempts1795450000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "credential_versions" ALTER COLUMN "version" DROP NOT NULL`);
    await q.query(`ALTER TABLE "credential_versions" ADD "attempt" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "credential_versions" ADD "metadata" jsonb NOT NULL DEFAULT '{}'`);
    const uniques = (await q.query(
      `SELECT conname FROM pg_constraint WHERE conrelid = 'credential_versions'::regclass AND contype = 'u'
         AND pg_get_constraintdef(oid) = 'UNIQUE (reauthorization_id)'`,
    )) as Array<{ conname: string }>;
    for (const u of uniques) await q.query(`ALTER TABLE "credential_versions" DROP CONSTRAINT "${u.conname}"`);
    await q.query(`ALTER TABLE "credential_versions" ADD CONSTRAINT "UQ_credential_versions_reauth_attempt" UNIQUE ("reauthorization_id", "attempt")`);
    await q.query(`ALTER TABLE "reauthorizations" ADD "oauth_attempt" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "reauthorizations" ADD "state_hash" text`);
    await q.query(`ALTER TABLE "reauthorizations" ADD "oauth_key_id" text`);
    await q.query(`ALTER TABLE "reauthorizations" ADD "oauth_ciphertext" text`);
    await q.query(`ALTER TABLE "reauthorizations" ADD "allow_account_change" boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE UNIQUE INDEX "IDX_reauthorizations_state_hash" ON "reauthorizations" ("state_hash")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_reauthorizations_state_hash"`);
    for (const c of ['allow_account_change', 'oauth_ciphertext', 'oauth_key_id', 'state_hash', 'oauth_attempt']) {
      await q.query(`ALTER TABLE "reauthorizations" DROP COLUMN "${c}"`);
    }
    await q.query(`ALTER TABLE "credential_versions" DROP CONSTRAINT "UQ_credential_versions_reauth_attempt"`);
    await q.query(`ALTER TABLE "credential_versions" ADD CONSTRAINT "UQ_credential_versions_reauth" UNIQUE ("reauthorization_id")`);
    await q.query(`ALTER TABLE "credential_versions" DROP COLUMN "metadata"`);
    await q.query(`ALTER TABLE "credential_versions" DROP COLUMN "attempt"`);
    await q.query(`DELETE FROM "credential_versions" WHERE "version" IS NULL`);
    await q.query(`ALTER TABLE "credential_versions" ALTER COLUMN "version" SET NOT NULL`);
  }
}
