import type {
  EntityPlan,
  EntityResult,
  ResyncEntityStatus,
  ResyncError,
  ResyncStatus,
  ResyncTrigger,
} from '../libs/domain/resync';

/**
 * The re-sync activities as the workflows see them (implemented in `activities/resync.activities.ts`).
 * Part of {@link import('./activity-types').Activities}.
 */
export interface ResyncActivityTypes {
  /** Records the re-sync and one pending row per entity. Idempotent. */
  beginResync(args: {
    resyncId: string;
    tenantId: string;
    integrationId: string;
    trigger: ResyncTrigger;
    reauthorizationId: string | null;
    entities: EntityPlan[];
  }): Promise<void>;
  markResyncEntityRunning(args: { resyncId: string; entity: string }): Promise<void>;
  /**
   * The built-in importer: pages through the CRM, upserts each page by external id in one
   * transaction, heartbeats its cursor, resumes from it on retry.
   */
  importEntity(args: { resyncId: string; tenantId: string; integrationId: string; entity: string }): Promise<{
    imported: number;
    updated: number;
    pages: number;
  }>;
  /** Final state of one entity; a no-op (returning what is recorded) once it is final. */
  finishResyncEntity(args: {
    resyncId: string;
    entity: string;
    status: Extract<ResyncEntityStatus, 'completed' | 'failed'>;
    imported?: number;
    updated?: number;
    error?: ResyncError | null;
  }): Promise<EntityResult>;
  /** Final status of the re-sync from its entities' rows (completed / partial / failed). */
  completeResync(args: { resyncId: string }): Promise<{ status: ResyncStatus; entities: EntityResult[] }>;
  /** Starts (or joins the running) full re-sync of an integration after a re-authorization. Returns its id. */
  startResync(args: {
    resyncId: string;
    tenantId: string;
    integrationId: string;
    trigger: ResyncTrigger;
    reauthorizationId: string | null;
  }): Promise<string>;
}
