import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** One emitted webhook event. The id is made by the emitting workflow, so recording it is idempotent. */
@Entity('webhook_events')
export class WebhookEvent {
  @PrimaryColumn('uuid') id: string;
  @Index('IDX_webhook_events_tenant') @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ type: 'text' }) type: string;
  @Column({ name: 'integration_id', type: 'uuid', nullable: true }) integrationId: string | null;
  /** The `payload` of the delivered body, frozen when the event was recorded. Never holds a secret. */
  @Column({ type: 'jsonb', default: {} }) payload: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
