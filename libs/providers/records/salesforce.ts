import type { EgressPolicy } from '../../http/egress-policy';
import { CrmError } from '../errors';
import type { ExternalRecord, FetchPageOptions, RecordPage, RecordsClient } from '../records-client';
import { classifyAnswer, type CrmAnswer, decodeCursor, encodeCursor, type FailureReading, getPage, isObject, isoTime, recordIdOf, safeCode } from './http';

export const SALESFORCE_API_VERSION = 'v59.0';
/** `Sforce-Query-Options: batchSize=` (Salesforce accepts 200 to 2,000). */
export const SALESFORCE_BATCH_SIZE = 200;
/** REQUEST_LIMIT_EXCEEDED without a hint: the org's rolling 24-hour API allowance ran out; look again in this many seconds. */
export const SALESFORCE_LIMIT_WAIT_SECONDS = 300;

/** The SOQL object and fields read per entity type. */
export const SALESFORCE_OBJECTS: Readonly<Record<string, { object: string; fields: readonly string[] }>> = {
  contacts: { object: 'Contact', fields: ['Id', 'FirstName', 'LastName', 'Name', 'Email', 'Phone', 'Title', 'AccountId', 'CreatedDate', 'LastModifiedDate'] },
  companies: { object: 'Account', fields: ['Id', 'Name', 'Website', 'Industry', 'Phone', 'CreatedDate', 'LastModifiedDate'] },
  deals: { object: 'Opportunity', fields: ['Id', 'Name', 'Amount', 'StageName', 'CloseDate', 'AccountId', 'CreatedDate', 'LastModifiedDate'] },
  users: { object: 'User', fields: ['Id', 'Username', 'Name', 'Email', 'IsActive', 'CreatedDate', 'LastModifiedDate'] },
};

const ID = /^[A-Za-z0-9]{15,18}$/;
/** `nextRecordsUrl`: a path under the instance, `/services/data/vNN.N/query/<locator>-<offset>`; anything else is refused. */
const NEXT_RECORDS_URL = /^\/services\/data\/v\d{2,3}\.\d\/query\/([A-Za-z0-9]{15,18}-\d{1,9})$/;

/** The SOQL of one entity type; after `afterId` (resuming past an expired query locator) when given. */
export function salesforceQuery(entity: string, afterId?: string): string {
  const spec = SALESFORCE_OBJECTS[entity];
  if (!spec) throw new CrmError('bad_response', `Salesforce has no ${entity} object the importer knows`);
  if (afterId !== undefined && !ID.test(afterId)) throw new CrmError('bad_response', 'the stored re-sync cursor is not one of ours');
  const where = afterId === undefined ? '' : ` WHERE Id > '${afterId}'`;
  return `SELECT ${spec.fields.join(', ')} FROM ${spec.object}${where} ORDER BY Id`;
}

/** Salesforce error answers are `[{message, errorCode}]`. */
function errorCodeOf(body: unknown): string | undefined {
  const first = Array.isArray(body) ? (body[0] as unknown) : body;
  return isObject(first) ? safeCode(first.errorCode) : undefined;
}

export function readSalesforceFailure(answer: CrmAnswer): FailureReading {
  const code = errorCodeOf(answer.body);
  if (answer.status === 401 || code === 'INVALID_SESSION_ID') return { auth: true, code: code ?? 'INVALID_SESSION_ID' };
  if (code === 'REQUEST_LIMIT_EXCEEDED' || answer.status === 429) {
    return { rateLimited: true, waitSeconds: answer.headers.get('retry-after') === null ? SALESFORCE_LIMIT_WAIT_SECONDS : undefined, code: code ?? 'REQUEST_LIMIT_EXCEEDED' };
  }
  return { code };
}

export function mapSalesforceRecord(item: unknown, entity: string): ExternalRecord {
  const o = isObject(item) ? item : null;
  const id = recordIdOf(o?.Id);
  if (!o || id === null) throw new CrmError('bad_response', `Salesforce answer for ${entity} has a record without an Id`);
  const { attributes: _attributes, ...fields } = o;
  return { externalId: id, data: fields, updatedAt: isoTime(o.LastModifiedDate) };
}

/** The query locator of `nextRecordsUrl`, checked: never a URL of the answer's choosing. */
export function salesforceLocator(nextRecordsUrl: unknown, entity: string): string {
  const m = typeof nextRecordsUrl === 'string' ? NEXT_RECORDS_URL.exec(nextRecordsUrl) : null;
  if (!m) throw new CrmError('bad_response', `Salesforce answer for ${entity} has a malformed nextRecordsUrl`);
  return m[1];
}

/**
 * Salesforce REST query on the credential's `instance_url`: `GET /services/data/vNN.N/query?q=SELECT …
 * FROM Contact|Account|Opportunity|User ORDER BY Id`, then `nextRecordsUrl` (its query locator only)
 * until `done`. The cursor keeps the last Id too: an expired locator (INVALID_QUERY_LOCATOR, e.g.
 * after a long rate-limit wait) resumes with `WHERE Id > <last>`.
 */
export class SalesforceRecordsClient implements RecordsClient {
  constructor(
    private readonly instanceUrl: string,
    private readonly accessToken: string,
    private readonly egress: EgressPolicy,
  ) {}

  private async get(url: URL, opts: FetchPageOptions): Promise<CrmAnswer> {
    return getPage(this.egress, url, { authorization: `Bearer ${this.accessToken}`, 'sforce-query-options': `batchSize=${SALESFORCE_BATCH_SIZE}` }, opts);
  }

  async fetchPage(entity: string, cursor: string | null, opts: FetchPageOptions = {}): Promise<RecordPage> {
    const c = decodeCursor(cursor);
    const base = `${this.instanceUrl}/services/data/${SALESFORCE_API_VERSION}`;
    const lastId = typeof c?.lastId === 'string' ? c.lastId : undefined;
    const queryUrl = (): URL => {
      const url = new URL(`${base}/query`);
      url.searchParams.set('q', salesforceQuery(entity, lastId));
      return url;
    };
    let answer: CrmAnswer;
    if (typeof c?.locator === 'string') {
      if (!/^[A-Za-z0-9]{15,18}-\d{1,9}$/.test(c.locator)) throw new CrmError('bad_response', 'the stored re-sync cursor is not one of ours');
      answer = await this.get(new URL(`${base}/query/${c.locator}`), opts);
      if (answer.status === 400 && errorCodeOf(answer.body) === 'INVALID_QUERY_LOCATOR') answer = await this.get(queryUrl(), opts);
    } else {
      answer = await this.get(queryUrl(), opts);
    }
    if (answer.status < 200 || answer.status >= 300) throw classifyAnswer('Salesforce', answer, readSalesforceFailure(answer));
    const body = isObject(answer.body) ? answer.body : null;
    if (!body || !Array.isArray(body.records)) throw new CrmError('bad_response', `Salesforce answer for ${entity} has no records array`);
    const records = body.records.map((r) => mapSalesforceRecord(r, entity));
    if (body.done === true) return { records, nextCursor: null };
    if (body.done !== false) throw new CrmError('bad_response', `Salesforce answer for ${entity} does not say whether it is done`);
    const locator = salesforceLocator(body.nextRecordsUrl, entity);
    const last = records.length ? records[records.length - 1].externalId : lastId;
    return { records, nextCursor: encodeCursor({ locator, ...(last !== undefined ? { lastId: last } : {}) }) };
  }
}
