import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail as admins read it (`GET /v1/audit-events`): who acted (`actor_kind`, `actor_id`:
 * an API key's id, never the key) and how it ended (`outcome`; rows that have none carry it in their
 * type), plus the keyset indexes the newest-first pages walk, tenant-wide and per integration.
 */
export class AuditActors1795500000000 implements MigrationInterface {
  name = 'AuditActors1795500000000';

  public async up(q: QueryRunner): Promise<void> {
    // Every writer that names no actor is the engine (a workflow's activity).
    await q.query(`ALTER TABLE "audit_events" ADD "actor_kind" text NOT NULL DEFAULT 'engine'`);
    await q.query(`ALTER TABLE "audit_events" ADD "actor_id" text`);
    await q.query(`ALTER TABLE "audit_events" ADD "outcome" text`);
    await q.query(`CREATE INDEX "IDX_audit_events_tenant_created" ON "audit_events" ("tenant_id", "created_at" DESC, "id" DESC)`);
    await q.query(`CREATE INDEX "IDX_audit_events_integration_created" ON "audit_events" ("tenant_id", "integration_id", "created_at" DESC, "id" DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_audit_events_integration_created"`);
    await q.query(`DROP INDEX "IDX_audit_events_tenant_created"`);
    await q.query(`ALTER TABLE "audit_events" DROP COLUMN "outcome"`);
    await q.query(`ALTER TABLE "audit_events" DROP COLUMN "actor_id"`);
    await q.query(`ALTER TABLE "audit_events" DROP COLUMN "actor_kind"`);
  }
}
