/**
 * Where the time of one workflow run goes, from its history: every event with its offset from the
 * start, and the gaps that matter — a workflow task waiting in the queue (scheduled → started), a
 * worker working on it (started → completed), an activity waiting for a worker, running, and
 * coming back. `npm run bench` prints it for one API-token reauthorization; it also runs alone:
 *   node dist/scripts/workflow-trace.js <workflowId> [runId]   (TEMPORAL_ADDRESS, default localhost:7233)
 */
import { Client, Connection } from '@temporalio/client';
import { loadSections } from '../libs/config/config';
import { SETTINGS } from '../libs/config/settings';
import { connectionOptions, temporalAddress } from '../libs/temporal/connect';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

function millis(event: HistoryEvent): number {
  const t = event.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN;
}

/** The event's name without the enum's prefix, plus what it was about (activity, update, marker). */
function describe(event: HistoryEvent): string {
  const name = EventType[event.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '').toLowerCase() ?? String(event.eventType);
  const about =
    event.activityTaskScheduledEventAttributes?.activityType?.name ??
    event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ??
    event.workflowExecutionSignaledEventAttributes?.signalName ??
    localActivityType(event) ??
    event.markerRecordedEventAttributes?.markerName ??
    '';
  return about ? `${name} ${about}` : name;
}

function localActivityType(event: HistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
  if (!data) return undefined;
  const type = (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type;
  return type ? `local activity ${type}` : undefined;
}

export interface TraceLine {
  atMs: number;
  sincePreviousMs: number;
  event: string;
}

/** One line per history event of the run, offsets from its first event. */
export async function traceWorkflow(client: Client, workflowId: string, runId?: string): Promise<TraceLine[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const start = millis(events[0]);
  let previous = start;
  return events.map((event) => {
    const at = millis(event);
    const line = { atMs: at - start, sincePreviousMs: at - previous, event: describe(event) };
    previous = at;
    return line;
  });
}

export function formatTrace(lines: TraceLine[]): string {
  return lines.map((l) => `${String(l.atMs).padStart(7)} ms  (+${String(l.sincePreviousMs).padStart(4)})  ${l.event}`).join('\n');
}

async function main(): Promise<void> {
  const [workflowId, runId] = process.argv.slice(2);
  if (!workflowId) throw new Error('usage: node dist/scripts/workflow-trace.js <workflowId> [runId]');
  // The same settings as the API and worker: a Temporal Cloud namespace needs its API key (over TLS).
  const { temporal } = loadSections({
    temporal: (read) => ({
      address: temporalAddress({ temporalAddress: read(SETTINGS.TEMPORAL_ADDRESS), temporalPort: read(SETTINGS.TEMPORAL_PORT) }),
      apiKey: read(SETTINGS.TEMPORAL_API_KEY),
      namespace: read(SETTINGS.TEMPORAL_NAMESPACE),
    }),
  });
  const connection = await Connection.connect(connectionOptions(temporal));
  try {
    const client = new Client({ connection, namespace: temporal.namespace });
    console.log(formatTrace(await traceWorkflow(client, workflowId, runId)));
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
