import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EntityCompletion, ResyncProgress, ResyncStatus } from '../libs/domain/resync';

/** Message types of `fullResync` / `entityResync`; shared by the workflows and their clients (API, worker). */

/** Live progress of a full re-sync (per-entity status); what operators see with "Query" in the Temporal UI. */
export const progressQuery = defineQuery<ResyncProgress>('progress');
/**
 * Answers once the re-sync has recorded itself (its rows exist), with its id: used with
 * update-with-start, so a request that lands on a running re-sync learns which one it is.
 */
export const awaitResyncStartedUpdate = defineUpdate<{ resyncId: string; status: ResyncStatus }>('awaitResyncStarted');
/** An external sync service finished (or gave up on) a delegated entity. */
export const entityCompletedSignal = defineSignal<[EntityCompletion]>('entityCompleted');
