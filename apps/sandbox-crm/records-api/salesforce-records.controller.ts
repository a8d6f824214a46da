import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { AccountsStore } from '../accounts/accounts.store';
import { CrmRecord, EntityType } from '../accounts/crm-model';
import { RecordsStore } from '../accounts/records.store';
import { salesforceUserId } from '../oauth/provider-identities';
import { RecordApiFault } from './record-api-faults.service';
import { Caller, extraFields, RecordApiAuth, salesforceRecordId, salesforceTime, sequenceOf, splitName } from './record-api-support';

type FieldValue = string | number | boolean | null;
type Row = Record<string, FieldValue>;

const API_VERSION = /^v\d{2,3}\.\d$/;
const DAILY_LIMIT = 15_000;
const OBJECTS: Readonly<Record<string, { entity: EntityType | 'users'; keyPrefix: string; fields: readonly string[] }>> = {
  contact: { entity: 'contacts', keyPrefix: '003', fields: ['Id', 'FirstName', 'LastName', 'Name', 'Email', 'Phone', 'Title', 'AccountId', 'CreatedDate', 'LastModifiedDate'] },
  account: { entity: 'companies', keyPrefix: '001', fields: ['Id', 'Name', 'Website', 'Industry', 'Phone', 'CreatedDate', 'LastModifiedDate'] },
  opportunity: { entity: 'deals', keyPrefix: '006', fields: ['Id', 'Name', 'Amount', 'StageName', 'CloseDate', 'AccountId', 'CreatedDate', 'LastModifiedDate'] },
  user: { entity: 'users', keyPrefix: '005', fields: ['Id', 'Username', 'Name', 'Email', 'IsActive', 'CreatedDate', 'LastModifiedDate'] },
};
const OBJECT_NAMES: Readonly<Record<string, string>> = { contact: 'Contact', account: 'Account', opportunity: 'Opportunity', user: 'User' };
const SOQL = /^SELECT\s+([A-Za-z0-9_,\s]+?)\s+FROM\s+([A-Za-z]+)(?:\s+WHERE\s+Id\s*>\s*'([A-Za-z0-9]{15,18})')?(?:\s+ORDER\s+BY\s+Id(?:\s+ASC)?)?\s*$/i;

interface QueryCursor {
  accountId: string;
  object: string;
  fields: string[];
  afterId: string | null;
  batchSize: number;
}

/** A record's fields in Salesforce's names; custom fields (an admin PATCH) as `<Name>__c`. */
function sfRow(entity: EntityType, keyPrefix: string, r: CrmRecord): Row {
  const base: Row = { Id: salesforceRecordId(keyPrefix, sequenceOf(entity, r)), CreatedDate: salesforceTime(r.createdAt), LastModifiedDate: salesforceTime(r.updatedAt) };
  const known: Record<EntityType, readonly string[]> = { contacts: ['name', 'email', 'title'], companies: ['name', 'domain'], deals: ['name', 'amount', 'stage'] };
  switch (entity) {
    case 'contacts': {
      const { first, last } = splitName(r.name);
      Object.assign(base, { FirstName: first, LastName: last, Name: r.name ?? null, Email: r.email ?? null, Phone: null, Title: r.title ?? null, AccountId: null });
      break;
    }
    case 'companies':
      Object.assign(base, { Name: r.name ?? null, Website: r.domain ?? null, Industry: null, Phone: null });
      break;
    case 'deals':
      Object.assign(base, { Name: r.name ?? null, Amount: r.amount ?? null, StageName: r.stage ?? null, CloseDate: null, AccountId: null });
      break;
  }
  for (const [k, v] of extraFields(r, known[entity])) base[`${k.charAt(0).toUpperCase()}${k.slice(1)}__c`] = v;
  return base;
}

/**
 * Salesforce REST query on the instance (`/salesforce` stands for the org's `instance_url`):
 * `GET /services/data/vNN.N/query?q=SELECT … FROM Contact|Account|Opportunity|User [WHERE Id > '…'] [ORDER BY Id]`,
 * batches of `Sforce-Query-Options: batchSize=` (200–2,000), then `nextRecordsUrl`
 * (`/services/data/vNN.N/query/<locator>-<offset>`). Errors are `[{message, errorCode}]`:
 * INVALID_SESSION_ID (401), REQUEST_LIMIT_EXCEEDED (403, with `Sforce-Limit-Info`), MALFORMED_QUERY,
 * INVALID_FIELD, INVALID_QUERY_LOCATOR.
 */
@Controller('salesforce/services/data')
export class SalesforceRecordsController {
  private readonly cursors = new Map<string, QueryCursor>();
  private used = 0;

  constructor(
    private readonly auth: RecordApiAuth,
    private readonly records: RecordsStore,
    private readonly accounts: AccountsStore,
  ) {}

  @Get(':version/query')
  query(@Param('version') version: string, @Query('q') q: unknown, @Req() req: Request, @Res() res: Response): void {
    if (!API_VERSION.test(version)) return this.error(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
    const m = typeof q === 'string' ? SOQL.exec(q.trim()) : null;
    if (!m) return this.error(res, 400, 'MALFORMED_QUERY', 'unexpected token in query');
    const objectKey = m[2].toLowerCase();
    const spec = OBJECTS[objectKey];
    if (!spec) return this.error(res, 400, 'INVALID_TYPE', `sObject type '${m[2].slice(0, 40)}' is not supported.`);
    const fields = m[1].split(',').map((f) => f.trim()).filter(Boolean);
    for (const f of fields) {
      if (!spec.fields.some((k) => k.toLowerCase() === f.toLowerCase()) && !/__c$/i.test(f)) {
        return this.error(res, 400, 'INVALID_FIELD', `No such column '${f.slice(0, 40)}' on entity '${OBJECT_NAMES[objectKey]}'.`);
      }
    }
    const caller = this.authorize(spec.entity, req, res);
    if (!caller) return;
    const option = /batchSize=(\d+)/i.exec(String(req.headers['sforce-query-options'] ?? ''));
    const batchSize = option ? Math.min(Math.max(Number(option[1]), 200), 2000) : 2000;
    this.answer(res, version, { accountId: caller.account.id, object: objectKey, fields, afterId: m[3] ?? null, batchSize }, 0);
  }

  @Get(':version/query/:locator')
  more(@Param('version') version: string, @Param('locator') locator: string, @Req() req: Request, @Res() res: Response): void {
    if (!API_VERSION.test(version)) return this.error(res, 404, 'NOT_FOUND', 'The requested resource does not exist');
    const m = /^([A-Za-z0-9]{18})-(\d{1,9})$/.exec(locator);
    const cursor = m ? this.cursors.get(m[1]) : undefined;
    const caller = this.authorize(cursor ? OBJECTS[cursor.object].entity : 'unknown', req, res);
    if (!caller) return;
    if (!cursor || cursor.accountId !== caller.account.id) return this.error(res, 400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    this.answer(res, version, cursor, Number(m![2]), m![1]);
  }

  private rows(cursor: QueryCursor): Row[] {
    const spec = OBJECTS[cursor.object];
    let rows: Row[];
    if (spec.entity === 'users') {
      rows = this.accounts
        .listUsers(cursor.accountId, { includeRemoved: true })
        .map((u) => ({ Id: salesforceUserId(u), Username: u.email, Name: u.name, Email: u.email, IsActive: !u.removed, CreatedDate: '2020-01-01T00:00:00.000+0000', LastModifiedDate: '2020-01-01T00:00:00.000+0000' }))
        .sort((a, b) => (a.Id < b.Id ? -1 : 1));
    } else {
      const entity = spec.entity;
      const { records } = this.records.slice(cursor.accountId, entity, { offset: 0, limit: Number.MAX_SAFE_INTEGER });
      rows = records.map((r) => sfRow(entity, spec.keyPrefix, r));
    }
    return cursor.afterId === null ? rows : rows.filter((r) => String(r.Id) > cursor.afterId!);
  }

  private answer(res: Response, version: string, cursor: QueryCursor, offset: number, existingLocator?: string): void {
    const all = this.rows(cursor);
    const batch = all.slice(offset, offset + cursor.batchSize);
    const done = offset + batch.length >= all.length;
    let locator = existingLocator;
    if (!done && !locator) {
      locator = `01g${randomBytes(12).toString('base64').replace(/[^A-Za-z0-9]/g, '').padEnd(15, 'x').slice(0, 15)}`;
      this.cursors.set(locator, cursor);
    }
    const objectName = OBJECT_NAMES[cursor.object];
    res.json({
      totalSize: all.length,
      done,
      ...(done ? {} : { nextRecordsUrl: `/services/data/${version}/query/${locator}-${offset + batch.length}` }),
      records: batch.map((row) => {
        const out: Row & { attributes?: unknown } = {};
        for (const f of cursor.fields) {
          const canonical = OBJECTS[cursor.object].fields.find((k) => k.toLowerCase() === f.toLowerCase()) ?? Object.keys(row).find((k) => k.toLowerCase() === f.toLowerCase()) ?? f;
          out[canonical] = row[canonical] ?? null;
        }
        return { attributes: { type: objectName, url: `/services/data/${version}/sobjects/${objectName}/${row.Id}` }, ...out };
      }),
    });
  }

  private authorize(entity: string, req: Request, res: Response): Caller | null {
    const fault = this.auth.fault('salesforce', entity);
    if (fault) {
      this.sendFault(fault, res);
      return null;
    }
    const caller = this.auth.authenticate('salesforce', req, ['Bearer', 'OAuth']);
    if (typeof caller === 'string') {
      this.error(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      return null;
    }
    this.used += 1;
    res.set('Sforce-Limit-Info', `api-usage=${this.used}/${DAILY_LIMIT}`);
    return caller;
  }

  private sendFault(fault: RecordApiFault, res: Response): void {
    if (fault.kind === 'unauthorized') return this.error(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    if (fault.kind === 'server_error') return this.error(res, 503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable');
    // The org's API allowance ran out: 403 REQUEST_LIMIT_EXCEEDED. The sandbox adds Retry-After so
    // a test can say how long the "24-hour" window lasts.
    res
      .status(403)
      .set({ 'Sforce-Limit-Info': `api-usage=${DAILY_LIMIT}/${DAILY_LIMIT}`, 'Retry-After': String(fault.retryAfterSeconds) })
      .json([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
  }

  private error(res: Response, status: number, errorCode: string, message: string): void {
    res.status(status).json([{ message, errorCode }]);
  }
}
