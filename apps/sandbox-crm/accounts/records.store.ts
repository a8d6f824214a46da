import { Injectable } from '@nestjs/common';
import { badRequest, notFound } from '../common/sandbox-error';
import {
  CrmRecord,
  ENTITY_TYPES,
  EntityType,
  RECORD_ID_PREFIX,
  RECORD_SEQUENCE_DIGITS,
  RecordCounts,
  RecordFieldValue,
} from './crm-model';
import { generateRecordFields } from './record-generator';

/** One entity type's records for one account. `records` is always sorted by id (ids are sequential). */
interface RecordTable {
  nextSequence: number;
  records: CrmRecord[];
  byId: Map<string, CrmRecord>;
}

export interface RecordPage {
  records: CrmRecord[];
  /** Id of the last record returned when more follow; null on the last page. */
  lastIdIfMore: string | null;
}

/** Fields the sandbox owns; updates may not overwrite them. */
const SYSTEM_FIELDS = new Set(['id', 'createdAt', 'updatedAt']);
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const SEQUENCE_PART = new RegExp(`^\\d{${RECORD_SEQUENCE_DIGITS}}$`);

/** In-memory CRM records (contacts, companies, deals), partitioned by account. */
@Injectable()
export class RecordsStore {
  private readonly tablesByAccount = new Map<string, Record<EntityType, RecordTable>>();
  private lastTimestampMs = 0;

  /** Appends `counts[entity]` generated records per entity type to the account. */
  seed(accountId: string, counts: Partial<RecordCounts>): void {
    const tables = this.tablesFor(accountId);
    const now = this.nextTimestamp();
    for (const entity of ENTITY_TYPES) {
      const table = tables[entity];
      for (let n = 0; n < (counts[entity] ?? 0); n += 1) {
        const sequence = table.nextSequence++;
        const record: CrmRecord = {
          id: recordId(entity, sequence),
          ...generateRecordFields(entity, sequence),
          createdAt: now,
          updatedAt: now,
        };
        table.records.push(record);
        table.byId.set(record.id, record);
      }
    }
  }

  counts(accountId: string): RecordCounts {
    const tables = this.tablesFor(accountId);
    return Object.fromEntries(ENTITY_TYPES.map((entity) => [entity, tables[entity].records.length])) as RecordCounts;
  }

  /**
   * Keyset pagination: returns up to `limit` records with id > `afterId`. Keyset (rather than
   * offset) pagination keeps pages stable while records are edited between page fetches.
   */
  page(accountId: string, entity: EntityType, options: { limit: number; afterId: string | null }): RecordPage {
    const { records } = this.tablesFor(accountId)[entity];
    const start = options.afterId === null ? 0 : firstIndexAfter(records, options.afterId);
    const slice = records.slice(start, start + options.limit);
    const hasMore = start + slice.length < records.length;
    return {
      records: slice.map((record) => ({ ...record })),
      lastIdIfMore: hasMore && slice.length > 0 ? slice[slice.length - 1].id : null,
    };
  }

  /** Offset pagination (Pipedrive `start`, Zoho `page`, Salesforce query locators): records never move, ids are sequential. */
  slice(accountId: string, entity: EntityType, options: { offset: number; limit: number }): { records: CrmRecord[]; total: number } {
    const { records } = this.tablesFor(accountId)[entity];
    return { records: records.slice(options.offset, options.offset + options.limit).map((record) => ({ ...record })), total: records.length };
  }

  /** Applies a partial update and bumps `updatedAt`, mimicking an edit made inside the CRM. */
  update(accountId: string, entity: EntityType, id: string, fields: unknown): CrmRecord {
    const record = this.tablesFor(accountId)[entity].byId.get(id);
    if (!record) throw notFound('record_not_found', `No ${entity} record with id "${id}"`);
    const changes = validateFieldChanges(fields);
    Object.assign(record, changes, { updatedAt: this.nextTimestamp() });
    return { ...record };
  }

  reset(): void {
    this.tablesByAccount.clear();
  }

  private tablesFor(accountId: string): Record<EntityType, RecordTable> {
    let tables = this.tablesByAccount.get(accountId);
    if (!tables) {
      tables = Object.fromEntries(
        ENTITY_TYPES.map((entity): [EntityType, RecordTable] => [entity, { nextSequence: 1, records: [], byId: new Map() }]),
      ) as Record<EntityType, RecordTable>;
      this.tablesByAccount.set(accountId, tables);
    }
    return tables;
  }

  /**
   * Strictly increasing ISO timestamps: two edits in the same millisecond still get distinct,
   * ordered `updatedAt` values, so a delta sync keyed on `updatedAt` can't miss one.
   */
  private nextTimestamp(): string {
    this.lastTimestampMs = Math.max(Date.now(), this.lastTimestampMs + 1);
    return new Date(this.lastTimestampMs).toISOString();
  }
}

export function recordId(entity: EntityType, sequence: number): string {
  return RECORD_ID_PREFIX[entity] + String(sequence).padStart(RECORD_SEQUENCE_DIGITS, '0');
}

/** True when `id` has the exact shape of a record id of `entity` (used to vet cursors). */
export function isRecordIdOf(entity: EntityType, id: string): boolean {
  const prefix = RECORD_ID_PREFIX[entity];
  return id.startsWith(prefix) && SEQUENCE_PART.test(id.slice(prefix.length));
}

/** Binary search over id-sorted records; fixed-width ids make string comparison numeric. */
function firstIndexAfter(records: CrmRecord[], afterId: string): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (records[mid].id <= afterId) low = mid + 1;
    else high = mid;
  }
  return low;
}

function validateFieldChanges(fields: unknown): Record<string, RecordFieldValue> {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw badRequest('invalid_request', 'Request body must be a JSON object of fields to change');
  }
  const entries = Object.entries(fields);
  if (entries.length === 0) throw badRequest('invalid_request', 'Provide at least one field to change');
  for (const [name, value] of entries) {
    if (SYSTEM_FIELDS.has(name)) throw badRequest('invalid_request', `Field "${name}" is managed by the sandbox and cannot be set`);
    if (!FIELD_NAME.test(name)) throw badRequest('invalid_request', `Field name "${name}" is not a valid identifier`);
    const isFlatValue = value === null || ['string', 'number', 'boolean'].includes(typeof value);
    if (!isFlatValue) throw badRequest('invalid_request', `Field "${name}" must be a string, number, boolean or null`);
  }
  return Object.fromEntries(entries) as Record<string, RecordFieldValue>;
}
