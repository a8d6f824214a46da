import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event to one endpoint: the delivery log row its `webhookDelivery` workflow keeps up to date. */
@Entity('webhook_deliveries')
@Unique('UQ_webhook_deliveries_event_endpoint', ['eventId', 'endpointId'])
@Index('IDX_webhook_deliveries_endpoint_created', ['endpointId', 'createdAt'])
export class WebhookDelivery {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'event_id', type: 'uuid' }) eventId: string;
  @Column({ name: 'endpoint_id', type: 'uuid' }) endpointId: string;
  @Column({ type: 'text' }) status: WebhookDeliveryStatus;
  @Column({ type: 'int', default: 0 }) attempts: number;
  @Column({ name: 'last_status_code', type: 'int', nullable: true }) lastStatusCode: number | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true }) deliveredAt: Date | null;
  /** When the receiver was last tried (any outcome). */
  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true }) lastAttemptAt: Date | null;
  /** How many times it was sent again on request (redelivery, replay) after its first delivery. */
  @Column({ type: 'int', default: 0 }) resends: number;
  /** Which resend it is on (`redelivery-<n>`, `replay-<replayId>`), part of that resend's workflow id; null: the first delivery. */
  @Column({ name: 'resend_key', type: 'text', nullable: true }) resendKey: string | null;
}
