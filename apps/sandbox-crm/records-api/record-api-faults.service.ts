import { Injectable } from '@nestjs/common';

export const RECORD_API_SHAPES = ['hubspot', 'salesforce', 'pipedrive', 'zoho'] as const;
export type RecordApiShape = (typeof RECORD_API_SHAPES)[number];

/**
 * What a shape's record API answers instead of records, in that CRM's own wire format:
 * `rate_limit` (its 429 — Salesforce: 403 REQUEST_LIMIT_EXCEEDED — with its rate-limit headers
 * saying when to come back), `unauthorized` (its refused-token answer, e.g. INVALID_SESSION_ID),
 * `server_error` (a 500 in its shape).
 */
export type RecordApiFaultKind = 'rate_limit' | 'unauthorized' | 'server_error';

export interface RecordApiFault {
  shape: RecordApiShape;
  kind: RecordApiFaultKind;
  /** Only requests for this entity type (the engine's name: contacts, companies, deals, users); all when absent. */
  entity: string | null;
  /** Matching requests to answer so before the fault disarms; `afterRequests` lets that many through first. */
  remaining: number;
  afterRequests: number;
  /** The wait the rate-limit headers announce. */
  retryAfterSeconds: number;
}

/** Armed record-API faults, per shape, consumed in the order they were armed. */
@Injectable()
export class RecordApiFaultsService {
  private faults: RecordApiFault[] = [];

  add(fault: RecordApiFault): RecordApiFault {
    this.faults.push({ ...fault });
    return { ...fault };
  }

  claim(shape: RecordApiShape, entity: string): RecordApiFault | null {
    const fault = this.faults.find((f) => f.shape === shape && (f.entity === null || f.entity === entity));
    if (!fault) return null;
    if (fault.afterRequests > 0) {
      fault.afterRequests -= 1;
      return null;
    }
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return { ...fault };
  }

  list(): RecordApiFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): number {
    const n = this.faults.length;
    this.faults = [];
    return n;
  }
}
