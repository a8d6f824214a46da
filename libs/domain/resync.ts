/**
 * Full entity re-sync vocabulary, shared
 * by the API, the workflows and the activities. Pure types and constants: the workflow bundle
 * imports this file, so it must stay free of Node APIs and I/O.
 */
export type ResyncStatus = 'running' | 'completed' | 'partial' | 'failed';
export type ResyncTrigger = 'reauthorization' | 'api';
/** `builtin`: the engine pages through the CRM itself; `delegated`: an external sync service imports and signals completion. */
export type ResyncEntityMode = 'builtin' | 'delegated';
export type ResyncEntityStatus = 'pending' | 'running' | 'completed' | 'failed';

export const FINAL_RESYNC_STATUSES: ReadonlySet<string> = new Set(['completed', 'partial', 'failed']);
export const FINAL_ENTITY_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed']);

export interface ResyncError {
  code: string;
  message: string;
}

export interface EntityPlan {
  entity: string;
  mode: ResyncEntityMode;
}

export interface FullResyncInput {
  resyncId: string;
  tenantId: string;
  integrationId: string;
  provider: string;
  trigger: ResyncTrigger;
  reauthorizationId: string | null;
  entities: EntityPlan[];
  /** How long a delegated entity may take before it fails with `timeout`. */
  delegateTimeoutSeconds: number;
}

export interface EntityResyncInput {
  resyncId: string;
  tenantId: string;
  integrationId: string;
  provider: string;
  entity: string;
  mode: ResyncEntityMode;
  delegateTimeoutSeconds: number;
}

/** What an external sync service reports for a delegated entity (signal `entityCompleted`). */
export interface EntityCompletion {
  imported?: number;
  updated?: number;
  error?: ResyncError | null;
}

export interface EntityResult {
  entity: string;
  mode: ResyncEntityMode;
  status: ResyncEntityStatus;
  imported: number;
  updated: number;
  pages: number;
  error: ResyncError | null;
}

/** Answer of the `progress` query and of the workflow; mirrored by the `resyncs` rows. */
export interface ResyncProgress {
  resyncId: string;
  integrationId: string;
  status: ResyncStatus;
  entities: EntityResult[];
}

/** Where the built-in importer stands: committed with each page, and heartbeated. */
export interface ImportCheckpoint {
  /** Cursor of the next page to fetch; null before the first page and after the last one. */
  cursor: string | null;
  pages: number;
  imported: number;
  updated: number;
  done: boolean;
}

export const RESYNC_WORKFLOW_PREFIX = 'resync:';

/** One full re-sync per integration at a time: the parent's id is per integration. */
export function resyncWorkflowId(integrationId: string): string {
  return `${RESYNC_WORKFLOW_PREFIX}${integrationId}`;
}

export function entityResyncWorkflowId(resyncId: string, entity: string): string {
  return `${RESYNC_WORKFLOW_PREFIX}${resyncId}:${entity}`;
}

/** Final status of a re-sync from its entities: all completed, none completed, or some of each. */
export function overallStatus(entities: Array<{ status: string }>): ResyncStatus {
  const completed = entities.filter((e) => e.status === 'completed').length;
  if (completed === entities.length) return 'completed';
  if (completed === 0) return 'failed';
  return 'partial';
}

export const DEFAULT_DELEGATE_TIMEOUT_SECONDS = 86_400;
export const MAX_DELEGATE_TIMEOUT_SECONDS = 30 * 86_400;
