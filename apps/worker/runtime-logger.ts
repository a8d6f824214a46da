import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { SDK_ACTIVITY_STARTED } from '../../activities/log-context.interceptor';

/** What the worker logs through: the Nest (pino) logger, messages or objects with a context. */
export interface WorkerLogSink {
  log(message: unknown, context?: string): void;
  warn(message: unknown, context?: string): void;
  error(message: unknown, ...rest: unknown[]): void;
  debug(message: unknown, context?: string): void;
}

/** Keys pino writes itself; an attribute of the same name is kept under another name. */
const PINO_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'context']);

/** An error as a line shows it: what it is and what it says (its stack and cause chain stay out). */
function describeError(err: Error): Record<string, unknown> {
  const type = (err as { type?: unknown }).type;
  return { name: err.name, message: err.message, ...(typeof type === 'string' ? { type } : {}) };
}

/**
 * The attributes of an SDK log entry as fields of the log line. Workflow lines come with workflowId
 * and runId (and the tenantId/integrationId of workflows/interceptors.ts); activity lines with
 * workflowId and workflowRunId, printed as runId like everywhere else. The activity task token is
 * left out: it is enough to complete or fail the activity from outside.
 */
export function logFields(meta: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (key === 'sdkComponent' || key === 'taskToken' || value === undefined) continue;
    const name = key === 'workflowRunId' ? 'runId' : PINO_KEYS.has(key) ? `attr_${key}` : key;
    fields[name] = value instanceof Error ? describeError(value) : value;
  }
  return fields;
}

/**
 * The Temporal Runtime's logger (SDK, workflow and activity context loggers): one pino line per
 * entry, its attributes as fields (context `Temporal:<component>`).
 */
export function runtimeLogger(sink: WorkerLogSink, debug: boolean): DefaultLogger {
  return new DefaultLogger(debug ? 'DEBUG' : 'INFO', (entry: LogEntry) => {
    const meta = (entry.meta ?? {}) as Record<string, unknown>;
    const component = meta.sdkComponent;
    // Written again by the activity's log-context interceptor, with the tenant and integration.
    if (component === 'worker' && entry.message === SDK_ACTIVITY_STARTED) return;
    const context = `Temporal${component ? ':' + String(component) : ''}`;
    const line = { ...logFields(meta), msg: entry.message };
    if (entry.level === 'ERROR') sink.error(line, context);
    else if (entry.level === 'WARN') sink.warn(line, context);
    else if (entry.level === 'DEBUG' || entry.level === 'TRACE') sink.debug(line, context);
    else sink.log(line, context);
  });
}
