/**
 * Shared by the two `reauthorization` test files: input, start, and what a run's end looks like.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { REAUTHORIZATION_WORKFLOW, type ReauthorizationWorkflow } from '../../libs/contracts';
import { reauthWorkflowId, type ReauthorizationInput } from '../../libs/domain/reauthorization';
import {
  CrmProviderKey,
  IntegrationIdKey,
  ReauthOutcomeKey,
  ReauthPhaseKey,
  TenantIdKey,
} from '../../libs/temporal/search-attributes';
import { type TestContext, uniqueId } from './support';

export function reauthInput(overrides: Partial<ReauthorizationInput> = {}): ReauthorizationInput {
  return {
    reauthorizationId: uniqueId('reauth'),
    tenantId: 'tenant-1',
    integrationId: uniqueId('integration'),
    provider: 'pipedrive',
    authType: 'api_token',
    fullResync: false,
    scopes: [],
    region: 'eu',
    reason: 'token rotation',
    expiresInSeconds: 60,
    allowAccountChange: false,
    ...overrides,
  };
}

export function startReauthorization({ client, taskQueue }: TestContext, input: ReauthorizationInput): Promise<WorkflowHandle<ReauthorizationWorkflow>> {
  return client.workflow.start<ReauthorizationWorkflow>(REAUTHORIZATION_WORKFLOW, {
    taskQueue,
    workflowId: reauthWorkflowId(input.integrationId),
    args: [input],
  });
}

/** The search attributes operators find a reauthorization by. */
export async function reauthSearchAttributes(handle: WorkflowHandle): Promise<Record<string, unknown>> {
  const { typedSearchAttributes } = await handle.describe();
  return {
    TenantId: typedSearchAttributes.get(TenantIdKey),
    IntegrationId: typedSearchAttributes.get(IntegrationIdKey),
    CrmProvider: typedSearchAttributes.get(CrmProviderKey),
    ReauthPhase: typedSearchAttributes.get(ReauthPhaseKey),
    ReauthOutcome: typedSearchAttributes.get(ReauthOutcomeKey),
  };
}
