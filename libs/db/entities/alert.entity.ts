import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** An admin alert: opened when an integration becomes degraded or blocked, resolved on recovery. */
@Entity('alerts')
export class Alert {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index() @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Index() @Column({ name: 'integration_id', type: 'uuid' }) integrationId: string;
  @Column({ type: 'text' }) level: 'warning' | 'error';
  @Column({ type: 'text' }) code: string;
  @Column({ type: 'text' }) message: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true }) resolvedAt: Date | null;
}
