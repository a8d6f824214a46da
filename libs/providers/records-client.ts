import type { EgressPolicy } from '../http/egress-policy';
import { getCrmJson } from './api-token-client';
import type { CatalogUrls, ProviderDefinition } from './catalog';
import { CrmError } from './errors';
import { trustedApiBase } from './oauth-client';
import { HubspotRecordsClient } from './records/hubspot';
import { PipedriveRecordsClient } from './records/pipedrive';
import { SalesforceRecordsClient } from './records/salesforce';
import { ZohoRecordsClient } from './records/zoho';

/** One CRM record as the importer stores it: keyed by the CRM's own id. */
export interface ExternalRecord {
  externalId: string;
  data: Record<string, unknown>;
  /** The CRM's last-modified time, when it tells. */
  updatedAt: string | null;
}

export interface RecordPage {
  records: ExternalRecord[];
  /** Opaque cursor of the next page; null on the last page. */
  nextCursor: string | null;
}

export interface FetchPageOptions {
  pageSize?: number;
  timeoutMs?: number;
  /** Aborts the request (e.g. the activity was cancelled). */
  signal?: AbortSignal;
}

/** Reads one entity type of one CRM account, a page at a time. */
export interface RecordsClient {
  fetchPage(entity: string, cursor: string | null, opts?: FetchPageOptions): Promise<RecordPage>;
}

export interface RecordsCredentials {
  /** `apiToken ?? accessToken` of the integration's active credential version. */
  bearer: string;
  /**
   * The API host the credential's token response named (Salesforce `instance_url`, Pipedrive and
   * Zoho `api_domain`). CRM input: checked again here against the provider's trusted prefixes,
   * and every request against the egress policy.
   */
  apiBaseUrl?: string | null;
  /** Zoho data center of the credential. */
  region?: string | null;
}

/** `egress`: the policy of this provider's calls (ProcessEgress.forProvider). */
type RecordsClientFactory = (provider: ProviderDefinition, urls: CatalogUrls, credentials: RecordsCredentials, egress: EgressPolicy) => RecordsClient;

export const DEFAULT_PAGE_SIZE = 200;

/**
 * The sandbox CRM's REST API: `GET /api/v1/{entity}?limit&cursor` → `{data, next_cursor}`, bearer
 * auth with an API token or an OAuth access token of any provider shape. In `crmMode: sandbox`
 * every catalog provider's records come from here.
 */
export class SandboxRecordsClient implements RecordsClient {
  constructor(
    private readonly baseUrl: string,
    private readonly credentials: RecordsCredentials,
    private readonly egress: EgressPolicy,
  ) {}

  async fetchPage(entity: string, cursor: string | null, opts: FetchPageOptions = {}): Promise<RecordPage> {
    const url = new URL(`${this.baseUrl}/api/v1/${encodeURIComponent(entity)}`);
    url.searchParams.set('limit', String(opts.pageSize ?? DEFAULT_PAGE_SIZE));
    if (cursor) url.searchParams.set('cursor', cursor);
    const { body } = await getCrmJson(this.egress, url, { authorization: `Bearer ${this.credentials.bearer}` }, {
      role: 'API URL',
      timeoutMs: opts.timeoutMs ?? 30_000,
      signal: opts.signal,
    });
    return parseRecordPage(entity, body);
  }
}

/** Validates a `{data: [...], next_cursor}` answer; anything else is a `bad_response`. */
export function parseRecordPage(entity: string, body: unknown): RecordPage {
  const b = body as { data?: unknown; next_cursor?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.data)) {
    throw new CrmError('bad_response', `CRM answer for ${entity} has no data array`);
  }
  const records: ExternalRecord[] = [];
  for (const item of b.data) {
    const rec = item as Record<string, unknown> | null;
    const id = rec?.id;
    if (!rec || typeof rec !== 'object' || Array.isArray(rec) || (typeof id !== 'string' && typeof id !== 'number') || String(id) === '') {
      throw new CrmError('bad_response', `CRM answer for ${entity} has a record without an id`);
    }
    const updatedAt = typeof rec.updatedAt === 'string' && !Number.isNaN(Date.parse(rec.updatedAt)) ? rec.updatedAt : null;
    records.push({ externalId: String(id), data: rec, updatedAt });
  }
  const next = b.next_cursor;
  if (next !== undefined && next !== null && typeof next !== 'string') {
    throw new CrmError('bad_response', `CRM answer for ${entity} has a malformed next_cursor`);
  }
  return { records, nextCursor: next ? next : null };
}

const untrustedHost = (): CrmError => new CrmError('url_not_allowed', "the credential's API URL is not one of the provider's trusted hosts (egress policy)");

/** The credential's API base if the provider trusts it (a URL under one of its prefixes), else a refusal. */
function checkedBase(prefixes: string[], candidate: string | null | undefined): string {
  try {
    const base = trustedApiBase({ trustedApiPrefixes: prefixes }, candidate);
    if (base) return base;
  } catch {
    // fall through
  }
  throw untrustedHost();
}

function oauth(provider: ProviderDefinition): NonNullable<ProviderDefinition['oauth2']> {
  if (!provider.oauth2) throw new CrmError('bad_response', `provider ${provider.key} has no OAuth definition`);
  return provider.oauth2;
}

/**
 * The record adapters of the catalog CRMs, the same code in both CRM modes: only the base URLs
 * differ (configuration, or the credential's checked API host), so `CRM_MODE=sandbox` exercises
 * exactly what talks to the real CRMs.
 */
const CATALOG_ADAPTERS: Record<string, RecordsClientFactory> = {
  hubspot: (provider, _urls, c, egress) => new HubspotRecordsClient(oauth(provider).defaultApiBaseUrl!, c.bearer, egress),
  salesforce: (provider, _urls, c, egress) => {
    if (!c.apiBaseUrl) throw new CrmError('invalid_credentials', 'the credentials name no Salesforce instance URL; re-authorize the integration');
    return new SalesforceRecordsClient(checkedBase(oauth(provider).trustedApiPrefixes ?? [], c.apiBaseUrl), c.bearer, egress);
  },
  pipedrive: (provider, _urls, c, egress) => {
    const def = oauth(provider);
    const base = c.apiBaseUrl ? checkedBase(def.trustedApiPrefixes ?? [], c.apiBaseUrl) : def.defaultApiBaseUrl!;
    return new PipedriveRecordsClient(base, c.bearer, egress);
  },
  zoho: (provider, _urls, c, egress) => {
    const def = oauth(provider);
    const server = def.regions?.[c.region ?? def.defaultRegion ?? 'us'];
    if (!server) throw untrustedHost();
    // The data center's API domain; a stored api_domain must be that very domain.
    return new ZohoRecordsClient(c.apiBaseUrl ? checkedBase([server.apiDomain], c.apiBaseUrl) : server.apiDomain, c.bearer, egress);
  },
};

const sandboxFactory: RecordsClientFactory = (_provider, urls, credentials, egress) => new SandboxRecordsClient(urls.sandboxCrmUrl, credentials, egress);

function factoryFor(provider: ProviderDefinition, urls: CatalogUrls): RecordsClientFactory | undefined {
  // Custom providers are declared at run time with no record API we know: always delegated.
  if (provider.custom) return undefined;
  const adapter = CATALOG_ADAPTERS[provider.key];
  if (adapter) return adapter;
  // The sandbox CRM's own provider: its generic API, which exists only in sandbox mode.
  if (provider.key === 'sandbox' && (urls.crmMode ?? 'sandbox') === 'sandbox') return sandboxFactory;
  return undefined;
}

/** Whether the engine can import this provider's records itself (else the re-sync is delegated). */
export function hasBuiltInImporter(provider: ProviderDefinition, urls: CatalogUrls): boolean {
  return factoryFor(provider, urls) !== undefined;
}

/** Throws `CrmError` (`url_not_allowed`) when the credential's API host is not trusted for the provider. */
export function recordsClientFor(provider: ProviderDefinition, urls: CatalogUrls, credentials: RecordsCredentials, egress: EgressPolicy): RecordsClient | null {
  const factory = factoryFor(provider, urls);
  return factory ? factory(provider, urls, credentials, egress) : null;
}
