import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sending an event again: a delivery row counts its resends and remembers which resend it is on
 * (`resend_key`, part of that resend's workflow id) and when it was last attempted; replays of an
 * endpoint are recorded with what they covered. Events are listed per tenant, newest first.
 */
export class WebhookResends1795520000000 implements MigrationInterface {
  name = 'WebhookResends1795520000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "webhook_deliveries"
      ADD COLUMN "resends" integer NOT NULL DEFAULT 0,
      ADD COLUMN "resend_key" text,
      ADD COLUMN "last_attempt_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`CREATE INDEX "IDX_webhook_events_tenant_created" ON "webhook_events" ("tenant_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "IDX_webhook_deliveries_event" ON "webhook_deliveries" ("event_id")`);

    await q.query(`CREATE TABLE "webhook_replays" (
      "id" uuid NOT NULL,
      "tenant_id" uuid NOT NULL,
      "endpoint_id" uuid NOT NULL,
      "since" TIMESTAMP WITH TIME ZONE NOT NULL,
      "until" TIMESTAMP WITH TIME ZONE NOT NULL,
      "status" text NOT NULL,
      "matched" integer NOT NULL,
      "truncated" boolean NOT NULL DEFAULT false,
      "resume_from" TIMESTAMP WITH TIME ZONE,
      "queued" integer,
      "skipped" integer,
      "actor_kind" text NOT NULL DEFAULT 'engine',
      "actor_id" text,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "completed_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_webhook_replays" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_webhook_replays_status" CHECK ("status" IN ('running', 'completed')),
      CONSTRAINT "FK_webhook_replays_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE,
      CONSTRAINT "FK_webhook_replays_endpoint" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX "IDX_webhook_replays_endpoint_created" ON "webhook_replays" ("endpoint_id", "created_at")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "webhook_replays"`);
    await q.query(`DROP INDEX "IDX_webhook_deliveries_event"`);
    await q.query(`DROP INDEX "IDX_webhook_events_tenant_created"`);
    await q.query(`ALTER TABLE "webhook_deliveries" DROP COLUMN "last_attempt_at", DROP COLUMN "resend_key", DROP COLUMN "resends"`);
  }
}
