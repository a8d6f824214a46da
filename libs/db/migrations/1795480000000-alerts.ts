import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Admin alerts (at most one open per integration) and the bookkeeping of credential health checks. */
export class Alerts1795480000000 implements MigrationInterface {
  name = 'Alerts1795480000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "alerts" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "tenant_id" uuid NOT NULL REFERENCES "tenants"("id") ON DELETE CASCADE,
      "integration_id" uuid NOT NULL REFERENCES "integrations"("id") ON DELETE CASCADE,
      "level" text NOT NULL,
      "code" text NOT NULL,
      "message" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "resolved_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_alerts" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_alerts_tenant" ON "alerts" ("tenant_id")`);
    await q.query(`CREATE INDEX "IDX_alerts_integration" ON "alerts" ("integration_id")`);
    // One open alert per integration: a repeated failure updates it instead of stacking duplicates.
    await q.query(`CREATE UNIQUE INDEX "UQ_alerts_open_per_integration" ON "alerts" ("integration_id") WHERE "resolved_at" IS NULL`);
    await q.query(`ALTER TABLE "integrations" ADD "last_checked_at" TIMESTAMP WITH TIME ZONE`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "integrations" DROP COLUMN "last_checked_at"`);
    await q.query(`DROP TABLE "alerts"`);
  }
}
