import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The `tokenRefresh` workflow as its clients see it (id `refresh:<integrationId>`, one per
 * integration for its whole life). The implementation lives in `workflows/`.
 */
export const TOKEN_REFRESH_WORKFLOW = 'tokenRefresh';

export interface TokenRefreshInput {
  tenantId: string;
  integrationId: string;
}
export type TokenRefreshWorkflow = (input: TokenRefreshInput) => Promise<string>;

export function tokenRefreshWorkflowId(integrationId: string): string {
  return `refresh:${integrationId}`;
}

/** Refresh (or check) now, e.g. after a 401 seen elsewhere: POST /v1/integrations/:id/refresh. */
export const refreshNowSignal = defineSignal('refreshNow');
/** New active credentials were swapped in (reauthorization): plan again from them. */
export const credentialsUpdatedSignal = defineSignal('credentialsUpdated');

export interface TokenRefreshState {
  integrationId: string;
  nextRunAt: string | null;
  lastResult: string | null;
  refreshes: number;
  checks: number;
}
export const refreshStateQuery = defineQuery<TokenRefreshState>('status');
