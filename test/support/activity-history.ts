/**
 * What a workflow's history says about its activities: how often each was scheduled, on which
 * attempt it closed, and what it returned (decoded with the client's codec). Lets e2e tests prove
 * that a retry or a race really happened, instead of only that the end state looks right. Local
 * activities count too: they leave one marker each, written when they closed.
 */
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';

export interface ActivityExecution {
  activityType: string;
  activityId: string;
  /** The run of the workflow (continue-as-new starts a new one) that scheduled it. */
  runId: string;
  /** The attempt on which it closed: 1 unless Temporal had to retry it. Null while still open. */
  attempt: number | null;
  status: 'open' | 'completed' | 'failed' | 'timed_out' | 'canceled';
  /** The decoded return value, for completed activities. */
  result?: unknown;
  /** The task queue it was scheduled on (local activities: none). */
  taskQueue?: string;
  /** Ran as a local activity (inside a workflow task; recorded as a marker). */
  local?: boolean;
}

/** The SDK's marker for a local activity: written once it closed, with what it was and how it ended. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

async function localActivityOf(client: Client, runId: string, event: HistoryEvent): Promise<ActivityExecution | null> {
  const marker = event.markerRecordedEventAttributes;
  if (!marker || marker.markerName !== LOCAL_ACTIVITY_MARKER) return null;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) return null;
  const info = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string; activity_id?: string; attempt?: number };
  const result = marker.details?.result?.payloads;
  return {
    activityType: info.activity_type ?? '',
    activityId: info.activity_id ?? '',
    runId,
    attempt: info.attempt ?? null,
    status: marker.failure ? 'failed' : 'completed',
    ...(marker.failure ? {} : { result: await decodeFromPayloadsAtIndex(client.options.loadedDataConverter, 0, result) }),
    local: true,
  };
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function executionsOfRun(client: Client, runId: string, events: HistoryEvent[]): Promise<ActivityExecution[]> {
  const byScheduledId = new Map<string, ActivityExecution>();
  const scheduledOf = (id: unknown) => byScheduledId.get(String(id));
  for (const event of events) {
    const ran = await localActivityOf(client, runId, event);
    if (ran) {
      byScheduledId.set(`marker-${String(event.eventId)}`, ran);
      continue;
    }
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byScheduledId.set(String(event.eventId), {
        activityType: scheduled.activityType?.name ?? '',
        activityId: scheduled.activityId ?? '',
        runId,
        taskQueue: scheduled.taskQueue?.name ?? undefined,
        attempt: null,
        status: 'open',
      });
      continue;
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      // Temporal writes this event once the activity closes, with the attempt that closed it.
      const execution = scheduledOf(started.scheduledEventId);
      if (execution) execution.attempt = started.attempt ?? null;
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const execution = scheduledOf(completed.scheduledEventId);
      if (execution) {
        execution.status = 'completed';
        execution.result = await decodeFromPayloadsAtIndex(client.options.loadedDataConverter, 0, completed.result?.payloads);
      }
      continue;
    }
    const closed =
      (event.activityTaskFailedEventAttributes && (['failed', event.activityTaskFailedEventAttributes] as const)) ||
      (event.activityTaskTimedOutEventAttributes && (['timed_out', event.activityTaskTimedOutEventAttributes] as const)) ||
      (event.activityTaskCanceledEventAttributes && (['canceled', event.activityTaskCanceledEventAttributes] as const));
    if (closed) {
      const execution = scheduledOf(closed[1].scheduledEventId);
      if (execution) execution.status = closed[0];
    }
  }
  return [...byScheduledId.values()];
}

/**
 * Every activity execution of `workflowId` (optionally only those of `activityType`), over all its
 * runs: the chain of continue-as-new is followed back from the latest run, oldest run first.
 */
export async function activityExecutions(client: Client, workflowId: string, activityType?: string): Promise<ActivityExecution[]> {
  const runs: ActivityExecution[][] = [];
  let runId: string | undefined;
  for (;;) {
    const handle = client.workflow.getHandle(workflowId, runId);
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const thisRunId = runId ?? (await handle.describe()).runId;
    runs.unshift(await executionsOfRun(client, thisRunId, events));
    const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) break;
    runId = previous;
  }
  const all = runs.flat();
  return activityType === undefined ? all : all.filter((execution) => execution.activityType === activityType);
}
