import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EntityCompletion, EntityResult, EntityResyncInput, FullResyncInput, ResyncProgress, ResyncStatus } from '../domain/resync';

/**
 * The `fullResync` workflow (id `resync:<integrationId>`) and its `entityResync` children as their
 * clients see them: types and messages shared by the workflows, the API and the worker's activities.
 */
export const FULL_RESYNC_WORKFLOW = 'fullResync';
export type FullResyncWorkflow = (input: FullResyncInput) => Promise<ResyncProgress>;
export type EntityResyncWorkflow = (input: EntityResyncInput) => Promise<EntityResult>;

/** Live progress of a full re-sync (per-entity status); what operators see with "Query" in the Temporal UI. */
export const progressQuery = defineQuery<ResyncProgress>('progress');
/**
 * Answers once the re-sync has recorded itself (its rows exist), with its id: used with
 * update-with-start, so a request that lands on a running re-sync learns which one it is.
 */
export const awaitResyncStartedUpdate = defineUpdate<{ resyncId: string; status: ResyncStatus }>('awaitResyncStarted');
/** An external sync service finished (or gave up on) a delegated entity. */
export const entityCompletedSignal = defineSignal<[EntityCompletion]>('entityCompleted');
