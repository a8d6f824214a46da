import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ReauthorizationStatus } from '../libs/domain/reauthorization';

/** Message types of the `reauthorization` workflow; shared by the workflow and the API's client. */
export const statusQuery = defineQuery<ReauthorizationStatus>('status');
/** Answers once the workflow has recorded itself (row, link token); used with update-with-start. */
export const awaitStartedUpdate = defineUpdate<ReauthorizationStatus>('awaitStarted');
/** The new API token, validated then swapped inside the update; rejects with the reason if invalid. */
export const submitApiTokenUpdate = defineUpdate<ReauthorizationStatus, [{ apiToken: string }]>('submitApiToken');
export const cancelUpdate = defineUpdate<ReauthorizationStatus, [{ reason?: string }]>('cancel');
