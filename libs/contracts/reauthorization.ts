import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ReauthorizationInput, ReauthorizationStatus } from '../domain/reauthorization';

/**
 * The `reauthorization` workflow as its clients see it (id `reauth:<integrationId>`): its type, and
 * the messages the API and the connect pages send it. The implementation lives in `workflows/`.
 */
export const REAUTHORIZATION_WORKFLOW = 'reauthorization';
export type ReauthorizationWorkflow = (input: ReauthorizationInput) => Promise<ReauthorizationStatus>;

/** Where the attempt stands; also what the Temporal UI's "Query" shows an operator. */
export const statusQuery = defineQuery<ReauthorizationStatus>('status');
/** Answers once the workflow has recorded itself (row, link token); used with update-with-start. */
export const awaitStartedUpdate = defineUpdate<ReauthorizationStatus>('awaitStarted');
/** The new API token, validated then swapped inside the update; rejects with the reason if invalid. */
export const submitApiTokenUpdate = defineUpdate<ReauthorizationStatus, [{ apiToken: string }]>('submitApiToken');
export const cancelUpdate = defineUpdate<ReauthorizationStatus, [{ reason?: string }]>('cancel');

/** What the OAuth callback endpoint hands over: the code (or the CRM's error) of one attempt. */
export interface OAuthCallbackPayload {
  /** SHA-256 of the `state` the callback carried; must be the current attempt's. */
  stateHash: string;
  code?: string;
  error?: string;
  errorDescription?: string;
  /** Extra callback parameters some CRMs send (Zoho: `location`, `accounts-server`). */
  params?: Record<string, string>;
}
export const oauthCallbackSignal = defineSignal<[OAuthCallbackPayload]>('oauthCallback');
