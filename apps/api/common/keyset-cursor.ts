import { ApiError, isUuid } from './api-error';

/**
 * The cursor of a newest-first keyset page on (created_at, id): the last row's `created_at` to the
 * microsecond (UTC; a JS Date keeps only milliseconds) and its id, as opaque base64url. A row
 * written while someone pages is newer than every cursor handed out, so no row is listed twice or
 * skipped. Used by the audit trail and the events list.
 */
export type KeysetCursor = [position: string, id: string];

const POSITION_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

export function encodeKeysetCursor(row: { position: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.position, row.id] satisfies KeysetCursor)).toString('base64url');
}

/** The cursor's position and id; 400 `invalid_cursor` for anything this API did not hand out. */
export function decodeKeysetCursor(cursor: string): KeysetCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && POSITION_RE.test(parsed[0]) && typeof parsed[1] === 'string' && isUuid(parsed[1])) {
    return [parsed[0], parsed[1]];
  }
  throw ApiError.badRequest('invalid_cursor', 'cursor is not a nextCursor of this list; start again without one');
}
