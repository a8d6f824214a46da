import type { Context } from '@temporalio/activity';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { ActivityInterceptors } from '@temporalio/worker';
import { LOG_IDS_HEADER, logIdsOf, type WorkflowLogIds } from '../libs/domain/log-context';
import { withLogContext } from '../libs/nest/logger';

/** The ids the calling workflow sent along (workflows/interceptors.ts); {} for an unknown or missing header. */
function idsFromHeader(header: Payload | undefined): WorkflowLogIds {
  if (!header) return {};
  try {
    return logIdsOf(defaultPayloadConverter.fromPayload(header));
  } catch {
    return {};
  }
}

/**
 * The SDK announces an activity before any interceptor has seen its input, so that line could not
 * name the tenant and integration: the worker's runtime logger drops it (apps/worker/runtime-logger.ts)
 * and {@link logContextInterceptors} writes it again, with them.
 */
export const SDK_ACTIVITY_STARTED = 'Activity started';

/**
 * Interceptors of one activity execution that put its log context on every line it causes:
 * the workflow run it works for (workflowId, runId), the activity and attempt, and the tenant and
 * integration — from the workflow's header, or the activity's first argument where that names them.
 * Lines of the worker's (pino) logger get them through the log context (libs/nest/logger.ts); the
 * SDK's lines about the activity (`Context.current().log`, "Activity completed", "Activity failed")
 * through `getLogAttributes`. Only those two ids are read from the input, so no token can reach a
 * log line this way.
 */
export function logContextInterceptors(ctx: Context): ActivityInterceptors {
  const { info } = ctx;
  let ids: WorkflowLogIds = {};
  return {
    inbound: {
      execute(input, next) {
        ids = { ...idsFromHeader(input.headers[LOG_IDS_HEADER]), ...logIdsOf(input.args[0]) };
        ctx.log.debug(SDK_ACTIVITY_STARTED);
        return withLogContext(
          { ...ids, workflowId: info.workflowExecution?.workflowId, runId: info.workflowExecution?.runId, activityType: info.activityType, attempt: info.attempt },
          () => next(input),
        );
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => next({ ...attributes, ...ids }),
    },
  };
}
