import { Injectable } from '@nestjs/common';

export interface RequestStats {
  /** Keyed by `"<METHOD> <path>"`, e.g. `"GET /api/v1/contacts"`. */
  requests: Record<string, number>;
  total: number;
}

/** One CRM API request as the sandbox saw it. */
export interface RequestLogEntry {
  /** Arrival time (ISO, millisecond precision). */
  at: string;
  method: string;
  path: string;
  /** The query string with secret-bearing parameters (`token`, `code`, `client_secret`…) masked as `:secret`. */
  query: string;
  /** The status answered; null while the request is still being served. */
  status: number | null;
}

/** How many log entries are kept (the oldest go first). */
export const REQUEST_LOG_LIMIT = 20_000;
/** How many seconds of per-second counts are kept (the oldest go first). */
export const PER_SECOND_LIMIT = 4 * 3600;
/**
 * How many (second, path) counters are kept in all: paths carry record ids, so a busy second can
 * hold thousands of them, and 4 h of such seconds would grow without bound; the oldest seconds go
 * first. 100,000 holds a 10,000-integration fleet's wave several times over.
 */
export const PER_SECOND_COUNTER_LIMIT = 100_000;

/** Requests that arrived within one wall-clock second, per `"<METHOD> <path>"`. */
export interface SecondCounts {
  /** Start of the second, ms since epoch. */
  second: number;
  count: number;
}
const SECRET_PARAMS = /^(token|access_token|refresh_token|code|client_secret|code_verifier|password|hapikey)$/i;

/** Counts CRM API requests, and logs them in order, so tests and benchmarks can assert which calls the engine made, and when. */
@Injectable()
export class RequestStatsService {
  private readonly counts = new Map<string, number>();
  private log: RequestLogEntry[] = [];
  /**
   * Counts per second and key, kept apart from the log (which holds the last 20,000 requests
   * only): how a benchmark checks that a fleet of thousands never hit the CRM above a rate.
   */
  private perSecond = new Map<number, Map<string, number>>();
  /** Counters held in `perSecond`, over all its seconds. */
  private perSecondCounters = 0;

  record(method: string, path: string, query = ''): RequestLogEntry {
    const key = `${method.toUpperCase()} ${path}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const second = Math.floor(Date.now() / 1000) * 1000;
    let bucket = this.perSecond.get(second);
    if (!bucket) {
      bucket = new Map();
      this.perSecond.set(second, bucket);
    }
    if (!bucket.has(path)) this.perSecondCounters += 1;
    bucket.set(path, (bucket.get(path) ?? 0) + 1);
    // Map order is insertion order, and seconds only grow: the first entries are the oldest. The
    // current second is never dropped.
    for (const [old, oldBucket] of this.perSecond) {
      if (old === second || (this.perSecond.size <= PER_SECOND_LIMIT && this.perSecondCounters <= PER_SECOND_COUNTER_LIMIT)) break;
      this.perSecondCounters -= oldBucket.size;
      this.perSecond.delete(old);
    }
    const entry: RequestLogEntry = { at: new Date().toISOString(), method: method.toUpperCase(), path, query: maskQuery(query), status: null };
    this.log.push(entry);
    // Trimmed a quarter at a time: a slice per request would copy 20,000 entries each time.
    if (this.log.length > REQUEST_LOG_LIMIT * 1.25) this.log = this.log.slice(-REQUEST_LOG_LIMIT);
    return entry;
  }

  snapshot(): RequestStats {
    const entries = [...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b));
    return {
      requests: Object.fromEntries(entries),
      total: entries.reduce((sum, [, count]) => sum + count, 0),
    };
  }

  /** The log in arrival order, optionally only paths starting with `pathPrefix`. */
  entries(pathPrefix?: string): RequestLogEntry[] {
    return this.log
      .slice(-REQUEST_LOG_LIMIT)
      .filter((e) => !pathPrefix || e.path.startsWith(pathPrefix))
      .map((e) => ({ ...e }));
  }

  /** Requests per second (seconds with none are left out), optionally only paths starting with `pathPrefix`. */
  perSecondCounts(pathPrefix?: string): SecondCounts[] {
    const out: SecondCounts[] = [];
    for (const [second, bucket] of this.perSecond) {
      let count = 0;
      for (const [path, n] of bucket) if (!pathPrefix || path.startsWith(pathPrefix)) count += n;
      if (count) out.push({ second, count });
    }
    return out;
  }

  reset(): void {
    this.counts.clear();
    this.perSecond.clear();
    this.perSecondCounters = 0;
    this.log = [];
  }
}

function maskQuery(query: string): string {
  if (!query) return '';
  const params = new URLSearchParams(query);
  const out = new URLSearchParams();
  for (const [k, v] of params) out.append(k, SECRET_PARAMS.test(k) || /sbx_(?:at|rt)_/.test(v) ? ':secret' : v);
  return out.toString();
}
