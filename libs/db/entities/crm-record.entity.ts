import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';

/**
 * A CRM record imported by a re-sync. `id` is the local id and never changes; the CRM's own id is
 * `externalId`, unique per integration and entity, so importing again updates instead of duplicating.
 */
@Entity('crm_records')
@Unique('UQ_crm_records_integration_entity_external', ['integrationId', 'entity', 'externalId'])
export class CrmRecord {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'integration_id', type: 'uuid' }) integrationId: string;
  @Column({ type: 'text' }) entity: string;
  @Column({ name: 'external_id', type: 'text' }) externalId: string;
  @Column({ type: 'jsonb' }) data: Record<string, unknown>;
  @Column({ name: 'external_updated_at', type: 'timestamptz', nullable: true }) externalUpdatedAt: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
