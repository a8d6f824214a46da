import type { EgressPolicy } from '../../http/egress-policy';
import { CrmError } from '../errors';
import type { ExternalRecord, FetchPageOptions, RecordPage, RecordsClient } from '../records-client';
import { capWait, classifyAnswer, type CrmAnswer, decodeCursor, encodeCursor, type FailureReading, getPage, isObject, isoTime, numberHeader, recordIdOf } from './http';

/** Pipedrive's largest `limit` is 500; 200 keeps pages like the other CRMs'. */
export const PIPEDRIVE_LIMIT = 200;

export const PIPEDRIVE_RESOURCES: Readonly<Record<string, string>> = {
  contacts: 'persons',
  companies: 'organizations',
  deals: 'deals',
  users: 'users',
};

/** 429: `Retry-After`, else `x-ratelimit-reset` (seconds until the window resets). */
export function pipedriveWaitSeconds(headers: Headers): number | undefined {
  const v = numberHeader(headers, 'retry-after') ?? numberHeader(headers, 'x-ratelimit-reset');
  return v === undefined ? undefined : capWait(v);
}

export function readPipedriveFailure(answer: CrmAnswer): FailureReading {
  if (answer.status === 401) return { auth: true, code: 'unauthorized' };
  if (answer.status === 429) return { rateLimited: true, waitSeconds: pipedriveWaitSeconds(answer.headers), code: 'rate_limited' };
  return {};
}

export function mapPipedriveItem(item: unknown, entity: string): ExternalRecord {
  const o = isObject(item) ? item : null;
  const id = recordIdOf(o?.id);
  if (!o || id === null) throw new CrmError('bad_response', `Pipedrive answer for ${entity} has a record without an id`);
  return { externalId: id, data: { ...o }, updatedAt: isoTime(o.update_time) ?? isoTime(o.modified) };
}

/**
 * `additional_data.pagination`: `more_items_in_collection` and `next_start`. The next start must
 * move forward, or the walk would never end.
 */
export function pipedriveNextStart(body: Record<string, unknown>, start: number, entity: string): number | null {
  const extra = isObject(body.additional_data) ? body.additional_data : null;
  const pagination = extra && isObject(extra.pagination) ? extra.pagination : null;
  if (!pagination || pagination.more_items_in_collection !== true) return null;
  const next = pagination.next_start;
  if (typeof next !== 'number' || !Number.isSafeInteger(next) || next <= start) {
    throw new CrmError('bad_response', `Pipedrive answer for ${entity} has a malformed next_start`);
  }
  return next;
}

/**
 * Pipedrive v1 on the credential's `api_domain`: `GET /api/v1/{persons|organizations|deals}?start=&limit=`,
 * paged by `additional_data.pagination`; `GET /api/v1/users` (one page). An empty collection is `data: null`.
 */
export class PipedriveRecordsClient implements RecordsClient {
  constructor(
    private readonly apiBaseUrl: string,
    private readonly accessToken: string,
    private readonly egress: EgressPolicy,
  ) {}

  async fetchPage(entity: string, cursor: string | null, opts: FetchPageOptions = {}): Promise<RecordPage> {
    const resource = PIPEDRIVE_RESOURCES[entity];
    if (!resource) throw new CrmError('bad_response', `Pipedrive has no ${entity} the importer knows`);
    const rawStart = decodeCursor(cursor)?.start ?? 0;
    if (typeof rawStart !== 'number' || !Number.isSafeInteger(rawStart) || rawStart < 0) throw new CrmError('bad_response', 'the stored re-sync cursor is not one of ours');
    const start = rawStart;
    const url = new URL(`${this.apiBaseUrl}/api/v1/${resource}`);
    if (resource !== 'users') {
      url.searchParams.set('start', String(start));
      url.searchParams.set('limit', String(Math.min(opts.pageSize ?? PIPEDRIVE_LIMIT, 500)));
    }
    const answer = await getPage(this.egress, url, { authorization: `Bearer ${this.accessToken}` }, opts);
    if (answer.status < 200 || answer.status >= 300) throw classifyAnswer('Pipedrive', answer, readPipedriveFailure(answer));
    const body = isObject(answer.body) ? answer.body : null;
    if (!body || body.success !== true || (body.data !== null && !Array.isArray(body.data))) {
      throw new CrmError('bad_response', `Pipedrive answer for ${entity} is not a successful list`);
    }
    const items = (body.data ?? []) as unknown[];
    const records = items.map((r) => mapPipedriveItem(r, entity));
    const next = resource === 'users' ? null : pipedriveNextStart(body, start, entity);
    return { records, nextCursor: next === null ? null : encodeCursor({ start: next }) };
  }
}
