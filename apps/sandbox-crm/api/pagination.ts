import { EntityType } from '../accounts/crm-model';
import { isRecordIdOf } from '../accounts/records.store';
import { badRequest } from '../common/sandbox-error';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 200;

/** `?limit=` must be a plain integer in 1..MAX_PAGE_LIMIT; anything else is a client bug worth a 400. */
export function parseLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_PAGE_LIMIT;
  const limit = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw badRequest('invalid_limit', `limit must be an integer between 1 and ${MAX_PAGE_LIMIT}`);
  }
  return limit;
}

/*
 * Cursors are opaque to clients (base64url) but simply wrap the last id served. Encoding them
 * keeps clients from depending on the id format, as they must with real CRMs.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(`after:${lastId}`, 'utf8').toString('base64url');
}

/** Returns the id to resume after, or null for the first page; 400 for anything we didn't issue. */
export function decodeCursor(entity: EntityType, raw: unknown): string | null {
  if (raw === undefined) return null;
  const decoded = typeof raw === 'string' && /^[A-Za-z0-9_-]+$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : '';
  const lastId = decoded.startsWith('after:') ? decoded.slice('after:'.length) : '';
  if (!isRecordIdOf(entity, lastId)) throw badRequest('invalid_cursor', `cursor is not a valid ${entity} cursor`);
  return lastId;
}
