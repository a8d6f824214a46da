import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { AccountsStore } from '../accounts/accounts.store';
import { CrmRecord, EntityType, isEntityType } from '../accounts/crm-model';
import { recordId, RecordsStore } from '../accounts/records.store';
import { baseUrlOf } from '../oauth/oauth-endpoints';
import { RecordApiFault } from './record-api-faults.service';
import { extraFields, RecordApiAuth, sequenceOf, splitName } from './record-api-support';

const MAX_LIMIT = 100;
const DAILY = 250_000;
const INTERVAL_MS = 10_000;
const INTERVAL_MAX = 110;

/** HubSpot property names of a sandbox record, per object type. */
function properties(entity: EntityType, r: CrmRecord): Record<string, string | null> {
  const p: Record<string, string | null> = { createdate: r.createdAt, hs_object_id: String(sequenceOf(entity, r)) };
  const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
  switch (entity) {
    case 'contacts': {
      const { first, last } = splitName(r.name);
      Object.assign(p, { firstname: first, lastname: last, email: s(r.email), jobtitle: s(r.title), lastmodifieddate: r.updatedAt });
      for (const [k, v] of extraFields(r, ['name', 'email', 'title'])) p[k.toLowerCase()] = s(v);
      break;
    }
    case 'companies':
      Object.assign(p, { name: s(r.name), domain: s(r.domain), hs_lastmodifieddate: r.updatedAt });
      for (const [k, v] of extraFields(r, ['name', 'domain'])) p[k.toLowerCase()] = s(v);
      break;
    case 'deals':
      Object.assign(p, { dealname: s(r.name), amount: s(r.amount), dealstage: s(r.stage), hs_lastmodifieddate: r.updatedAt });
      for (const [k, v] of extraFields(r, ['name', 'amount', 'stage'])) p[k.toLowerCase()] = s(v);
      break;
  }
  return p;
}

const DEFAULT_PROPERTIES: Readonly<Record<EntityType, readonly string[]>> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  deals: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
};

/**
 * HubSpot CRM v3 objects and owners on the API host (`/hubspot` stands for api.hubapi.com):
 * `GET /crm/v3/objects/{contacts|companies|deals}?limit=&after=&properties=` and `GET /crm/v3/owners`,
 * paged by `paging.next.after`, with HubSpot's `X-HubSpot-RateLimit-*` headers and error bodies
 * (`{status, message, correlationId, category}`).
 */
@Controller('hubspot/crm/v3')
export class HubspotRecordsController {
  private used = 0;

  constructor(
    private readonly auth: RecordApiAuth,
    private readonly records: RecordsStore,
    private readonly accounts: AccountsStore,
  ) {}

  @Get('objects/:type')
  objects(@Param('type') type: string, @Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    if (!isEntityType(type)) return this.error(res, 400, 'OBJECT_NOT_FOUND', `Unable to infer object type from: ${type.slice(0, 40)}`);
    const paging = this.paging(query, res);
    if (!paging) return;
    const caller = this.authorize(type, req, res);
    if (!caller) return;
    const afterId = paging.after === null ? null : recordId(type, paging.after);
    const page = this.records.page(caller.account.id, type, { limit: paging.limit, afterId });
    const asked = typeof query.properties === 'string' && query.properties !== '' ? query.properties.split(',') : [...DEFAULT_PROPERTIES[type]];
    const results = page.records.map((r) => {
      const all = properties(type, r);
      const props = Object.fromEntries([...new Set([...asked, 'createdate', 'hs_object_id', type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate'])].filter((k) => k in all).map((k) => [k, all[k]]));
      return { id: String(sequenceOf(type, r)), properties: props, createdAt: r.createdAt, updatedAt: r.updatedAt, archived: false };
    });
    const last = page.records[page.records.length - 1];
    const next = page.lastIdIfMore !== null && last ? String(sequenceOf(type, last)) : null;
    res.json({
      results,
      ...(next ? { paging: { next: { after: next, link: `${baseUrlOf(req)}/hubspot/crm/v3/objects/${type}?after=${next}` } } } : {}),
    });
  }

  @Get('owners')
  owners(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    const paging = this.paging(query, res);
    if (!paging) return;
    const caller = this.authorize('users', req, res);
    if (!caller) return;
    const all = this.accounts.listUsers(caller.account.id, { includeRemoved: false });
    const from = paging.after === null ? 0 : all.findIndex((u) => u.numericId > paging.after!);
    const slice = from < 0 ? [] : all.slice(from, from + paging.limit);
    const more = from >= 0 && from + slice.length < all.length;
    res.json({
      results: slice.map((u) => {
        const name = splitName(u.name);
        return { id: String(u.numericId), email: u.email, firstName: name.first ?? '', lastName: name.last ?? '', userId: u.numericId, createdAt: '2020-01-01T00:00:00.000Z', updatedAt: '2020-01-01T00:00:00.000Z', archived: false };
      }),
      ...(more ? { paging: { next: { after: String(slice[slice.length - 1].numericId) } } } : {}),
    });
  }

  private paging(query: Record<string, unknown>, res: Response): { limit: number; after: number | null } | null {
    const limit = query.limit === undefined ? 10 : typeof query.limit === 'string' && /^\d{1,4}$/.test(query.limit) ? Number(query.limit) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      this.error(res, 400, 'VALIDATION_ERROR', `limit must be between 1 and ${MAX_LIMIT}`);
      return null;
    }
    if (query.after !== undefined && (typeof query.after !== 'string' || !/^\d{1,12}$/.test(query.after))) {
      this.error(res, 400, 'VALIDATION_ERROR', 'after is not a valid paging cursor');
      return null;
    }
    return { limit, after: query.after === undefined ? null : Number(query.after) };
  }

  /** The caller, or the answer already sent: a fault armed for this shape, or a refused token. */
  private authorize(entity: string, req: Request, res: Response) {
    const fault = this.auth.fault('hubspot', entity);
    if (fault) {
      this.sendFault(fault, res);
      return null;
    }
    const caller = this.auth.authenticate('hubspot', req, ['Bearer']);
    if (typeof caller === 'string') {
      this.error(res, 401, caller === 'expired' ? 'EXPIRED_AUTHENTICATION' : 'INVALID_AUTHENTICATION', caller === 'expired' ? 'The OAuth token used to make this call expired.' : 'Authentication credentials not found.');
      return null;
    }
    this.used += 1;
    res.set({
      'X-HubSpot-RateLimit-Daily': String(DAILY),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, DAILY - this.used)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(INTERVAL_MS),
      'X-HubSpot-RateLimit-Max': String(INTERVAL_MAX),
      'X-HubSpot-RateLimit-Remaining': String(INTERVAL_MAX - 1),
      'X-HubSpot-RateLimit-Secondly': '11',
      'X-HubSpot-RateLimit-Secondly-Remaining': '10',
    });
    return caller;
  }

  private sendFault(fault: RecordApiFault, res: Response): void {
    if (fault.kind === 'unauthorized') return this.error(res, 401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired.');
    if (fault.kind === 'server_error') return this.error(res, 502, 'INTERNAL_ERROR', 'Bad gateway');
    // HubSpot's 429 carries no Retry-After: the interval headers say when the window is over.
    res
      .status(429)
      .set({
        'X-HubSpot-RateLimit-Daily': String(DAILY),
        'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, DAILY - this.used)),
        'X-HubSpot-RateLimit-Interval-Milliseconds': String(fault.retryAfterSeconds * 1000),
        'X-HubSpot-RateLimit-Max': String(INTERVAL_MAX),
        'X-HubSpot-RateLimit-Remaining': '0',
      })
      .json({
        status: 'error',
        message: 'You have reached your ten_secondly_rolling limit.',
        errorType: 'RATE_LIMIT',
        correlationId: randomUUID(),
        policyName: 'TEN_SECONDLY_ROLLING',
      });
  }

  private error(res: Response, status: number, category: string, message: string): void {
    res.status(status).json({ status: 'error', message, correlationId: randomUUID(), category });
  }
}
