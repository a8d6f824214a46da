import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Account, CrmRecord, EntityType, isDataCenterRegion } from '../accounts/crm-model';
import { RecordsStore } from '../accounts/records.store';
import { RecordApiFault } from './record-api-faults.service';
import { Caller, extraFields, RecordApiAuth, sequenceOf, splitName, zohoRecordId, zohoTime } from './record-api-support';

/** Zoho serves at most this many records through `page`; beyond, only `page_token`. */
export const ZOHO_PAGE_RECORD_LIMIT = 2000;
const MODULES: Readonly<Record<string, { entity: EntityType; digit: number }>> = {
  Contacts: { entity: 'contacts', digit: 1 },
  Accounts: { entity: 'companies', digit: 2 },
  Deals: { entity: 'deals', digit: 3 },
};
const WINDOW_LIMIT = 100;

function zohoRecord(account: Account, module: string, r: CrmRecord): Record<string, unknown> {
  const { entity, digit } = MODULES[module];
  const base: Record<string, unknown> = { id: zohoRecordId(account, digit, sequenceOf(entity, r)), Created_Time: zohoTime(r.createdAt), Modified_Time: zohoTime(r.updatedAt) };
  const known: Record<EntityType, readonly string[]> = { contacts: ['name', 'email', 'title'], companies: ['name', 'domain'], deals: ['name', 'amount', 'stage'] };
  switch (entity) {
    case 'contacts': {
      const { first, last } = splitName(r.name);
      Object.assign(base, { First_Name: first, Last_Name: last, Full_Name: r.name, Email: r.email ?? null, Title: r.title ?? null, Phone: null, Account_Name: null });
      break;
    }
    case 'companies':
      Object.assign(base, { Account_Name: r.name, Website: r.domain ?? null, Industry: null, Phone: null });
      break;
    case 'deals':
      Object.assign(base, { Deal_Name: r.name, Amount: r.amount ?? null, Stage: r.stage ?? null, Closing_Date: null, Account_Name: null });
      break;
  }
  for (const [k, v] of extraFields(r, known[entity])) base[`${k.charAt(0).toUpperCase()}${k.slice(1)}`] = v;
  return base;
}

function pageToken(account: Account, module: string, offset: number): string {
  return Buffer.from(JSON.stringify({ a: account.numericId, m: module, o: offset })).toString('base64url');
}

function readPageToken(token: string, account: Account, module: string): number | null {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown; m?: unknown; o?: unknown };
    return t.a === account.numericId && t.m === module && typeof t.o === 'number' && Number.isSafeInteger(t.o) && t.o >= 0 ? t.o : null;
  } catch {
    return null;
  }
}

/**
 * Zoho CRM module records on a data center's API domain (`/zoho/<region>/api` stands for
 * www.zohoapis.<tld>): `GET /crm/v2/{Contacts|Accounts|Deals}?page=&per_page=&fields=`, `info.more_records`,
 * at most 2,000 records by `page` (DISCRETE_PAGINATION_LIMIT_EXCEEDED past them), then
 * `page_token=` from `info.next_page_token`; 204 for an empty module; `X-RATELIMIT-*` headers,
 * `{code, details, message, status: "error"}` errors.
 */
@Controller('zoho/:region/api/crm/:version')
export class ZohoRecordsController {
  constructor(
    private readonly auth: RecordApiAuth,
    private readonly records: RecordsStore,
  ) {}

  @Get('Contacts')
  contacts(@Param('region') region: string, @Param('version') version: string, @Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    this.list('Contacts', region, version, q, req, res);
  }

  @Get('Accounts')
  accountsModule(@Param('region') region: string, @Param('version') version: string, @Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    this.list('Accounts', region, version, q, req, res);
  }

  @Get('Deals')
  deals(@Param('region') region: string, @Param('version') version: string, @Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    this.list('Deals', region, version, q, req, res);
  }

  private list(module: string, region: string, version: string, q: Record<string, unknown>, req: Request, res: Response): void {
    if (!isDataCenterRegion(region) || !/^v\d+(\.\d+)?$/.test(version)) return this.error(res, 404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
    const perPage = q.per_page === undefined ? 200 : typeof q.per_page === 'string' && /^\d{1,4}$/.test(q.per_page) ? Number(q.per_page) : NaN;
    const page = q.page === undefined ? 1 : typeof q.page === 'string' && /^\d{1,6}$/.test(q.page) ? Number(q.page) : NaN;
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200 || !Number.isInteger(page) || page < 1) {
      return this.error(res, 400, 'INVALID_DATA', 'invalid data', { param_name: Number.isInteger(perPage) ? 'page' : 'per_page' });
    }
    const caller = this.authorize(MODULES[module].entity, region, req, res);
    if (!caller) return;
    const { account } = caller;
    let offset: number;
    if (q.page_token !== undefined) {
      const o = typeof q.page_token === 'string' ? readPageToken(q.page_token, account, module) : null;
      if (o === null) return this.error(res, 400, 'INVALID_DATA', 'invalid page token', { param_name: 'page_token' });
      offset = o;
    } else {
      if (page * perPage > ZOHO_PAGE_RECORD_LIMIT) {
        return this.error(res, 400, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED', `cannot fetch more than ${ZOHO_PAGE_RECORD_LIMIT} records with page; use page_token`, { limit: ZOHO_PAGE_RECORD_LIMIT });
      }
      offset = (page - 1) * perPage;
    }
    const slice = this.records.slice(account.id, MODULES[module].entity, { offset, limit: perPage });
    if (slice.records.length === 0 && offset === 0) {
      res.status(204).end();
      return;
    }
    const fields = typeof q.fields === 'string' && q.fields !== '' ? new Set(q.fields.split(',')) : null;
    const more = offset + slice.records.length < slice.total;
    res.json({
      data: slice.records.map((r) => {
        const full = zohoRecord(account, module, r);
        return fields ? Object.fromEntries(Object.entries(full).filter(([k]) => k === 'id' || fields.has(k))) : full;
      }),
      info: {
        per_page: perPage,
        count: slice.records.length,
        page: q.page_token !== undefined ? Math.floor(offset / perPage) + 1 : page,
        sort_by: 'id',
        sort_order: 'asc',
        more_records: more,
        next_page_token: more ? pageToken(account, module, offset + slice.records.length) : null,
        previous_page_token: null,
        page_token_expiry: more ? new Date(Date.now() + 86_400_000).toISOString() : null,
      },
    });
  }

  private authorize(entity: string, region: string, req: Request, res: Response): Caller | null {
    const fault = this.auth.fault('zoho', entity);
    if (fault) {
      this.sendFault(fault, res);
      return null;
    }
    const caller = this.auth.authenticate('zoho', req, ['Zoho-oauthtoken', 'Bearer'], isDataCenterRegion(region) ? region : undefined);
    if (typeof caller === 'string') {
      if (caller === 'missing') this.error(res, 401, 'AUTHENTICATION_FAILURE', 'Authentication failed');
      else this.error(res, 401, 'INVALID_TOKEN', 'invalid oauth token');
      return null;
    }
    res.set({ 'X-RATELIMIT-LIMIT': String(WINDOW_LIMIT), 'X-RATELIMIT-REMAINING': String(WINDOW_LIMIT - 1), 'X-RATELIMIT-RESET': String(Date.now() + 60_000) });
    return caller;
  }

  private sendFault(fault: RecordApiFault, res: Response): void {
    if (fault.kind === 'unauthorized') return this.error(res, 401, 'INVALID_TOKEN', 'invalid oauth token');
    if (fault.kind === 'server_error') return this.error(res, 500, 'INTERNAL_ERROR', 'Internal Server Error');
    // X-RATELIMIT-RESET: when the window resets, Unix time in milliseconds.
    res.set({ 'X-RATELIMIT-LIMIT': String(WINDOW_LIMIT), 'X-RATELIMIT-REMAINING': '0', 'X-RATELIMIT-RESET': String(Date.now() + fault.retryAfterSeconds * 1000) });
    this.error(res, 429, 'TOO_MANY_REQUESTS', 'You have made too many requests. Please try again later.');
  }

  private error(res: Response, status: number, code: string, message: string, details: Record<string, unknown> = {}): void {
    res.status(status).json({ code, details, message, status: 'error' });
  }
}
