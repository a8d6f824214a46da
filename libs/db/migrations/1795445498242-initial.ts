import { MigrationInterface, QueryRunner } from "typeorm";

/** The first schema: tenants, API keys, providers, integrations, credential versions, reauthorizations, audit. */
export class Initial1795445498242 implements MigrationInterface {
    name = 'Initial1795445498242'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "key_hash" text NOT NULL, "prefix" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "UQ_57384430aa1959f4578046c9b81" UNIQUE ("key_hash"), CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_3ac18429c8d27858d79432e0dd" ON "api_keys" ("tenant_id") `);
        await queryRunner.query(`CREATE TABLE "audit_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "integration_id" uuid, "type" text NOT NULL, "data" jsonb NOT NULL DEFAULT '{}', "dedupe_key" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_84f97def2fff5f1dbd217f8e83c" UNIQUE ("dedupe_key"), CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_d7ff59f708e396fd6c1656a66e" ON "audit_events" ("tenant_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_fee34259aba2e16432dead8b7d" ON "audit_events" ("integration_id") `);
        await queryRunner.query(`CREATE TABLE "credential_versions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "integration_id" uuid NOT NULL, "tenant_id" uuid NOT NULL, "version" integer NOT NULL, "state" text NOT NULL, "account_id" text, "user_id" text, "scopes" text array NOT NULL DEFAULT '{}', "expires_at" TIMESTAMP WITH TIME ZONE, "region" text, "base_url" text, "key_id" text NOT NULL, "ciphertext" text NOT NULL, "reauthorization_id" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_f7f91589e043c4ed69eff00e6eb" UNIQUE ("reauthorization_id"), CONSTRAINT "UQ_78d711772ce6f4ee8b6fd872de4" UNIQUE ("integration_id", "version"), CONSTRAINT "PK_043316e51edc6dbb84234b3ca53" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "integrations" ("id" uuid NOT NULL, "tenant_id" uuid NOT NULL, "provider" text NOT NULL, "auth_type" text NOT NULL, "display_name" text NOT NULL, "status" text NOT NULL, "status_reason" text, "region" text, "config" jsonb NOT NULL DEFAULT '{}', "required_scopes" text array NOT NULL DEFAULT '{}', "credential_version" integer, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9adcdc6d6f3922535361ce641e8" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_d27dfc19be4aa3c1a45655d5a1" ON "integrations" ("tenant_id") `);
        await queryRunner.query(`CREATE TABLE "provider_configs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "tenant_id" uuid NOT NULL, "provider_key" text NOT NULL, "auth_type" text NOT NULL, "settings" jsonb NOT NULL DEFAULT '{}', "secret_key_id" text, "secret_ciphertext" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_6afbab0e1ce66e7739c2da35a5a" UNIQUE ("tenant_id", "provider_key"), CONSTRAINT "PK_00bf1b21735102954736b29cdb8" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "reauthorizations" ("id" uuid NOT NULL, "tenant_id" uuid NOT NULL, "integration_id" uuid NOT NULL, "workflow_id" text NOT NULL, "run_id" text, "auth_type" text NOT NULL, "phase" text NOT NULL, "outcome" text, "error_code" text, "error_message" text, "full_resync" boolean NOT NULL DEFAULT false, "scopes" text array NOT NULL DEFAULT '{}', "region" text, "reason" text, "link_token_hash" text NOT NULL, "link_token_key_id" text NOT NULL, "link_token_ciphertext" text NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "resync_id" text, "attempts" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_4af089d089c9b8fa150a16be3f7" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_38f11aafeca78b5e2330e10a01" ON "reauthorizations" ("tenant_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_31c07f9d691f958cf7b9ce498b" ON "reauthorizations" ("integration_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_959f272cd659a7810716ab25ba" ON "reauthorizations" ("link_token_hash") `);
        await queryRunner.query(`CREATE TABLE "tenants" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_32731f181236a46182a38c992a8" UNIQUE ("name"), CONSTRAINT "PK_53be67a04681c66b87ee27c9321" PRIMARY KEY ("id"))`);
        // Referential integrity the entities do not model as relations (kept as plain ids on purpose).
        await queryRunner.query(`ALTER TABLE "api_keys" ADD CONSTRAINT "FK_api_keys_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE`);
        await queryRunner.query(`ALTER TABLE "integrations" ADD CONSTRAINT "FK_integrations_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE`);
        await queryRunner.query(`ALTER TABLE "provider_configs" ADD CONSTRAINT "FK_provider_configs_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE`);
        await queryRunner.query(`ALTER TABLE "credential_versions" ADD CONSTRAINT "FK_credential_versions_integration" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE`);
        await queryRunner.query(`ALTER TABLE "reauthorizations" ADD CONSTRAINT "FK_reauthorizations_integration" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        for (const [t, c] of [["reauthorizations","FK_reauthorizations_integration"],["credential_versions","FK_credential_versions_integration"],["provider_configs","FK_provider_configs_tenant"],["integrations","FK_integrations_tenant"],["api_keys","FK_api_keys_tenant"]]) {
            await queryRunner.query(`ALTER TABLE "${t}" DROP CONSTRAINT "${c}"`);
        }
        await queryRunner.query(`DROP TABLE "tenants"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_959f272cd659a7810716ab25ba"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_31c07f9d691f958cf7b9ce498b"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_38f11aafeca78b5e2330e10a01"`);
        await queryRunner.query(`DROP TABLE "reauthorizations"`);
        await queryRunner.query(`DROP TABLE "provider_configs"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_d27dfc19be4aa3c1a45655d5a1"`);
        await queryRunner.query(`DROP TABLE "integrations"`);
        await queryRunner.query(`DROP TABLE "credential_versions"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_fee34259aba2e16432dead8b7d"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_d7ff59f708e396fd6c1656a66e"`);
        await queryRunner.query(`DROP TABLE "audit_events"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_3ac18429c8d27858d79432e0dd"`);
        await queryRunner.query(`DROP TABLE "api_keys"`);
    }

}
