/**
 * Business metrics counted by the activities, exported by the worker's `/metrics`
 * (apps/worker/metrics-server.ts). Outcomes are counted where the activity records them, and only
 * when this call is the one that recorded them: a retry of an activity whose first attempt already
 * committed finds the recorded state and counts nothing. Counts made right after a commit can be
 * lost if the worker dies in between; they are never made twice.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { Integration, Reauthorization } from '../libs/db/entities';
import type { RefreshResult } from '../libs/domain/refresh';
import { entityLabel, providerLabel } from '../libs/metrics/labels';

/** The worker's registry: these metrics, plus the Node runtime metrics the metrics server adds. */
export const workerRegistry = new Registry();

const MINUTE = 60;
const HOUR = 3600;

const reauthorizationsStarted = new Counter({
  name: 'reauth_reauthorizations_started_total',
  help: 'Reauthorizations started, by CRM provider',
  labelNames: ['provider'] as const,
  registers: [workerRegistry],
});
const reauthorizationsFinished = new Counter({
  name: 'reauth_reauthorizations_finished_total',
  help: 'Reauthorizations finished, by CRM provider and outcome (succeeded, failed, expired, cancelled)',
  labelNames: ['provider', 'outcome'] as const,
  registers: [workerRegistry],
});
const reauthorizationDuration = new Histogram({
  name: 'reauth_reauthorization_duration_seconds',
  help: 'Time from the start of a reauthorization to its outcome, by CRM provider and outcome',
  labelNames: ['provider', 'outcome'] as const,
  // From a person pasting a token right away to a link left until it expires (72 h by default).
  buckets: [5, 15, 30, MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 4 * HOUR, 12 * HOUR, 24 * HOUR, 72 * HOUR, 7 * 24 * HOUR],
  registers: [workerRegistry],
});
const refreshes = new Counter({
  name: 'reauth_credential_refreshes_total',
  help: 'OAuth refresh-token grants by CRM provider and result (refreshed, failed: the CRM refused the grant, superseded; error: an attempt without an answer, counted per attempt)',
  labelNames: ['provider', 'result'] as const,
  registers: [workerRegistry],
});
const checks = new Counter({
  name: 'reauth_credential_checks_total',
  help: 'Who-am-I health checks by CRM provider and result (healthy, failed: the credentials are not fit, superseded; error: an attempt without an answer, counted per attempt)',
  labelNames: ['provider', 'result'] as const,
  registers: [workerRegistry],
});
const webhookDeliveries = new Counter({
  name: 'reauth_webhook_deliveries_total',
  help: 'Webhook deliveries by final result (delivered, failed)',
  labelNames: ['result'] as const,
  registers: [workerRegistry],
});
const webhookAttempts = new Counter({
  name: 'reauth_webhook_delivery_attempts_total',
  help: 'Webhook delivery attempts by result (delivered, failed: the receiver answered non-2xx or could not be reached)',
  labelNames: ['result'] as const,
  registers: [workerRegistry],
});
const webhookLateness = new Histogram({
  name: 'reauth_webhook_delivery_lateness_seconds',
  help: 'Time from a webhook event being recorded to its delivery (delivered_at - event created_at)',
  buckets: [0.1, 0.5, 1, 5, 15, MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 4 * HOUR, 24 * HOUR],
  registers: [workerRegistry],
});
const resyncRecords = new Counter({
  name: 'reauth_resync_records_total',
  help: 'Records the built-in re-sync importer stored, by entity type and result (imported: new, updated: changed, unchanged)',
  labelNames: ['entity', 'result'] as const,
  registers: [workerRegistry],
});

/** A metric must never fail the activity that counts it (a retry would redo the work). */
function safely(count: () => void): void {
  try {
    count();
  } catch {
    // A label or registry problem loses one sample, nothing else.
  }
}

export function countReauthorizationStarted(provider: string): void {
  safely(() => reauthorizationsStarted.inc({ provider: providerLabel(provider) }));
}

/**
 * A reauthorization was just closed by this activity call (its outcome committed): count its
 * outcome and time to reauthorize, read back from the row so every outcome is measured alike.
 * Never throws.
 */
export async function countReauthorizationFinished(ds: DataSource, reauthorizationId: string): Promise<void> {
  try {
    const row = await ds.getRepository(Reauthorization).findOne({ where: { id: reauthorizationId } });
    if (!row?.outcome) return;
    const integration = await ds.getRepository(Integration).findOne({ where: { id: row.integrationId }, select: { id: true, provider: true } });
    const labels = { provider: providerLabel(integration?.provider), outcome: row.outcome };
    reauthorizationsFinished.inc(labels);
    const finishedAt = row.completedAt ?? new Date();
    reauthorizationDuration.observe(labels, Math.max(0, (finishedAt.getTime() - row.createdAt.getTime()) / 1000));
  } catch {
    // The outcome is recorded; only its sample is lost.
  }
}

const RESULT_OF_OUTCOME: Record<RefreshResult['outcome'], string> = {
  refreshed: 'refreshed',
  superseded: 'superseded',
  failed: 'failed',
  healthy: 'healthy',
};

/** Counts what a refresh-token grant came to and hands the result back (`return countRefresh(...)`). */
export function countRefresh<R extends RefreshResult>(provider: string, result: R): R {
  safely(() => refreshes.inc({ provider: providerLabel(provider), result: RESULT_OF_OUTCOME[result.outcome] }));
  return result;
}

/** Counts what a health check came to and hands the result back. */
export function countCheck<R extends RefreshResult>(provider: string, result: R): R {
  safely(() => checks.inc({ provider: providerLabel(provider), result: RESULT_OF_OUTCOME[result.outcome] }));
  return result;
}

/** A refresh or check attempt ended without a verdict (the CRM did not answer usably); Temporal retries it if it can. */
export function countAttemptError(kind: 'refresh' | 'check', provider: string): void {
  safely(() => (kind === 'refresh' ? refreshes : checks).inc({ provider: providerLabel(provider), result: 'error' }));
}

/** One delivery attempt; a delivered one also closes the delivery, with its lateness. */
export function countWebhookAttempt(delivered: boolean, eventCreatedAt: Date, deliveredAt: Date | null | undefined): void {
  safely(() => {
    webhookAttempts.inc({ result: delivered ? 'delivered' : 'failed' });
    if (!delivered) return;
    webhookDeliveries.inc({ result: 'delivered' });
    const at = deliveredAt ? new Date(deliveredAt) : new Date();
    webhookLateness.observe(Math.max(0, (at.getTime() - eventCreatedAt.getTime()) / 1000));
  });
}

/** A pending delivery was just marked failed for good (retry window over, endpoint deleted, cancelled). */
export function countWebhookFailed(): void {
  safely(() => webhookDeliveries.inc({ result: 'failed' }));
}

/** One committed page of the built-in importer. */
export function countResyncPage(entity: string, counts: { imported: number; updated: number; unchanged: number }): void {
  safely(() => {
    const label = entityLabel(entity);
    for (const result of ['imported', 'updated', 'unchanged'] as const) {
      if (counts[result] > 0) resyncRecords.inc({ entity: label, result }, counts[result]);
    }
  });
}
