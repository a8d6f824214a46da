import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type IntegrationStatus = 'pending' | 'active' | 'degraded' | 'blocked' | 'disabled';

@Entity('integrations')
export class Integration {
  /** Chosen by the API before creation so a create-with-credentials workflow can own the insert. */
  @PrimaryColumn('uuid') id: string;
  @Index() @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ type: 'text' }) provider: string;
  @Column({ name: 'auth_type', type: 'text' }) authType: string;
  @Column({ name: 'display_name', type: 'text' }) displayName: string;
  @Column({ type: 'text' }) status: IntegrationStatus;
  @Column({ name: 'status_reason', type: 'text', nullable: true }) statusReason: string | null;
  @Column({ type: 'text', nullable: true }) region: string | null;
  @Column({ type: 'jsonb', default: {} }) config: Record<string, unknown>;
  @Column({ name: 'required_scopes', type: 'text', array: true, default: '{}' }) requiredScopes: string[];
  /** Version number of the active credential version; null while pending. */
  @Column({ name: 'credential_version', type: 'int', nullable: true }) credentialVersion: number | null;
  /** Last time the credentials were refreshed or checked against the CRM. */
  @Column({ name: 'last_checked_at', type: 'timestamptz', nullable: true }) lastCheckedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
