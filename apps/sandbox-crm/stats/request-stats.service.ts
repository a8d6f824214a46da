import { Injectable } from '@nestjs/common';

export interface RequestStats {
  /** Keyed by `"<METHOD> <path>"`, e.g. `"GET /api/v1/contacts"`. */
  requests: Record<string, number>;
  total: number;
}

/** Counts CRM API requests so tests and benchmarks can assert how many calls the engine made. */
@Injectable()
export class RequestStatsService {
  private readonly counts = new Map<string, number>();

  record(method: string, path: string): void {
    const key = `${method.toUpperCase()} ${path}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): RequestStats {
    const entries = [...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b));
    return {
      requests: Object.fromEntries(entries),
      total: entries.reduce((sum, [, count]) => sum + count, 0),
    };
  }

  reset(): void {
    this.counts.clear();
  }
}
