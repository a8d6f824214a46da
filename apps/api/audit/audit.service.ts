import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AUDIT_ACTOR_KINDS, type AuditActor, type AuditActorKind, outcomeOfType } from '../../../libs/domain/audit';
import { isSensitiveKey, REDACTED, redactText } from '../codec/redaction';
import { decodeKeysetCursor, encodeKeysetCursor } from '../common/keyset-cursor';
import { DEFAULT_AUDIT_PAGE, type ListAuditEventsQuery } from './audit.dto';

export interface AuditEventView {
  id: string;
  type: string;
  integrationId: string | null;
  actor: AuditActor;
  outcome: string;
  details: Record<string, unknown>;
  createdAt: string;
}

interface AuditRow {
  id: string;
  type: string;
  integration_id: string | null;
  actor_kind: string;
  actor_id: string | null;
  outcome: string | null;
  data: Record<string, unknown>;
  created_at: Date;
  /** `created_at` to the microsecond (UTC), as the cursor carries it: a JS Date keeps only milliseconds. */
  position: string;
}



/**
 * The audit trail of a tenant, newest first. Keyset pages on (created_at, id): a row written while
 * someone pages is newer than every cursor already handed out, so it never shifts a later page
 * (no row twice, none skipped). Rows of deleted integrations stay readable.
 */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async list(tenantId: string, q: ListAuditEventsQuery): Promise<{ data: AuditEventView[]; nextCursor: string | null }> {
    const limit = q.limit ?? DEFAULT_AUDIT_PAGE;
    const params: unknown[] = [tenantId];
    const where = ['tenant_id = $1'];
    if (q.integrationId) {
      params.push(q.integrationId);
      where.push(`integration_id = $${params.length}`);
    }
    if (q.type) {
      params.push(q.type);
      where.push(`type = $${params.length}`);
    }
    if (q.cursor) {
      const [position, id] = decodeKeysetCursor(q.cursor);
      params.push(position, id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamp AT TIME ZONE 'UTC', $${params.length}::uuid)`);
    }
    params.push(limit + 1);
    const rows = (await this.ds.query(
      `SELECT id, type, integration_id, actor_kind, actor_id, outcome, data, created_at,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS position
         FROM audit_events
        WHERE ${where.join(' AND ')}
        ORDER BY created_at DESC, id DESC
        LIMIT $${params.length}`,
      params,
    )) as AuditRow[];
    const page = rows.slice(0, limit);
    return { data: page.map(view), nextCursor: rows.length > limit ? encodeKeysetCursor(page[page.length - 1]) : null };
  }
}

/** Error codes in details (`error.code`, a re-sync entity's code) are snake_case words, never an OAuth code. */
const ERROR_CODE_RE = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The writers put ids, versions, reasons and error codes in `details`, never a secret; this is
 * the second line: the codec's redaction (credential keys at any depth, credentials written in
 * text), except that an error `code` stays readable.
 */
export function redactDetails(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactDetails);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const keep = !isSensitiveKey(k) || v === null || (k.toLowerCase() === 'code' && typeof v === 'string' && ERROR_CODE_RE.test(v));
    // defineProperty: a key named `__proto__` stays an ordinary key of the copy.
    Object.defineProperty(out, k, { value: keep ? redactDetails(v) : REDACTED, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function view(row: AuditRow): AuditEventView {
  const details = (redactDetails(row.data ?? {}) ?? {}) as Record<string, unknown>;
  return {
    id: row.id,
    type: row.type,
    integrationId: row.integration_id,
    actor: actorOf(row),
    outcome: row.outcome ?? outcomeOfType(row.type),
    details,
    createdAt: row.created_at.toISOString(),
  };
}

function actorOf(row: AuditRow): AuditActor {
  const kind = (AUDIT_ACTOR_KINDS as readonly string[]).includes(row.actor_kind) ? (row.actor_kind as AuditActorKind) : 'engine';
  if (row.actor_id) return { kind, id: row.actor_id };
  // API key management records the key that acted in its details.
  const byApiKeyId = row.data?.byApiKeyId;
  if (kind === 'engine' && typeof byApiKeyId === 'string' && byApiKeyId) return { kind: 'api_key', id: byApiKeyId };
  return { kind };
}
