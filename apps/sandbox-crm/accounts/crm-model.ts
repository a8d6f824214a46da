import { notFound } from '../common/sandbox-error';

/**
 * Zoho-style data centers. Only the Zoho shape looks at an account's region (which accounts server
 * and API domain serve it); every other surface ignores it.
 */
export const DATA_CENTER_REGIONS = ['us', 'eu', 'in', 'au', 'jp'] as const;
export type DataCenterRegion = (typeof DATA_CENTER_REGIONS)[number];
export const DEFAULT_REGION: DataCenterRegion = 'us';

export function isDataCenterRegion(value: string): value is DataCenterRegion {
  return (DATA_CENTER_REGIONS as readonly string[]).includes(value);
}

/** A CRM tenant (what a real CRM calls a portal / org / company account). */
export interface Account {
  id: string;
  /**
   * Stable numeric id, unique in this process. Provider shapes derive their account ids from it
   * (HubSpot `hub_id`, Pipedrive `company_id`, Zoho org id, Salesforce `00D…` org id).
   */
  numericId: number;
  name: string;
  region: DataCenterRegion;
  createdAt: string;
}

/** A person in an account; tokens act on behalf of one. Removal is a flag so history stays inspectable. */
export interface User {
  id: string;
  /** Stable numeric id, unique in this process; provider shapes derive their user ids from it. */
  numericId: number;
  accountId: string;
  email: string;
  name: string;
  removed: boolean;
}

/** An API access token. `revoked` is kept rather than deleting so a revoked token still answers 401. */
export interface ApiToken {
  token: string;
  accountId: string;
  userId: string;
  scopes: string[];
  revoked: boolean;
  createdAt: string;
}

export const DEFAULT_TOKEN_SCOPES: readonly string[] = ['crm.read', 'crm.write'];

/** The record collections the sandbox serves, in the order they are listed everywhere. */
export const ENTITY_TYPES = ['contacts', 'companies', 'deals'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** Record ids are `<prefix><zero-padded sequence>`, so string order is creation order. */
export const RECORD_ID_PREFIX: Readonly<Record<EntityType, string>> = {
  contacts: 'ct_',
  companies: 'co_',
  deals: 'dl_',
};
export const RECORD_SEQUENCE_DIGITS = 8;

export type RecordFieldValue = string | number | boolean | null;

/** A CRM record is a flat property bag; entity-specific fields (email, domain, amount, ...) sit beside the common ones. */
export interface CrmRecord {
  id: string;
  createdAt: string;
  updatedAt: string;
  [field: string]: RecordFieldValue;
}

export type RecordCounts = Record<EntityType, number>;

export function isEntityType(value: string): value is EntityType {
  return (ENTITY_TYPES as readonly string[]).includes(value);
}

/** Narrows a path segment to an entity type, answering 404 for anything else (as a real CRM would for an unknown object). */
export function parseEntityType(value: string): EntityType {
  if (!isEntityType(value)) {
    throw notFound('unknown_entity', `Unknown entity type "${value}"; expected one of ${ENTITY_TYPES.join(', ')}`);
  }
  return value;
}
