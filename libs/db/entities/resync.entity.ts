import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { ResyncStatus, ResyncTrigger } from '../../domain/resync';

/** One full entity re-sync of an integration; mirrors its `fullResync` workflow (`resync:<integrationId>`). */
@Entity('resyncs')
export class Resync {
  /** Chosen by whoever starts the workflow, so the workflow's first activity can own the insert. */
  @PrimaryColumn('uuid') id: string;
  @Index() @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Index() @Column({ name: 'integration_id', type: 'uuid' }) integrationId: string;
  @Column({ type: 'text' }) status: ResyncStatus;
  @Column({ type: 'text' }) trigger: ResyncTrigger;
  @Column({ name: 'reauthorization_id', type: 'uuid', nullable: true }) reauthorizationId: string | null;
  @Column({ type: 'text', array: true, default: '{}' }) entities: string[];
  @Column({ name: 'workflow_id', type: 'text' }) workflowId: string;
  @Column({ name: 'run_id', type: 'text', nullable: true }) runId: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
}
