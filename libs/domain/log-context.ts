/**
 * Which tenant and integration a workflow works for, as its log lines and those of its activities
 * name them. Pure: the workflow bundle imports this (workflows/interceptors.ts), and so do the
 * worker's activity interceptor and logger. Only these two ids are ever taken from an input — never
 * the input itself, which may hold a token.
 */

/** Header that carries {@link WorkflowLogIds} from a workflow to the activities it schedules. */
export const LOG_IDS_HEADER = 'reauth-log-ids';

export interface WorkflowLogIds {
  tenantId?: string;
  integrationId?: string;
}

/** `tenantId` and `integrationId` of a workflow or activity input, when it has them as strings. */
export function logIdsOf(input: unknown): WorkflowLogIds {
  if (!input || typeof input !== 'object') return {};
  const { tenantId, integrationId } = input as Record<string, unknown>;
  return {
    ...(typeof tenantId === 'string' && tenantId ? { tenantId } : {}),
    ...(typeof integrationId === 'string' && integrationId ? { integrationId } : {}),
  };
}
