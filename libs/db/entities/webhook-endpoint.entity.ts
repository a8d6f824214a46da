import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * Where a tenant wants its webhook events. The signing secret is sealed with the credentials key
 * ring (AAD binds it to the endpoint id); it is shown once, when the endpoint is created.
 */
@Entity('webhook_endpoints')
export class WebhookEndpoint {
  /** Chosen by the API before the insert, because it is part of the secret's AAD. */
  @PrimaryColumn('uuid') id: string;
  @Index('IDX_webhook_endpoints_tenant') @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ type: 'text' }) url: string;
  /** Subscribed event types; null means every type, including ones added later. */
  @Column({ type: 'text', array: true, nullable: true }) events: string[] | null;
  @Column({ name: 'secret_key_id', type: 'text' }) secretKeyId: string;
  @Column({ name: 'secret_ciphertext', type: 'text' }) secretCiphertext: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  /** Soft delete: a deleted endpoint gets nothing more, but its delivery log stays for audit. */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt: Date | null;
}
