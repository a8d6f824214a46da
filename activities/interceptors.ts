import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, Next } from '@temporalio/worker';
import { QueryFailedError } from 'typeorm';
import { logContextInterceptors } from './log-context.interceptor';

/**
 * Postgres rejecting the data itself (SQLSTATE class 22, data exception) will reject it again on
 * every retry: fail the activity for good instead of retrying forever. Connection and serialization
 * problems stay retryable.
 */
export function classifyDatabaseError(err: unknown): unknown {
  if (err instanceof QueryFailedError) {
    const code = (err.driverError as { code?: string } | undefined)?.code ?? '';
    if (code.startsWith('22')) {
      return ApplicationFailure.create({ type: 'invalid_data', message: `the database refused the data (SQLSTATE ${code})`, nonRetryable: true });
    }
  }
  return err;
}

/** Applies {@link classifyDatabaseError} to whatever any activity throws. */
export class DatabaseErrorInterceptor implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  }
}

/** Stateless, so one instance serves every activity execution. */
const databaseErrors = new DatabaseErrorInterceptor();

/**
 * The worker's `interceptors.activity`: cross-cutting concerns of every activity, in one place.
 * The first is the outermost: everything inside it logs with the activity's context.
 */
export const activityInterceptors: ActivityInterceptorsFactory[] = [logContextInterceptors, () => ({ inbound: databaseErrors })];
