import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';
import {
  CrmProviderKey,
  IntegrationIdKey,
  ReauthOutcomeKey,
  ReauthPhaseKey,
  TenantIdKey,
} from '../libs/temporal/search-attributes';

/** Makes a workflow findable by tenant, integration and CRM in the Temporal UI (`IntegrationId = "…"`). */
export function tagWorkflow(tags: { tenantId: string; integrationId?: string; provider?: string }, extra: SearchAttributeUpdatePair[] = []): void {
  upsertSearchAttributes([
    { key: TenantIdKey, value: tags.tenantId },
    ...(tags.integrationId ? [{ key: IntegrationIdKey, value: tags.integrationId }] : []),
    ...(tags.provider ? [{ key: CrmProviderKey, value: tags.provider }] : []),
    ...extra,
  ]);
}

/** Where a reauthorization stands, for searches such as `ReauthPhase = "awaiting_user"`. */
export function reauthorizationPhaseTags(phase: string, outcome: string | null): SearchAttributeUpdatePair[] {
  return [{ key: ReauthPhaseKey, value: phase }, ...(outcome ? [{ key: ReauthOutcomeKey, value: outcome }] : [])];
}
