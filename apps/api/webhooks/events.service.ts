import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { WebhookDeliveryStatus } from '../../../libs/db/entities';
import { decodeKeysetCursor, encodeKeysetCursor } from '../common/keyset-cursor';
import { DEFAULT_EVENTS_PAGE, type ListEventsQuery } from './webhooks.dto';

/** Where one event stands at one endpoint. Never a secret: the error is our own words, never the receiver's answer. */
export interface EventDeliveryView {
  id: string;
  endpointId: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  resends: number;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface EventView {
  id: string;
  event: string;
  integrationId: string | null;
  createdAt: string;
  /** The `payload` every delivery of it carries (frozen when it happened). */
  payload: Record<string, unknown>;
  /** One per endpoint subscribed when it happened (deleted endpoints included), oldest endpoint first. */
  deliveries: EventDeliveryView[];
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  resends: number;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
}

export const DELIVERY_COLUMNS = `d."id", d."event_id", d."endpoint_id", d."status", d."attempts", d."resends", d."last_attempt_at",
  d."last_status_code", d."last_error", d."delivered_at"`;

export function deliveryView(r: DeliveryRow): EventDeliveryView {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    status: r.status,
    attempts: r.attempts,
    resends: r.resends,
    lastAttemptAt: iso(r.last_attempt_at),
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    deliveredAt: iso(r.delivered_at),
  };
}

interface EventRow {
  id: string;
  type: string;
  integration_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
  /** `created_at` to the microsecond (UTC), as the cursor carries it: a JS Date keeps only milliseconds. */
  position: string;
}


/** Kept under its name for callers of the events list. */
export const decodeEventsCursor = decodeKeysetCursor;

/**
 * The webhook events emitted for a tenant, newest first, each with its delivery at every endpoint.
 * Keyset pages on (created_at, id), as the audit trail: an event recorded while someone pages is
 * newer than every cursor already handed out, so no event is listed twice or skipped.
 */
@Injectable()
export class EventsService {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  async list(tenantId: string, q: ListEventsQuery): Promise<{ data: EventView[]; nextCursor: string | null }> {
    const limit = q.limit ?? DEFAULT_EVENTS_PAGE;
    const params: unknown[] = [tenantId];
    let after = '';
    if (q.cursor) {
      const [position, id] = decodeKeysetCursor(q.cursor);
      params.push(position, id);
      after = `AND ("created_at", "id") < ($2::timestamp AT TIME ZONE 'UTC', $3::uuid)`;
    }
    params.push(limit + 1);
    const rows = (await this.ds.query(
      `SELECT "id", "type", "integration_id", "payload", "created_at",
              to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS "position"
         FROM "webhook_events"
        WHERE "tenant_id" = $1 ${after}
        ORDER BY "created_at" DESC, "id" DESC
        LIMIT $${params.length}`,
      params,
    )) as EventRow[];
    const page = rows.slice(0, limit);
    const deliveries = page.length
      ? ((await this.ds.query(
          `SELECT ${DELIVERY_COLUMNS}
             FROM "webhook_deliveries" d JOIN "webhook_endpoints" w ON w."id" = d."endpoint_id"
            WHERE d."tenant_id" = $1 AND d."event_id" = ANY($2::uuid[])
            ORDER BY w."created_at", w."id"`,
          [tenantId, page.map((e) => e.id)],
        )) as DeliveryRow[])
      : [];
    const byEvent = new Map<string, EventDeliveryView[]>();
    for (const d of deliveries) byEvent.set(d.event_id, [...(byEvent.get(d.event_id) ?? []), deliveryView(d)]);
    return {
      data: page.map((e) => ({
        id: e.id,
        event: e.type,
        integrationId: e.integration_id,
        createdAt: new Date(e.created_at).toISOString(),
        payload: e.payload ?? {},
        deliveries: byEvent.get(e.id) ?? [],
      })),
      nextCursor: rows.length > limit ? encodeKeysetCursor(page[page.length - 1]) : null,
    };
  }
}
