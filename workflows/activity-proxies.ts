import { type ActivityOptions, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/*
 * How workflows call activities, by what the call talks to. Which failures are final is decided
 * by the activities themselves (they throw non-retryable failures for those), so no option here
 * repeats a list of error types.
 */

/** Bookkeeping against our own Postgres: retried patiently, it only fails if the database is gone. */
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

/**
 * Calls to the CRM while a person waits for the answer: a few quick retries of transient faults,
 * then the person gets a clear `crm_unavailable` instead of a request left hanging.
 */
export const crmWhileUserWaits = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4 },
});

/**
 * Calls to the CRM in the background (refreshes, health checks): transient faults (network, 5xx,
 * 429) retry with backoff; a Retry-After from the CRM becomes the next retry delay (set by the
 * activity), so we never come back sooner than the CRM asked.
 */
const CRM_IN_BACKGROUND: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '60 seconds', maximumAttempts: 10 },
};
export const crmInBackground = proxyActivities<Activities>(CRM_IN_BACKGROUND);

/**
 * The same, on the CRM's own task queue, whose workers cap how many such calls start per second
 * for that CRM across the deployment. `scheduleToStartTimeout` is not set: waiting for the cap is
 * the point.
 */
export function crmInBackgroundOn(taskQueue: string): typeof crmInBackground {
  return proxyActivities<Activities>({ ...CRM_IN_BACKGROUND, taskQueue });
}

/**
 * Starting another workflow from an activity is quick (update-with-start answers once it has
 * recorded itself); retried a few times, then given up on by the caller.
 */
export const workflowStarter = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

/*
 * The same two kinds of call as local activities: run by the worker that runs the workflow task,
 * inside that task, with no server round trip per call. For the short steps a person waits on (a
 * few Postgres statements, one who-am-I at the CRM). Their retries are the same; a worker that
 * dies mid-call has the call run again by the next one, which the activities allow (idempotent).
 */
export const bookkeepingInTask = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

export const crmWhileUserWaitsInTask = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4 },
});
