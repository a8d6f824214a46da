/**
 * Records workflow histories of an end-to-end run as replay fixtures (test/replay/histories).
 *
 * Every execution the client can see is fetched and sorted by workflow type and by a readable
 * outcome label ("api-token-succeeded", "delegated-failed-timeout", "running-refreshed-checked").
 * Within a label only histories whose commands differ are kept — a copy of a branch already kept
 * adds nothing to a replay test — at most three, smallest first. Each e2e file starts its own
 * Temporal server, so a run adds to what is already in the directory and never rewrites or drops a
 * file there: a history on disk may be what running workflows look like. Only a branch (label) with
 * free places and commands not yet on disk gets new files.
 *
 * Payloads stay as Temporal stored them, encrypted with the run's codec keys: replaying needs the
 * same keys (TEST_PAYLOAD_CODEC_KEYS of the recording run), and no secret is ever written in clear.
 *
 * The files are protobufjs JSON of `temporal.api.history.v1.History` (`History.toJSON()`), read back
 * with `historyFromFile`. Not the SDK's `historyToJSON`/`historyFromJSON`: with the copies of
 * protobufjs this dependency tree installs (one per @temporalio package), those throw
 * "type must be a Type".
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/codec-helpers';
import { temporal } from '@temporalio/proto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const EventType = temporal.api.enums.v1.EventType;
type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Histories kept per workflow type and label. */
const MAX_PER_LABEL = 3;
/** A history this large is a long retry loop, not a branch worth a fixture. */
const MAX_FILE_BYTES = 400_000;
/** Fixtures are committed: beyond this, prune by hand (or drop a test from the recording run). */
const MAX_TOTAL_BYTES = 3_000_000;
/** Written next to the histories for people; not JSON, so the replay test does not load it. */
const INDEX_FILE = 'INDEX.md';

/** Where the execution ended, as a word for file names. */
type CloseStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed-out' | 'continued-as-new';

interface Facts {
  workflowType: string;
  status: CloseStatus;
  /** First workflow argument, decoded (undefined if it could not be). */
  input: Record<string, unknown> | undefined;
  /** Return value of a completed run, decoded. */
  result: Record<string, unknown> | undefined;
  /** `ApplicationFailure.type` of a failed run. */
  failureType: string | undefined;
  activities: Set<string>;
  signals: Set<string>;
  /** Types of the child workflows it started. */
  children: Set<string>;
  /** A workflow task timed out or failed (e.g. the worker was killed): part of what a replay must handle. */
  workflowTaskRetried: boolean;
}

interface Candidate {
  label: string;
  /** What the workflow did, in order: the commands, and the inputs that drove them. */
  signature: string;
  json: string;
  eventCount: number;
}

/** A history as the text of a fixture file. */
export function historyToFile(history: History): string {
  return JSON.stringify(temporal.api.history.v1.History.fromObject(history).toJSON(), null, 2);
}

/** A fixture file's text as the history `Worker.runReplayHistories` takes. */
export function historyFromFile(text: string): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(JSON.parse(text));
}

/** The file must give back the very history Temporal sent, byte for byte, or replaying it proves nothing. */
function assertRoundTrip(history: History, json: string): void {
  const { History: HistoryMessage } = temporal.api.history.v1;
  const sent = Buffer.from(HistoryMessage.encode(HistoryMessage.fromObject(history)).finish());
  const readBack = Buffer.from(HistoryMessage.encode(historyFromFile(json)).finish());
  if (!sent.equals(readBack)) throw new Error('history JSON does not round-trip');
}

export async function recordHistories(client: Client, dir: string): Promise<void> {
  const converter = client.options.loadedDataConverter;
  const fresh = new Map<string, Candidate[]>();
  for await (const execution of client.workflow.list()) {
    const candidate = await recordExecution(client, converter, execution).catch((err: unknown) => {
      console.warn(`history recorder: skipped ${execution.type} ${execution.workflowId}: ${(err as Error)?.message}`);
      return undefined;
    });
    if (!candidate) continue;
    const list = fresh.get(execution.type) ?? [];
    list.push(candidate);
    fresh.set(execution.type, list);
  }

  for (const [workflowType, candidates] of fresh) {
    const typeDir = path.join(dir, workflowType);
    fs.mkdirSync(typeDir, { recursive: true });
    const existing = readExisting(typeDir);
    for (const [label, group] of groupBy(candidates, (c) => c.label)) {
      const kept = existing.filter((e) => e.label === label);
      const known = new Set(kept.map((e) => e.signature));
      const free = Math.max(0, MAX_PER_LABEL - kept.length);
      let next = Math.max(0, ...kept.map((e) => e.number)) + 1;
      for (const c of choose(group.filter((c) => !known.has(c.signature))).slice(0, free)) {
        fs.writeFileSync(path.join(typeDir, `${label}-${next++}.json`), c.json + '\n');
      }
    }
  }
  if (fresh.size > 0) writeIndex(dir);
}

async function recordExecution(client: Client, converter: LoadedDataConverter, execution: WorkflowExecutionInfo): Promise<Candidate | undefined> {
  const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
  const json = historyToFile(history);
  assertRoundTrip(history, json);
  if (Buffer.byteLength(json) > MAX_FILE_BYTES) {
    console.warn(`history recorder: skipped ${execution.type} ${execution.workflowId}: ${history.events?.length} events, over ${MAX_FILE_BYTES} bytes`);
    return undefined;
  }
  const facts = await factsOf(history, execution.type, converter);
  return { label: labelOf(facts), signature: signatureOf(history.events ?? []), json, eventCount: history.events?.length ?? 0 };
}

/** The fixtures already in a type's directory: label and number from the file name, signature from the content. */
function readExisting(typeDir: string): { label: string; number: number; signature: string }[] {
  return fs.readdirSync(typeDir).flatMap((name) => {
    const m = /^(.+)-(\d+)\.json$/.exec(name);
    if (!m) return [];
    const events = historyFromFile(fs.readFileSync(path.join(typeDir, name), 'utf8')).events ?? [];
    return [{ label: m[1], number: Number(m[2]), signature: signatureOf(events) }];
  });
}

/** One history per distinct signature (the smallest), the smallest first. */
function choose(group: Candidate[]): Candidate[] {
  const bySignature = groupBy(group, (c) => c.signature);
  const smallest = [...bySignature.values()].map((same) => same.sort(bySize)[0]);
  return smallest.sort(bySize).slice(0, MAX_PER_LABEL);
}

function bySize(a: Candidate, b: Candidate): number {
  return a.eventCount - b.eventCount || a.json.length - b.json.length || (a.json < b.json ? -1 : a.json > b.json ? 1 : 0);
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k) ?? [];
    list.push(item);
    groups.set(k, list);
  }
  return groups;
}

function closeStatusOf(events: HistoryEvent[]): CloseStatus {
  switch (events[events.length - 1]?.eventType) {
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      return 'completed';
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      return 'failed';
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      return 'cancelled';
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      return 'terminated';
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
      return 'timed-out';
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return 'continued-as-new';
    default:
      return 'running';
  }
}

/**
 * The commands a run issued and the messages it received, in order. Two histories with the same
 * signature exercise the same workflow code path; activity retries (server side) do not count.
 */
function signatureOf(events: HistoryEvent[]): string {
  const steps: string[] = [];
  for (const e of events) {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        steps.push(`activity:${e.activityTaskScheduledEventAttributes?.activityType?.name}`);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        steps.push('activity-failed');
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
        steps.push('activity-cancel');
        break;
      case EventType.EVENT_TYPE_TIMER_STARTED:
        steps.push('timer');
        break;
      case EventType.EVENT_TYPE_TIMER_CANCELED:
        steps.push('timer-cancel');
        break;
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        steps.push(`child:${e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name}`);
        break;
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
        steps.push('child-failed');
        break;
      case EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        steps.push('signal-external');
        break;
      case EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        steps.push('cancel-external');
        break;
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        steps.push('search-attributes');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        steps.push('memo');
        break;
      case EventType.EVENT_TYPE_MARKER_RECORDED:
        steps.push(`marker:${e.markerRecordedEventAttributes?.markerName}${localActivityName(e) ? ':' + localActivityName(e) : ''}`);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        steps.push(`signal:${e.workflowExecutionSignaledEventAttributes?.signalName}`);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        steps.push(`update:${e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name}`);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
        steps.push(e.workflowExecutionUpdateCompletedEventAttributes?.outcome?.failure ? 'update-rejected' : 'update-done');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
        steps.push('cancel-requested');
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
      case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        steps.push('workflow-task-retried');
        break;
      default:
        break;
    }
  }
  steps.push(`end:${closeStatusOf(events)}`);
  return steps.join(' ');
}

async function factsOf(history: History, workflowType: string, converter: LoadedDataConverter): Promise<Facts> {
  const events = history.events ?? [];
  const decode = async (payloads: temporal.api.common.v1.IPayload[] | null | undefined): Promise<Record<string, unknown> | undefined> => {
    if (!payloads?.length) return undefined;
    const value = await decodeFromPayloadsAtIndex<unknown>(converter, 0, payloads).catch(() => undefined);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  };
  const first = events[0]?.workflowExecutionStartedEventAttributes;
  const last = events[events.length - 1];
  const activities = new Set<string>();
  const signals = new Set<string>();
  const children = new Set<string>();
  let workflowTaskRetried = false;
  for (const e of events) {
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name ?? localActivityName(e);
    if (activity) activities.add(activity);
    const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
    if (signal) signals.add(signal);
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name;
    if (child) children.add(child);
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT || e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) workflowTaskRetried = true;
  }
  return {
    workflowType,
    status: closeStatusOf(events),
    input: await decode(first?.input?.payloads),
    result: await decode(last?.workflowExecutionCompletedEventAttributes?.result?.payloads),
    failureType: last?.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.type ?? undefined,
    activities,
    signals,
    children,
    workflowTaskRetried,
  };
}

const slug = (s: unknown): string =>
  String(s)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

const authLabel = (authType: unknown): string => (authType === 'oauth2' ? 'oauth' : authType === 'api_token' ? 'api-token' : slug(authType ?? 'unknown'));

/** Readable name of the branch a run took, from its input, result and what it did. */
function labelOf(f: Facts): string {
  const parts = labelParts(f);
  if (f.workflowTaskRetried) parts.push('worker-lost');
  return parts.filter(Boolean).map(slug).join('-');
}

function labelParts(f: Facts): string[] {
  const input = f.input ?? {};
  const result = f.result ?? {};
  const endedAs = f.status === 'failed' && f.failureType ? `failed-${f.failureType}` : f.status;
  switch (f.workflowType) {
    case 'reauthorization': {
      const parts = [authLabel(input.authType), f.status === 'completed' ? String(result.outcome) : endedAs];
      if (typeof result.attempts === 'number' && result.attempts > 1) parts.push('after-retry');
      if (f.activities.has('startResync')) parts.push('with-resync');
      if (f.children.has('revokeGrant')) parts.push('grant-revoked');
      return parts;
    }
    case 'connectIntegration':
      return [authLabel(input.authType), f.status === 'completed' ? 'connected' : f.failureType ? `rejected-${f.failureType}` : f.status];
    case 'tokenRefresh': {
      const parts: string[] = [f.status === 'completed' ? 'stopped' : f.status];
      if (f.activities.has('refreshCredentials')) parts.push('refreshed');
      if (f.activities.has('checkCredentialHealth')) parts.push('checked');
      if (f.activities.has('setIntegrationStatus')) parts.push('status-changed');
      if (f.signals.has('refreshNow')) parts.push('refresh-now');
      if (f.signals.has('credentialsUpdated')) parts.push('credentials-updated');
      if (f.activities.has('recommendReauthorization')) parts.push('reauth-recommended');
      return parts;
    }
    case 'webhookDelivery':
      if (f.status === 'completed') return result.status === 'delivered' ? ['delivered'] : ['stopped', String(result.reason)];
      return [endedAs];
    case 'webhookReplay': {
      const parts = [f.status === 'completed' ? 'completed' : endedAs];
      if (input.truncated === true) parts.push('truncated');
      if (typeof result.skipped === 'number' && result.skipped > 0) parts.push('skipped');
      return parts;
    }
    case 'fullResync': {
      const entities = Array.isArray(input.entities) ? (input.entities as { mode?: string }[]) : [];
      const modes = new Set(entities.map((e) => e.mode));
      const mode = modes.size > 1 ? 'mixed' : (modes.values().next().value ?? 'no-entities');
      return [String(input.trigger ?? 'unknown'), String(mode), f.status === 'completed' ? String(result.status) : endedAs];
    }
    case 'entityResync': {
      const error = result.error as { code?: string } | null | undefined;
      return [String(input.mode ?? 'unknown'), f.status === 'completed' ? String(result.status) : endedAs, error?.code ?? ''];
    }
    case 'integrationLifecycle': {
      const parts = [String(input.operation ?? 'unknown'), f.status === 'completed' ? String(result.outcome) : endedAs];
      if (f.activities.has('refreshCredentials')) parts.push('refreshed');
      if (f.activities.has('setIntegrationStatus')) parts.push('status-checked');
      if (f.activities.has('revokeIntegrationGrants')) parts.push('grants-revoked');
      return parts;
    }
    default:
      return [endedAs];
  }
}

/** The activity type of a local activity's marker (the SDK writes one per local activity), else null. */
function localActivityName(e: HistoryEvent): string | null {
  const marker = e.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
  if (!data) return null;
  return (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type ?? null;
}

/** A table of what is recorded, for reviewers of a re-recording. */
export function writeIndex(dir: string): void {
  let totalBytes = 0;
  const lines = [
    '# Recorded workflow histories',
    '',
    'Generated by test/support/history-recorder.ts; see ../README.md. "running" runs were still open when',
    'recorded: replaying their partial history is intended.',
    '',
    '| file | events | activities scheduled, in order ((local): run inside a workflow task) |',
    '| --- | ---: | --- |',
  ];
  for (const type of fs.readdirSync(dir).sort()) {
    const typeDir = path.join(dir, type);
    if (!fs.statSync(typeDir).isDirectory()) continue;
    for (const name of fs.readdirSync(typeDir).filter((n) => n.endsWith('.json')).sort()) {
      const text = fs.readFileSync(path.join(typeDir, name), 'utf8');
      totalBytes += Buffer.byteLength(text);
      const events = historyFromFile(text).events ?? [];
      const activities = events
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? (localActivityName(e) && `${localActivityName(e)} (local)`))
        .filter(Boolean);
      lines.push(`| ${type}/${name} | ${events.length} | ${activities.join(', ') || '—'} |`);
    }
  }
  fs.writeFileSync(path.join(dir, INDEX_FILE), lines.join('\n') + '\n');
  if (totalBytes > MAX_TOTAL_BYTES) console.warn(`history recorder: ${dir} holds ${totalBytes} bytes of histories, over ${MAX_TOTAL_BYTES}`);
}
