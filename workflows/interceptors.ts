/**
 * Workflow interceptors of the worker (registered through libs/temporal/workflow-interceptors.ts):
 * every workflow log line names the tenant and integration the run works for, next to the
 * workflowId and runId the SDK already adds; and every activity the run schedules gets the same two
 * ids in a header, for the activity's log lines (activities/log-context.interceptor.ts).
 *
 * Neither issues a command: log attributes are local, and an activity's headers are not part of
 * what replay compares (test/replay checks it against the recorded histories).
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { LOG_IDS_HEADER, logIdsOf, type WorkflowLogIds } from '../libs/domain/log-context';

export const interceptors: WorkflowInterceptorsFactory = () => {
  // The factory runs once per workflow run: these are the ids of this run, from its input.
  let ids: WorkflowLogIds = {};
  let header: Headers[string] | undefined;
  const withIdsHeader = <T extends { headers: Headers }>(input: T): T =>
    header ? { ...input, headers: { ...input.headers, [LOG_IDS_HEADER]: header } } : input;
  return {
    internals: [
      {
        // Read from the start job itself, so even the SDK's "Workflow started" line has them.
        activate(input, next) {
          const start = input.activation.jobs?.[0]?.initializeWorkflow;
          const first = start?.arguments?.[0];
          if (first) {
            try {
              ids = logIdsOf(defaultPayloadConverter.fromPayload(first));
              header = ids.tenantId || ids.integrationId ? defaultPayloadConverter.toPayload(ids) : undefined;
            } catch {
              // An input the default converter cannot read has no ids to offer.
            }
          }
          return next(input);
        },
      },
    ],
    outbound: [
      {
        getLogAttributes: (input, next) => next({ ...input, ...ids }),
        scheduleActivity: (input, next) => next(withIdsHeader(input)),
        scheduleLocalActivity: (input, next) => next(withIdsHeader(input)),
      },
    ],
  };
};
