import type { EgressPolicy } from '../../http/egress-policy';
import { CrmError } from '../errors';
import type { ExternalRecord, FetchPageOptions, RecordPage, RecordsClient } from '../records-client';
import { capWait, classifyAnswer, type CrmAnswer, decodeCursor, encodeCursor, type FailureReading, getPage, isObject, isoTime, numberHeader, recordIdOf, safeCode } from './http';

export const ZOHO_PER_PAGE = 200;
/** Zoho serves at most this many records through `page`; past it, only `page_token` goes on. */
export const ZOHO_PAGE_RECORD_LIMIT = 2000;

export const ZOHO_MODULES: Readonly<Record<string, { module: string; fields: readonly string[] }>> = {
  contacts: { module: 'Contacts', fields: ['First_Name', 'Last_Name', 'Full_Name', 'Email', 'Phone', 'Title', 'Account_Name', 'Created_Time', 'Modified_Time'] },
  companies: { module: 'Accounts', fields: ['Account_Name', 'Website', 'Industry', 'Phone', 'Created_Time', 'Modified_Time'] },
  deals: { module: 'Deals', fields: ['Deal_Name', 'Amount', 'Stage', 'Closing_Date', 'Account_Name', 'Created_Time', 'Modified_Time'] },
};

/**
 * 429: `Retry-After`, else `X-RATELIMIT-RESET` — when the window resets, as Unix time in
 * milliseconds (or seconds), or, when small, seconds from now.
 */
export function zohoWaitSeconds(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = numberHeader(headers, 'retry-after');
  if (retryAfter !== undefined) return capWait(retryAfter);
  const reset = numberHeader(headers, 'x-ratelimit-reset');
  if (reset === undefined) return undefined;
  if (reset > 1e12) return capWait((reset - now) / 1000);
  if (reset > 1e9) return capWait(reset - now / 1000);
  return capWait(reset);
}

export function readZohoFailure(answer: CrmAnswer): FailureReading {
  const b = isObject(answer.body) ? answer.body : {};
  const code = safeCode(b.code);
  if (answer.status === 401 || code === 'INVALID_TOKEN' || code === 'AUTHENTICATION_FAILURE' || code === 'OAUTH_SCOPE_MISMATCH') return { auth: true, code };
  if (answer.status === 429 || code === 'TOO_MANY_REQUESTS') return { rateLimited: true, waitSeconds: zohoWaitSeconds(answer.headers), code: code ?? 'TOO_MANY_REQUESTS' };
  return { code };
}

export function mapZohoRecord(item: unknown, entity: string): ExternalRecord {
  const o = isObject(item) ? item : null;
  const id = recordIdOf(o?.id);
  if (!o || id === null) throw new CrmError('bad_response', `Zoho answer for ${entity} has a record without an id`);
  return { externalId: id, data: { ...o }, updatedAt: isoTime(o.Modified_Time) };
}

/** Where the walk goes next: `page` while it stays within the 2,000-record window, then `page_token`. */
export function zohoNextCursor(info: Record<string, unknown>, page: number, perPage: number, entity: string): string | null {
  if (info.more_records !== true) return null;
  const nextPage = page + 1;
  if (nextPage * perPage <= ZOHO_PAGE_RECORD_LIMIT) return encodeCursor({ page: nextPage });
  const token = info.next_page_token;
  if (typeof token !== 'string' || !/^[A-Za-z0-9_.=-]{1,512}$/.test(token)) {
    throw new CrmError('bad_response', `Zoho answer for ${entity} has more records past ${ZOHO_PAGE_RECORD_LIMIT} but no usable next_page_token`);
  }
  return encodeCursor({ page: nextPage, token });
}

/**
 * Zoho CRM v2 on the data center's API domain: `GET /crm/v2/{Contacts|Accounts|Deals}?page=&per_page=&fields=`
 * while within 2,000 records, then `page_token=` from `info.next_page_token`; `info.more_records`
 * says whether more follow; `GET /crm/v2/users?type=AllUsers` for users. 204 (no content) is an empty module.
 */
export class ZohoRecordsClient implements RecordsClient {
  constructor(
    private readonly apiDomain: string,
    private readonly accessToken: string,
    private readonly egress: EgressPolicy,
  ) {}

  async fetchPage(entity: string, cursor: string | null, opts: FetchPageOptions = {}): Promise<RecordPage> {
    const isUsers = entity === 'users';
    const spec = ZOHO_MODULES[entity];
    if (!isUsers && !spec) throw new CrmError('bad_response', `Zoho has no ${entity} module the importer knows`);
    const c = decodeCursor(cursor);
    const page = c?.page ?? 1;
    if (typeof page !== 'number' || !Number.isSafeInteger(page) || page < 1) throw new CrmError('bad_response', 'the stored re-sync cursor is not one of ours');
    const perPage = Math.min(opts.pageSize ?? ZOHO_PER_PAGE, ZOHO_PER_PAGE);
    const url = new URL(`${this.apiDomain}/crm/v2/${isUsers ? 'users' : spec.module}`);
    if (isUsers) url.searchParams.set('type', 'AllUsers');
    else url.searchParams.set('fields', spec.fields.join(','));
    if (typeof c?.token === 'string') url.searchParams.set('page_token', c.token);
    else url.searchParams.set('page', String(page));
    url.searchParams.set('per_page', String(perPage));
    const answer = await getPage(this.egress, url, { authorization: `Zoho-oauthtoken ${this.accessToken}` }, opts);
    if (answer.status === 204) return { records: [], nextCursor: null };
    if (answer.status < 200 || answer.status >= 300) throw classifyAnswer('Zoho', answer, readZohoFailure(answer));
    const body = isObject(answer.body) ? answer.body : null;
    const list = body?.[isUsers ? 'users' : 'data'];
    if (!body || !Array.isArray(list)) throw new CrmError('bad_response', `Zoho answer for ${entity} has no ${isUsers ? 'users' : 'data'} array`);
    const records = list.map((r) => mapZohoRecord(r, entity));
    const info = isObject(body.info) ? body.info : {};
    return { records, nextCursor: zohoNextCursor(info, page, perPage, entity) };
  }
}
