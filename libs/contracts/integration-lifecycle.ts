import type { AuditActor } from '../domain/audit';

/**
 * The `integrationLifecycle` workflow as its clients see it: disables, enables or deletes one
 * integration. The database change happens in an activity and the integration's other workflows
 * (reauthorization, token refresh, re-sync) are ended from there, so the API never writes
 * integrations or credentials itself. The implementation lives in `workflows/`.
 */
export const INTEGRATION_LIFECYCLE_WORKFLOW = 'integrationLifecycle';

export type LifecycleOperation = 'disable' | 'enable' | 'delete';

export interface IntegrationLifecycleInput {
  tenantId: string;
  integrationId: string;
  operation: LifecycleOperation;
  /** One per request; recorded in the audit trail (and keeps a retried activity from writing twice). */
  requestId: string;
  actor: AuditActor;
}

/** What each step of the workflow (an activity) is told: which integration, for which request, by whom. */
export interface LifecycleStep {
  tenantId: string;
  integrationId: string;
  requestId: string;
  actor: AuditActor;
}

export interface IntegrationLifecycleResult {
  /** `done`: changed now; `unchanged`: it already was so; `not_found`: no such integration (any more). */
  outcome: 'done' | 'unchanged' | 'not_found';
}

export type IntegrationLifecycleWorkflow = (input: IntegrationLifecycleInput) => Promise<IntegrationLifecycleResult>;

/**
 * Disable and enable: `lifecycle:<integrationId>:<op>:<requestId>`, one run per request. Delete:
 * `lifecycle:<integrationId>:delete`, so concurrent deletes of one integration join one run (and
 * one `integrated_account:deleted` event) instead of racing each other.
 */
export function lifecycleWorkflowId(integrationId: string, operation: LifecycleOperation, requestId: string): string {
  return operation === 'delete' ? `lifecycle:${integrationId}:delete` : `lifecycle:${integrationId}:${operation}:${requestId}`;
}
