/**
 * Workflow interceptors of the test bundle only (never of the worker's): carry the header that
 * names the test a workflow belongs to from the workflow to everything it starts — activities,
 * child workflows, its continuation — so that one worker per test file can run every test's
 * workflows, each test with its own activity stubs. The workflows under test are not changed.
 */
import type { Headers } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** Also read by support.ts (client side and activity side). */
export const TEST_KEY_HEADER = 'workflow-test-key';

export const interceptors: WorkflowInterceptorsFactory = () => {
  // The factory runs once per workflow run, so this is the key of this run.
  let testKey: Headers[string] | undefined;
  const withTestKey = <T extends { headers: Headers }>(input: T): T =>
    testKey ? { ...input, headers: { ...input.headers, [TEST_KEY_HEADER]: testKey } } : input;
  return {
    inbound: [
      {
        execute(input, next) {
          testKey = input.headers[TEST_KEY_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next(withTestKey(input)),
        scheduleLocalActivity: (input, next) => next(withTestKey(input)),
        startChildWorkflowExecution: (input, next) => next(withTestKey(input)),
        continueAsNew: (input, next) => next(withTestKey(input)),
      },
    ],
  };
};
