import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { IntegrationStatus } from '../../../libs/domain/status';
import { providerLabel } from '../../../libs/metrics/labels';

/** Every status, so a provider's count that drops to zero reads 0 rather than disappearing. */
const STATUSES: readonly IntegrationStatus[] = ['pending', 'active', 'degraded', 'blocked', 'disabled'];

/** The database the gauges read at scrape time; none (no series) until the module has started. */
let database: DataSource | undefined;
const log = new Logger('Metrics');

/** Sums rows per label set: tenants' own providers all count under `custom`. */
function sumBy<R extends { n: number }>(rows: R[], key: (row: R) => string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const row of rows) sums.set(key(row), (sums.get(key(row)) ?? 0) + Number(row.n));
  return sums;
}

/**
 * Gauges of how the business stands, computed from Postgres on every scrape with one GROUP BY
 * each (no tenant or integration in any label): integrations by provider and status, and open
 * alerts by provider. A scrape while the database is away answers without them.
 */
export function registerBusinessGauges(registry: Registry): void {
  new Gauge({
    name: 'reauth_integrations',
    help: 'Integrations by CRM provider and status (pending, active, degraded, blocked, disabled), read from Postgres at scrape time',
    labelNames: ['provider', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!database) return;
      try {
        const rows = (await database.query(`SELECT provider, status, count(*)::int AS n FROM integrations GROUP BY provider, status`)) as Array<{
          provider: string;
          status: string;
          n: number;
        }>;
        const sums = sumBy(rows, (r) => `${providerLabel(r.provider)}\u0000${r.status}`);
        for (const provider of new Set(rows.map((r) => providerLabel(r.provider)))) {
          for (const status of STATUSES) this.set({ provider, status }, 0);
        }
        for (const [key, n] of sums) {
          const [provider, status] = key.split('\u0000');
          this.set({ provider, status }, n);
        }
      } catch (err) {
        log.warn(`reauth_integrations not collected: ${(err as Error).message}`);
      }
    },
  });
  new Gauge({
    name: 'reauth_alerts_open',
    help: 'Open (unresolved) admin alerts by CRM provider, read from Postgres at scrape time',
    labelNames: ['provider'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!database) return;
      try {
        // Every provider with integrations gets a series, 0 when nothing is open.
        const rows = (await database.query(
          `SELECT i.provider, count(a.id)::int AS n
             FROM integrations i LEFT JOIN alerts a ON a.integration_id = i.id AND a.resolved_at IS NULL
            GROUP BY i.provider`,
        )) as Array<{ provider: string; n: number }>;
        for (const [provider, n] of sumBy(rows, (r) => providerLabel(r.provider))) this.set({ provider }, n);
      } catch (err) {
        log.warn(`reauth_alerts_open not collected: ${(err as Error).message}`);
      }
    },
  });
}

/** Hands the API's DataSource to the gauges for the life of the module. */
@Injectable()
export class BusinessGaugesSource implements OnModuleDestroy {
  constructor(@InjectDataSource() ds: DataSource) {
    database = ds;
  }

  onModuleDestroy(): void {
    database = undefined;
  }
}
