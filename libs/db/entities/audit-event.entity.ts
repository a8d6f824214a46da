import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Append-only record of what happened to an integration. Never holds a secret. */
@Entity('audit_events')
export class AuditEvent {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index() @Column({ name: 'tenant_id', type: 'uuid' }) tenantId: string;
  @Index() @Column({ name: 'integration_id', type: 'uuid', nullable: true }) integrationId: string | null;
  @Column({ type: 'text' }) type: string;
  @Column({ type: 'jsonb', default: {} }) data: Record<string, unknown>;
  /** Who acted (`api_key`, `console`, `connect_page`, `engine`); see libs/domain/audit.ts. */
  @Column({ name: 'actor_kind', type: 'text', default: 'engine' }) actorKind: string;
  /** The API key's id for `api_key` / `console` (never the key itself). */
  @Column({ name: 'actor_id', type: 'text', nullable: true }) actorId: string | null;
  /** How it ended, when the writer says; otherwise it follows from `type` (`outcomeOfType`). */
  @Column({ type: 'text', nullable: true }) outcome: string | null;
  /** Natural key of the event, so an activity retried after a crash does not append twice. */
  @Column({ name: 'dedupe_key', type: 'text', nullable: true, unique: true }) dedupeKey: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
