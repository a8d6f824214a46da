import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Account, CrmRecord, DataCenterRegion, EntityType, RECORD_ID_PREFIX, User } from '../accounts/crm-model';
import { tokenFromHeader } from '../oauth/oauth-endpoints';
import { AccessTokenResolution, TokenIntrospectionService } from '../oauth/token-introspection.service';
import { RecordApiFault, RecordApiFaultsService, RecordApiShape } from './record-api-faults.service';

export type Caller = Extract<AccessTokenResolution, { ok: true }>;
export type Refusal = Exclude<AccessTokenResolution, { ok: true }>['rejection'];

/** The shape's access token (in its own Authorization scheme), resolved; a refusal names why. */
@Injectable()
export class RecordApiAuth {
  constructor(
    private readonly introspection: TokenIntrospectionService,
    private readonly faults: RecordApiFaultsService,
  ) {}

  authenticate(shape: RecordApiShape, req: Request, schemes: readonly string[], region?: DataCenterRegion): Caller | Refusal {
    const resolved = this.introspection.resolveAccessToken(tokenFromHeader(req.headers.authorization, schemes), { provider: shape, ...(region ? { region } : {}) });
    return resolved.ok ? resolved : resolved.rejection;
  }

  fault(shape: RecordApiShape, entity: string): RecordApiFault | null {
    return this.faults.claim(shape, entity);
  }
}

/** The 1-based sequence number of a sandbox record id (`ct_00000042` → 42). */
export function sequenceOf(entity: EntityType, record: CrmRecord): number {
  return Number(record.id.slice(RECORD_ID_PREFIX[entity].length));
}

export function splitName(name: unknown): { first: string | null; last: string | null } {
  const parts = typeof name === 'string' ? name.trim().split(/\s+/) : [];
  if (parts.length === 0 || parts[0] === '') return { first: null, last: null };
  if (parts.length === 1) return { first: null, last: parts[0] };
  return { first: parts.slice(0, -1).join(' '), last: parts[parts.length - 1] };
}

/** The fields of a record beyond the ones its generator and the sandbox own (e.g. `title` set by an admin PATCH). */
export function extraFields(record: CrmRecord, known: readonly string[]): Array<[string, CrmRecord[string]]> {
  const own = new Set(['id', 'createdAt', 'updatedAt', ...known]);
  return Object.entries(record).filter(([k]) => !own.has(k));
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** An 18-character Salesforce-style id whose string order is the sequence's order (`003` Contact, `001` Account, `006` Opportunity). */
export function salesforceRecordId(keyPrefix: string, sequence: number): string {
  let body = '';
  let rest = sequence;
  do {
    body = BASE62[rest % 62] + body;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return `${keyPrefix}${body.padStart(12, '0')}AAA`;
}

/** A long numeric Zoho record id, unique per account and module. */
export function zohoRecordId(account: Account, moduleDigit: number, sequence: number): string {
  return `${account.numericId}${moduleDigit}${String(sequence).padStart(12, '0')}`;
}

/** Pipedrive's `YYYY-MM-DD HH:MM:SS` (UTC). */
export function pipedriveTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

/** Salesforce's `2024-01-31T10:20:30.000+0000`. */
export function salesforceTime(iso: string): string {
  return iso.replace('Z', '+0000');
}

/** Zoho's `2024-01-31T10:20:30+00:00`. */
export function zohoTime(iso: string): string {
  return `${iso.slice(0, 19)}+00:00`;
}

export type UserView = Pick<User, 'id' | 'numericId' | 'email' | 'name' | 'removed'>;
