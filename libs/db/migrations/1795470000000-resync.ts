import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full entity re-sync: `resyncs` (one per run of `fullResync`), `resync_entities` (one per entity
 * type, with the importer's committed checkpoint) and `crm_records` (imported records, unique by
 * the CRM's id per integration and entity, so a re-sync never duplicates).
 */
export class Resync1795470000000 implements MigrationInterface {
  name = 'Resync1795470000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "resyncs" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "tenant_id" uuid NOT NULL,
      "integration_id" uuid NOT NULL,
      "status" text NOT NULL,
      "trigger" text NOT NULL,
      "reauthorization_id" uuid,
      "entities" text array NOT NULL DEFAULT '{}',
      "workflow_id" text NOT NULL,
      "run_id" text,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "completed_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_resyncs" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_resyncs_status" CHECK ("status" IN ('running', 'completed', 'partial', 'failed')),
      CONSTRAINT "CHK_resyncs_trigger" CHECK ("trigger" IN ('reauthorization', 'api')),
      CONSTRAINT "FK_resyncs_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE,
      CONSTRAINT "FK_resyncs_integration" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE,
      CONSTRAINT "FK_resyncs_reauthorization" FOREIGN KEY ("reauthorization_id") REFERENCES "reauthorizations"("id") ON DELETE SET NULL
    )`);
    await q.query(`CREATE INDEX "IDX_resyncs_tenant" ON "resyncs" ("tenant_id")`);
    await q.query(`CREATE INDEX "IDX_resyncs_integration_created" ON "resyncs" ("integration_id", "created_at")`);
    // At most one running re-sync per integration (the workflow id already guarantees it; this keeps the rows honest).
    await q.query(`CREATE UNIQUE INDEX "UQ_resyncs_one_running" ON "resyncs" ("integration_id") WHERE "status" = 'running'`);

    await q.query(`CREATE TABLE "resync_entities" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "resync_id" uuid NOT NULL,
      "entity" text NOT NULL,
      "mode" text NOT NULL,
      "status" text NOT NULL,
      "imported" integer NOT NULL DEFAULT 0,
      "updated" integer NOT NULL DEFAULT 0,
      "pages" integer NOT NULL DEFAULT 0,
      "cursor" text,
      "error_code" text,
      "error_message" text,
      "started_at" TIMESTAMP WITH TIME ZONE,
      "completed_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_resync_entities" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_resync_entities_resync_entity" UNIQUE ("resync_id", "entity"),
      CONSTRAINT "CHK_resync_entities_mode" CHECK ("mode" IN ('builtin', 'delegated')),
      CONSTRAINT "CHK_resync_entities_status" CHECK ("status" IN ('pending', 'running', 'completed', 'failed')),
      CONSTRAINT "FK_resync_entities_resync" FOREIGN KEY ("resync_id") REFERENCES "resyncs"("id") ON DELETE CASCADE
    )`);

    await q.query(`CREATE TABLE "crm_records" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "tenant_id" uuid NOT NULL,
      "integration_id" uuid NOT NULL,
      "entity" text NOT NULL,
      "external_id" text NOT NULL,
      "data" jsonb NOT NULL,
      "external_updated_at" TIMESTAMP WITH TIME ZONE,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_crm_records" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_crm_records_integration_entity_external" UNIQUE ("integration_id", "entity", "external_id"),
      CONSTRAINT "FK_crm_records_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE,
      CONSTRAINT "FK_crm_records_integration" FOREIGN KEY ("integration_id") REFERENCES "integrations"("id") ON DELETE CASCADE
    )`);
    await q.query(`CREATE INDEX "IDX_crm_records_tenant" ON "crm_records" ("tenant_id")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "crm_records"`);
    await q.query(`DROP TABLE "resync_entities"`);
    await q.query(`DROP TABLE "resyncs"`);
  }
}
