import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { ResyncEntityMode, ResyncEntityStatus } from '../../domain/resync';

/** One entity type of a re-sync (its `entityResync` child workflow): progress, counts, outcome. */
@Entity('resync_entities')
@Unique('UQ_resync_entities_resync_entity', ['resyncId', 'entity'])
export class ResyncEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'resync_id', type: 'uuid' }) resyncId: string;
  @Column({ type: 'text' }) entity: string;
  @Column({ type: 'text' }) mode: ResyncEntityMode;
  @Column({ type: 'text' }) status: ResyncEntityStatus;
  /** Records that did not exist locally before. */
  @Column({ type: 'int', default: 0 }) imported: number;
  /** Existing records whose data changed. Unchanged records count as neither. */
  @Column({ type: 'int', default: 0 }) updated: number;
  @Column({ type: 'int', default: 0 }) pages: number;
  /** Built-in importer checkpoint: cursor of the next page, committed with the page before it. */
  @Column({ type: 'text', nullable: true }) cursor: string | null;
  @Column({ name: 'error_code', type: 'text', nullable: true }) errorCode: string | null;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage: string | null;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
}
