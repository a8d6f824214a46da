import type { Client } from '@temporalio/client';
import {
  credentialsUpdatedSignal,
  refreshNowSignal,
  TOKEN_REFRESH_WORKFLOW,
  type TokenRefreshInput,
  type TokenRefreshWorkflow,
  tokenRefreshWorkflowId,
} from '../contracts';
import { type IntegrationLabel, tokenRefreshSummary } from '../domain/workflow-texts';

/**
 * Tells an integration's `tokenRefresh` workflow something happened, starting it if it is not
 * running (signal-with-start): `refreshNow` (refresh or check right away) or `credentialsUpdated`
 * (new active credentials were swapped in: plan again). The one way every caller reaches it.
 * `label` names the integration in the summary of a run this call starts (the Temporal UI's list).
 */
export async function signalTokenRefresh(
  client: Client,
  taskQueue: string,
  input: TokenRefreshInput,
  signal: 'refreshNow' | 'credentialsUpdated',
  label?: Omit<IntegrationLabel, 'integrationId'>,
): Promise<string> {
  const workflowId = tokenRefreshWorkflowId(input.integrationId);
  await client.workflow.signalWithStart<TokenRefreshWorkflow, []>(TOKEN_REFRESH_WORKFLOW, {
    workflowId,
    taskQueue,
    args: [{ tenantId: input.tenantId, integrationId: input.integrationId }],
    signal: signal === 'refreshNow' ? refreshNowSignal : credentialsUpdatedSignal,
    signalArgs: [],
    staticSummary: tokenRefreshSummary({ integrationId: input.integrationId, providerName: label?.providerName ?? 'CRM', displayName: label?.displayName }),
  });
  return workflowId;
}
