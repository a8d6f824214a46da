import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** What operators search by in the Temporal UI. Registered on the dev server at start. */
export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const IntegrationIdKey = defineSearchAttributeKey('IntegrationId', SearchAttributeType.KEYWORD);
export const CrmProviderKey = defineSearchAttributeKey('CrmProvider', SearchAttributeType.KEYWORD);
export const ReauthPhaseKey = defineSearchAttributeKey('ReauthPhase', SearchAttributeType.KEYWORD);
export const ReauthOutcomeKey = defineSearchAttributeKey('ReauthOutcome', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  TenantId: 'Keyword',
  IntegrationId: 'Keyword',
  CrmProvider: 'Keyword',
  ReauthPhase: 'Keyword',
  ReauthOutcome: 'Keyword',
};
