import type { EgressPolicy } from '../../http/egress-policy';
import { CrmError } from '../errors';
import type { ExternalRecord, FetchPageOptions, RecordPage, RecordsClient } from '../records-client';
import { capWait, classifyAnswer, type CrmAnswer, decodeCursor, encodeCursor, type FailureReading, getPage, isObject, isoTime, numberHeader, recordIdOf, safeCode } from './http';

/** HubSpot's largest `limit` for CRM v3 object lists. */
export const HUBSPOT_MAX_LIMIT = 100;

/** Properties read per object type (HubSpot returns only the ones asked for, plus its defaults). */
export const HUBSPOT_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  contacts: ['firstname', 'lastname', 'email', 'phone', 'jobtitle', 'company', 'lifecyclestage', 'createdate', 'lastmodifieddate'],
  companies: ['name', 'domain', 'industry', 'phone', 'city', 'country', 'createdate', 'hs_lastmodifieddate'],
  deals: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'createdate', 'hs_lastmodifieddate'],
};

/**
 * How long a 429 asks us to wait: `Retry-After` when sent, else the window of the limit that ran
 * out — the per-second (`X-HubSpot-RateLimit-Secondly-Remaining: 0`, one second) or the rolling
 * interval limit (`X-HubSpot-RateLimit-Remaining: 0`, `X-HubSpot-RateLimit-Interval-Milliseconds`).
 */
export function hubspotWaitSeconds(headers: Headers): number | undefined {
  const retryAfter = numberHeader(headers, 'retry-after');
  if (retryAfter !== undefined) return capWait(retryAfter);
  const waits: number[] = [];
  if (numberHeader(headers, 'x-hubspot-ratelimit-remaining') === 0) {
    const interval = numberHeader(headers, 'x-hubspot-ratelimit-interval-milliseconds');
    if (interval !== undefined) waits.push(interval / 1000);
  }
  if (numberHeader(headers, 'x-hubspot-ratelimit-secondly-remaining') === 0) waits.push(1);
  return waits.length ? capWait(Math.max(...waits)) : undefined;
}

export function readHubspotFailure(answer: CrmAnswer): FailureReading {
  const b = isObject(answer.body) ? answer.body : {};
  const category = safeCode(b.category) ?? safeCode(b.errorType);
  if (answer.status === 401) return { auth: true, code: category };
  // MISSING_SCOPES: the grant lacks a scope; only a re-authorization fixes it.
  if (answer.status === 403 && category === 'MISSING_SCOPES') return { auth: true, code: category };
  if (answer.status === 429) return { rateLimited: true, waitSeconds: hubspotWaitSeconds(answer.headers), code: category ?? 'RATE_LIMIT' };
  return { code: category };
}

/** One HubSpot object of a list answer, as the engine stores it. */
export function mapHubspotObject(item: unknown, entity: string): ExternalRecord {
  const o = isObject(item) ? item : null;
  const id = recordIdOf(o?.id);
  if (!o || id === null) throw new CrmError('bad_response', `HubSpot answer for ${entity} has a record without an id`);
  const properties = isObject(o.properties) ? o.properties : {};
  const updatedAt = isoTime(o.updatedAt) ?? isoTime(properties.lastmodifieddate) ?? isoTime(properties.hs_lastmodifieddate);
  return {
    externalId: id,
    data: { id, ...properties, createdAt: o.createdAt ?? null, updatedAt: o.updatedAt ?? null, archived: o.archived === true },
    updatedAt,
  };
}

/** Owners (`/crm/v3/owners`) stand for HubSpot's users. */
export function mapHubspotOwner(item: unknown): ExternalRecord {
  const o = isObject(item) ? item : null;
  const id = recordIdOf(o?.id);
  if (!o || id === null) throw new CrmError('bad_response', 'HubSpot answer for users has an owner without an id');
  return { externalId: id, data: { ...o, id }, updatedAt: isoTime(o.updatedAt) };
}

/** `paging.next.after` of a list answer: a token of ours to follow, or null on the last page. */
export function hubspotNextAfter(body: Record<string, unknown>, entity: string): string | null {
  const paging = isObject(body.paging) ? body.paging : null;
  const next = paging && isObject(paging.next) ? paging.next : null;
  if (!next) return null;
  const after = next.after;
  if (typeof after !== 'string' || !/^[A-Za-z0-9_=-]{1,256}$/.test(after)) throw new CrmError('bad_response', `HubSpot answer for ${entity} has a malformed paging.next.after`);
  return after;
}

/**
 * HubSpot CRM v3: `GET /crm/v3/objects/{contacts|companies|deals}?limit=&after=&properties=` and
 * `GET /crm/v3/owners?limit=&after=` (users), paged by `paging.next.after`, on the configured API
 * host (api.hubapi.com, or the sandbox's `/hubspot`).
 */
export class HubspotRecordsClient implements RecordsClient {
  constructor(
    private readonly apiBaseUrl: string,
    private readonly accessToken: string,
    private readonly egress: EgressPolicy,
  ) {}

  async fetchPage(entity: string, cursor: string | null, opts: FetchPageOptions = {}): Promise<RecordPage> {
    const after = decodeCursor(cursor)?.after;
    const isUsers = entity === 'users';
    if (!isUsers && !HUBSPOT_PROPERTIES[entity]) throw new CrmError('bad_response', `HubSpot has no ${entity} objects the importer knows`);
    const url = new URL(`${this.apiBaseUrl}${isUsers ? '/crm/v3/owners' : `/crm/v3/objects/${entity}`}`);
    url.searchParams.set('limit', String(Math.min(opts.pageSize ?? HUBSPOT_MAX_LIMIT, HUBSPOT_MAX_LIMIT)));
    if (typeof after === 'string') url.searchParams.set('after', after);
    if (!isUsers) url.searchParams.set('properties', HUBSPOT_PROPERTIES[entity].join(','));
    const answer = await getPage(this.egress, url, { authorization: `Bearer ${this.accessToken}` }, opts);
    if (answer.status < 200 || answer.status >= 300) throw classifyAnswer('HubSpot', answer, readHubspotFailure(answer));
    const body = isObject(answer.body) ? answer.body : null;
    if (!body || !Array.isArray(body.results)) throw new CrmError('bad_response', `HubSpot answer for ${entity} has no results array`);
    const records = body.results.map((r) => (isUsers ? mapHubspotOwner(r) : mapHubspotObject(r, entity)));
    const next = hubspotNextAfter(body, entity);
    return { records, nextCursor: next === null ? null : encodeCursor({ after: next }) };
  }
}
