import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccountsStore } from '../accounts/accounts.store';
import { CrmRecord, EntityType } from '../accounts/crm-model';
import { RecordsStore } from '../accounts/records.store';
import { RecordApiFault } from './record-api-faults.service';
import { Caller, extraFields, pipedriveTime, RecordApiAuth, sequenceOf, splitName } from './record-api-support';

const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';
const WINDOW_LIMIT = 80;

function item(entity: EntityType, r: CrmRecord): Record<string, unknown> {
  const base: Record<string, unknown> = { id: sequenceOf(entity, r), add_time: pipedriveTime(r.createdAt), update_time: pipedriveTime(r.updatedAt), active_flag: true };
  switch (entity) {
    case 'contacts': {
      const { first, last } = splitName(r.name);
      Object.assign(base, { name: r.name, first_name: first, last_name: last, email: r.email ? [{ label: 'work', value: r.email, primary: true }] : [], phone: [], org_id: null });
      for (const [k, v] of extraFields(r, ['name', 'email'])) base[k] = v;
      break;
    }
    case 'companies':
      Object.assign(base, { name: r.name, address: null, owner_id: null });
      for (const [k, v] of extraFields(r, ['name'])) base[k] = v;
      break;
    case 'deals':
      Object.assign(base, { title: r.name, value: r.amount, currency: 'USD', status: r.stage === 'closed_won' ? 'won' : r.stage === 'closed_lost' ? 'lost' : 'open', stage: r.stage ?? null });
      for (const [k, v] of extraFields(r, ['name', 'amount', 'stage'])) base[k] = v;
      break;
  }
  return base;
}

/**
 * Pipedrive v1 on the company's API domain (`/pipedrive` stands for `api_domain`):
 * `GET /api/v1/{persons|organizations|deals}?start=&limit=` with `additional_data.pagination`
 * (`more_items_in_collection`, `next_start`; an empty collection is `data: null`) and
 * `GET /api/v1/users`; `x-ratelimit-*` headers, `{success: false, error, errorCode}` errors.
 */
@Controller('pipedrive/api/v1')
export class PipedriveRecordsController {
  constructor(
    private readonly auth: RecordApiAuth,
    private readonly records: RecordsStore,
    private readonly accounts: AccountsStore,
  ) {}

  @Get('persons')
  persons(@Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    this.list('contacts', q, req, res);
  }

  @Get('organizations')
  organizations(@Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    this.list('companies', q, req, res);
  }

  @Get('deals')
  deals(@Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    this.list('deals', q, req, res);
  }

  @Get('users')
  users(@Req() req: Request, @Res() res: Response): void {
    const caller = this.authorize('users', req, res);
    if (!caller) return;
    const users = this.accounts.listUsers(caller.account.id, { includeRemoved: true });
    res.json({
      success: true,
      data: users.map((u, i) => ({ id: u.numericId, name: u.name, email: u.email, active_flag: !u.removed, is_admin: i === 0 ? 1 : 0, created: '2020-01-01 00:00:00', modified: '2020-01-01 00:00:00' })),
    });
  }

  private list(entity: EntityType, q: Record<string, unknown>, req: Request, res: Response): void {
    const start = q.start === undefined ? 0 : typeof q.start === 'string' && /^\d{1,9}$/.test(q.start) ? Number(q.start) : NaN;
    const limit = q.limit === undefined ? 100 : typeof q.limit === 'string' && /^\d{1,4}$/.test(q.limit) ? Number(q.limit) : NaN;
    if (!Number.isInteger(start) || !Number.isInteger(limit) || limit < 1 || limit > 500) {
      res.status(400).json({ success: false, error: 'Invalid start or limit', errorCode: 400, error_info: ERROR_INFO });
      return;
    }
    const caller = this.authorize(entity, req, res);
    if (!caller) return;
    const page = this.records.slice(caller.account.id, entity, { offset: start, limit });
    const more = start + page.records.length < page.total;
    res.json({
      success: true,
      data: page.records.length ? page.records.map((r) => item(entity, r)) : null,
      additional_data: { pagination: { start, limit, more_items_in_collection: more, ...(more ? { next_start: start + page.records.length } : {}) } },
    });
  }

  private authorize(entity: string, req: Request, res: Response): Caller | null {
    const fault = this.auth.fault('pipedrive', entity);
    if (fault) {
      this.sendFault(fault, res);
      return null;
    }
    const caller = this.auth.authenticate('pipedrive', req, ['Bearer']);
    if (typeof caller === 'string') {
      res.status(401).json({ success: false, error: 'unauthorized access', errorCode: 401, error_info: ERROR_INFO });
      return null;
    }
    res.set({ 'x-ratelimit-limit': String(WINDOW_LIMIT), 'x-ratelimit-remaining': String(WINDOW_LIMIT - 1), 'x-ratelimit-reset': '2' });
    return caller;
  }

  private sendFault(fault: RecordApiFault, res: Response): void {
    if (fault.kind === 'unauthorized') {
      res.status(401).json({ success: false, error: 'Invalid token: access token is invalid', errorCode: 401, error_info: ERROR_INFO });
      return;
    }
    if (fault.kind === 'server_error') {
      res.status(500).json({ success: false, error: 'Internal server error', errorCode: 500, error_info: ERROR_INFO });
      return;
    }
    // Pipedrive's 429: the window's reset (seconds from now) says when to come back.
    res
      .status(429)
      .set({ 'x-ratelimit-limit': String(WINDOW_LIMIT), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(fault.retryAfterSeconds) })
      .json({ success: false, error: 'Request over limit', errorCode: 429, error_info: ERROR_INFO });
  }
}
