import { ApplicationFailure, type Client, type WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition, Workflow } from '@temporalio/common';

/** Why an update-with-start did not answer: the workflow refused, or Temporal did not answer in time. */
export class StartRefused extends Error {
  constructor(
    readonly reason: 'rejected' | 'unavailable',
    /** The ApplicationFailure type the workflow refused with (`reason: 'rejected'`). */
    readonly type: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'StartRefused';
  }
}

/**
 * Update-with-start under a deadline, so an HTTP request never hangs on a workflow that cannot
 * begin. Callers turn a `StartRefused` into their own error; any other error passes through.
 */
export async function updateWithStartBounded<W extends Workflow, Ret>(
  client: Client,
  update: UpdateDefinition<Ret, []>,
  startOp: WithStartWorkflowOperation<W>,
  timeoutMs = 30_000,
): Promise<Ret> {
  try {
    return await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.executeUpdateWithStart(update, { startWorkflowOperation: startOp }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      throw new StartRefused('rejected', err.cause.type ?? null, err.cause.message);
    }
    const code = (err as { code?: number }).code;
    if (code === 4 /* DEADLINE_EXCEEDED */ || code === 14 /* UNAVAILABLE */) throw new StartRefused('unavailable', null, (err as Error).message);
    throw err;
  }
}
