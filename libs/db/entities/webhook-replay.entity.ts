import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * One `POST /v1/webhook-endpoints/:id/replay`: the events of `[since, until]` it covers (at most
 * the replay limit, oldest first), and, once its workflow has handed them all to their deliveries,
 * how many were queued and how many skipped (already being delivered).
 */
@Entity('webhook_replays')
export class WebhookReplay {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Column({ name: 'endpoint_id', type: 'uuid' }) endpointId: string;
  @Column({ type: 'timestamptz' }) since: Date;
  @Column({ type: 'timestamptz' }) until: Date;
  @Column({ type: 'text' }) status: 'running' | 'completed';
  /** Events in the window when it was requested, at most the limit. */
  @Column({ type: 'int' }) matched: number;
  /** More events than the limit: the rest start at `resumeFrom`. */
  @Column({ type: 'boolean', default: false }) truncated: boolean;
  @Column({ name: 'resume_from', type: 'timestamptz', nullable: true }) resumeFrom: Date | null;
  @Column({ type: 'int', nullable: true }) queued: number | null;
  @Column({ type: 'int', nullable: true }) skipped: number | null;
  @Column({ name: 'actor_kind', type: 'text', default: 'engine' }) actorKind: string;
  @Column({ name: 'actor_id', type: 'text', nullable: true }) actorId: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
}
