import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { openCredentialSecret } from '../libs/db/credential-store';
import { AuditEvent, CredentialVersion, Integration, Resync, ResyncEntity } from '../libs/db/entities';
import {
  type EntityPlan,
  type EntityResult,
  type ImportCheckpoint,
  overallStatus,
  type ResyncError,
  type ResyncStatus,
  type ResyncTrigger,
} from '../libs/domain/resync';
import { CrmError } from '../libs/providers/errors';
import { DEFAULT_PAGE_SIZE, type RecordPage, type RecordsClient, type RecordsCredentials, recordsClientFor } from '../libs/providers/records-client';
import { signalTokenRefresh } from '../libs/temporal/token-refresh-signal';
import { ResyncRequestError } from '../libs/resync/resync-starter';
import type { ActivityDeps } from './deps';
import { countResyncPage } from './metrics';
import { insertAudit } from './reauthorization.activities';

/** Attempts per page inside one activity attempt for 429/5xx/network faults, before Temporal's retry takes over. */
const PAGE_ATTEMPTS = 5;
/** Longest single wait on a CRM's Retry-After inside the activity (we heartbeat while waiting). */
const MAX_PAGE_WAIT_MS = 5 * 60_000;
const MAX_MESSAGE = 1000;
/** Well inside the workflow's 10 s heartbeat timeout. */
const HEARTBEAT_EVERY_MS = 2000;
/** How long an import waits for the refresh it asked for (the CRM refused an access token) before giving up. */
const REFRESH_WAIT_MS = 60_000;

const UPSERT_PAGE_SQL = `
  INSERT INTO crm_records (tenant_id, integration_id, entity, external_id, data, external_updated_at)
  SELECT $1::uuid, $2::uuid, $3::text, x.external_id, x.data::jsonb, x.updated_at
    FROM unnest($4::text[], $5::text[], $6::timestamptz[]) AS x(external_id, data, updated_at)
  ON CONFLICT (integration_id, entity, external_id) DO UPDATE
     SET data = EXCLUDED.data, external_updated_at = EXCLUDED.external_updated_at, updated_at = now()
   WHERE crm_records.data IS DISTINCT FROM EXCLUDED.data
  RETURNING (xmax = 0) AS inserted`;

export function entityView(row: ResyncEntity): EntityResult {
  return {
    entity: row.entity,
    mode: row.mode,
    status: row.status,
    imported: row.imported,
    updated: row.updated,
    pages: row.pages,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
  };
}

function isCheckpoint(v: unknown): v is ImportCheckpoint {
  const c = v as ImportCheckpoint | null;
  return !!c && typeof c === 'object' && typeof c.pages === 'number' && (c.cursor === null || typeof c.cursor === 'string');
}

/** The `fullResync` / `entityResync` activities: bookkeeping rows and the built-in importer. */
export function createResyncActivities({
  dataSource: ds,
  credentialsKeyRing: ring,
  config: cfg,
  providers,
  resyncStarter,
  egress,
  temporal,
}: Pick<ActivityDeps, 'dataSource' | 'credentialsKeyRing' | 'config' | 'providers' | 'resyncStarter' | 'egress' | 'temporal'>) {
  /** Upserts one page and advances the checkpoint, in one transaction. */
  async function storePage(
    args: { resyncId: string; tenantId: string; integrationId: string; entity: string },
    page: RecordPage,
    cp: ImportCheckpoint,
  ): Promise<ImportCheckpoint> {
    // A page repeating an id would make ON CONFLICT touch one row twice: keep the last version.
    const records = [...new Map(page.records.map((r) => [r.externalId, r])).values()];
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      let imported = 0;
      let updated = 0;
      if (records.length) {
        const res = await runner.query(
          UPSERT_PAGE_SQL,
          [
            args.tenantId,
            args.integrationId,
            args.entity,
            records.map((r) => r.externalId),
            records.map((r) => JSON.stringify(r.data)),
            records.map((r) => r.updatedAt),
          ],
          true,
        );
        for (const r of res.records as Array<{ inserted: boolean }>) {
          if (r.inserted) imported++;
          else updated++;
        }
      }
      const next: ImportCheckpoint = {
        cursor: page.nextCursor,
        pages: cp.pages + 1,
        imported: cp.imported + imported,
        updated: cp.updated + updated,
        done: page.nextCursor === null,
      };
      // Compare-and-set on the page count: a zombie attempt of this activity cannot move the checkpoint.
      const moved = await runner.query(
        `UPDATE resync_entities SET pages = $3, imported = $4, updated = $5, cursor = $6
          WHERE resync_id = $1 AND entity = $2 AND pages = $7 AND status = 'running'`,
        [args.resyncId, args.entity, next.pages, next.imported, next.updated, next.cursor, cp.pages],
        true,
      );
      if (!moved.affected) {
        throw ApplicationFailure.create({ type: 'checkpoint_conflict', message: `the ${args.entity} checkpoint moved under us; resuming from it` });
      }
      await runner.commitTransaction();
      // Per committed page: a retry resumes after the checkpoint, so no record is counted twice.
      countResyncPage(args.entity, { imported, updated, unchanged: records.length - imported - updated });
      return next;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
  }

  /** Keeps heartbeating while a slow CRM request or transaction runs, so it is not mistaken for a dead worker. */
  async function heartbeating<T>(cp: ImportCheckpoint, fn: () => Promise<T>): Promise<T> {
    const ctx = Context.current();
    const timer = setInterval(() => ctx.heartbeat(cp), HEARTBEAT_EVERY_MS);
    try {
      return await fn();
    } finally {
      clearInterval(timer);
    }
  }

  /** Sleeps (cancellably) while heartbeating, so a long Retry-After does not look like a dead worker. */
  async function pause(ms: number, cp: ImportCheckpoint): Promise<void> {
    const ctx = Context.current();
    const end = Date.now() + ms;
    while (Date.now() < end) {
      ctx.heartbeat(cp);
      await ctx.sleep(Math.min(HEARTBEAT_EVERY_MS, Math.max(1, end - Date.now())));
    }
  }

  function importFailure(err: CrmError, entity: string): ApplicationFailure {
    switch (err.kind) {
      case 'invalid_credentials':
      case 'user_removed':
      case 'invalid_grant':
        return ApplicationFailure.create({
          type: 'invalid_credentials',
          message: `The CRM rejected the integration's credentials while importing ${entity} (HTTP ${err.status ?? '?'}). Re-authorize the integration, then retry the re-sync.`,
          nonRetryable: true,
        });
      case 'url_not_allowed':
        return ApplicationFailure.create({ type: 'url_not_allowed', message: `Importing ${entity}: ${err.message}.`, nonRetryable: true });
      case 'transient':
        return ApplicationFailure.create({
          type: 'crm_unavailable',
          message: `The CRM kept failing while importing ${entity} (${err.message}).`,
          nonRetryable: false,
          nextRetryDelay: err.retryAfterSeconds !== undefined ? `${err.retryAfterSeconds} seconds` : undefined,
        });
      default:
        return ApplicationFailure.create({ type: 'crm_error', message: `The CRM gave an unusable answer while importing ${entity}: ${err.message}`, nonRetryable: true });
    }
  }

  /**
   * The integration's active credential version: its bearer (`apiToken ?? accessToken`, decrypted
   * here, never returned from the activity), the API host its token response named, its region.
   */
  async function activeCredentials(integration: Integration): Promise<RecordsCredentials & { version: number }> {
    const fresh = await ds.getRepository(Integration).findOne({ where: { id: integration.id } });
    const version = fresh?.credentialVersion ?? null;
    const cred = version === null ? null : await ds.getRepository(CredentialVersion).findOne({ where: { integrationId: integration.id, version, state: 'active' } });
    const secret = cred ? openCredentialSecret(ring, cred) : null;
    const bearer = secret?.apiToken ?? secret?.accessToken;
    if (!cred || version === null || !bearer) {
      throw ApplicationFailure.create({ type: 'invalid_credentials', message: 'The integration has no active credentials to import with.', nonRetryable: true });
    }
    const meta = cred.metadata as { apiBaseUrl?: unknown; instanceUrl?: unknown };
    const apiBaseUrl = cred.baseUrl ?? (typeof meta.instanceUrl === 'string' ? meta.instanceUrl : typeof meta.apiBaseUrl === 'string' ? meta.apiBaseUrl : null);
    return { bearer, apiBaseUrl, region: cred.region, version };
  }

  async function recordsClient(integration: Integration, credentials: RecordsCredentials, entity: string): Promise<RecordsClient> {
    const provider = await providers.resolve(integration.tenantId, integration.provider);
    let client: RecordsClient | null;
    try {
      client = provider ? recordsClientFor(provider, { sandboxCrmUrl: cfg.sandboxCrmUrl, crmMode: cfg.crmMode }, credentials, egress.forProvider(provider)) : null;
    } catch (err) {
      if (err instanceof CrmError) throw importFailure(err, entity);
      throw err;
    }
    if (!client) {
      throw ApplicationFailure.create({
        type: 'importer_unavailable',
        message: `No built-in importer for provider "${integration.provider}"; its re-syncs are delegated.`,
        nonRetryable: true,
      });
    }
    return client;
  }

  /**
   * The CRM refused an OAuth access token the integration still holds (e.g. Salesforce's
   * INVALID_SESSION_ID: revoked or timed out before its expiry): ask the integration's
   * `tokenRefresh` workflow — the one place that refreshes, so a rotating refresh token is never
   * used twice — to refresh now, and wait for a newer active version. Null when none comes.
   */
  async function refreshedCredentials(integration: Integration, from: number, cp: ImportCheckpoint): Promise<(RecordsCredentials & { version: number }) | null> {
    const ctx = Context.current();
    ctx.log.info('the CRM refused the access token; asking for a refresh', { version: from });
    await signalTokenRefresh(temporal, cfg.taskQueue, { tenantId: integration.tenantId, integrationId: integration.id }, 'refreshNow');
    const deadline = Date.now() + REFRESH_WAIT_MS;
    while (Date.now() < deadline) {
      await pause(1000, cp);
      const current = await activeCredentials(integration).catch(() => null);
      if (current && current.version > from) return current;
    }
    return null;
  }

  return {
    /** After a re-authorization (opt-in): start the full re-sync, or join the running one. */
    async startResync(args: {
      resyncId: string;
      tenantId: string;
      integrationId: string;
      trigger: ResyncTrigger;
      reauthorizationId: string | null;
    }): Promise<string> {
      try {
        const { resyncId } = await resyncStarter.start(args);
        return resyncId;
      } catch (err) {
        if (err instanceof ResyncRequestError) {
          throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: err.status !== 503 });
        }
        throw err;
      }
    },

    async beginResync(args: {
      resyncId: string;
      tenantId: string;
      integrationId: string;
      trigger: ResyncTrigger;
      reauthorizationId: string | null;
      entities: EntityPlan[];
    }): Promise<void> {
      const execution = Context.current().info.workflowExecution;
      await ds.transaction(async (tx) => {
        const integration = await tx.findOne(Integration, { where: { id: args.integrationId, tenantId: args.tenantId } });
        if (!integration) {
          throw ApplicationFailure.create({ type: 'integration_not_found', message: 'integration no longer exists', nonRetryable: true });
        }
        // Only one `resync:<integrationId>` workflow runs at a time, and it is this one: any other
        // row still "running" belongs to a workflow that was terminated. Close it honestly.
        const stale = (await tx.query(
          `UPDATE resyncs SET status = 'failed', completed_at = now() WHERE integration_id = $1 AND status = 'running' AND id <> $2 RETURNING id`,
          [args.integrationId, args.resyncId],
        )) as [Array<{ id: string }>, number];
        const staleIds = stale[0].map((r) => r.id);
        if (staleIds.length) {
          await tx.query(
            `UPDATE resync_entities SET status = 'failed', error_code = 'abandoned', error_message = 'The re-sync workflow stopped before this entity finished.', completed_at = now()
              WHERE resync_id = ANY($1::uuid[]) AND status IN ('pending', 'running')`,
            [staleIds],
          );
        }
        await tx
          .createQueryBuilder()
          .insert()
          .into(Resync)
          .values({
            id: args.resyncId,
            tenantId: args.tenantId,
            integrationId: args.integrationId,
            status: 'running',
            trigger: args.trigger,
            reauthorizationId: args.reauthorizationId,
            entities: args.entities.map((e) => e.entity),
            workflowId: execution?.workflowId ?? `resync:${args.integrationId}`,
            runId: execution?.runId ?? null,
          })
          .orIgnore()
          .execute();
        await tx
          .createQueryBuilder()
          .insert()
          .into(ResyncEntity)
          .values(args.entities.map((e) => ({ resyncId: args.resyncId, entity: e.entity, mode: e.mode, status: 'pending' as const })))
          .orIgnore()
          .execute();
        await insertAudit(tx.getRepository(AuditEvent), {
          tenantId: args.tenantId,
          integrationId: args.integrationId,
          type: 'resync.started',
          data: { resyncId: args.resyncId, trigger: args.trigger, reauthorizationId: args.reauthorizationId, entities: args.entities },
          dedupeKey: `resync:${args.resyncId}:started`,
        });
      });
    },

    async markResyncEntityRunning(args: { resyncId: string; entity: string }): Promise<void> {
      await ds.query(
        `UPDATE resync_entities SET status = 'running', started_at = COALESCE(started_at, now()) WHERE resync_id = $1 AND entity = $2 AND status = 'pending'`,
        [args.resyncId, args.entity],
      );
    },

    async finishResyncEntity(args: {
      resyncId: string;
      entity: string;
      status: 'completed' | 'failed';
      imported?: number;
      updated?: number;
      error?: ResyncError | null;
    }): Promise<EntityResult> {
      const error = args.status === 'failed' ? (args.error ?? { code: 'resync_failed', message: 'the entity re-sync failed' }) : null;
      // Final is final: a retry, or a late report, changes nothing.
      await ds.query(
        `UPDATE resync_entities
            SET status = $3, imported = COALESCE($4, imported), updated = COALESCE($5, updated),
                error_code = $6, error_message = $7, started_at = COALESCE(started_at, now()), completed_at = now()
          WHERE resync_id = $1 AND entity = $2 AND status NOT IN ('completed', 'failed')`,
        [
          args.resyncId,
          args.entity,
          args.status,
          args.imported ?? null,
          args.updated ?? null,
          error ? error.code.slice(0, 100) : null,
          error ? error.message.slice(0, MAX_MESSAGE) : null,
        ],
      );
      const row = await ds.getRepository(ResyncEntity).findOne({ where: { resyncId: args.resyncId, entity: args.entity } });
      if (!row) throw ApplicationFailure.create({ type: 'resync_not_found', message: `no ${args.entity} row for re-sync ${args.resyncId}`, nonRetryable: true });
      return entityView(row);
    },

    async completeResync(args: { resyncId: string }): Promise<{ status: ResyncStatus; entities: EntityResult[] }> {
      return ds.transaction(async (tx) => {
        const resync = await tx.findOne(Resync, { where: { id: args.resyncId }, lock: { mode: 'pessimistic_write' } });
        if (!resync) throw ApplicationFailure.create({ type: 'resync_not_found', message: `re-sync ${args.resyncId} not found`, nonRetryable: true });
        const rows = await tx.find(ResyncEntity, { where: { resyncId: resync.id } });
        rows.sort((a, b) => resync.entities.indexOf(a.entity) - resync.entities.indexOf(b.entity));
        if (resync.status === 'running') {
          resync.status = overallStatus(rows);
          resync.completedAt = new Date();
          await tx.save(resync);
          await insertAudit(tx.getRepository(AuditEvent), {
            tenantId: resync.tenantId,
            integrationId: resync.integrationId,
            type: `resync.${resync.status}`,
            data: { resyncId: resync.id, entities: rows.map(entityView) },
            dedupeKey: `resync:${resync.id}:finished`,
          });
        }
        return { status: resync.status, entities: rows.map(entityView) };
      });
    },

    /**
     * The built-in importer of one entity type. Pages through the CRM; each page is upserted by
     * external id in one transaction together with the entity's checkpoint (next cursor, pages and
     * counts), then heartbeated. A retry (worker crash, timeout) resumes from the furthest of the
     * heartbeat details and the committed checkpoint, so at most the page in flight is fetched again,
     * and counts are never doubled: a re-applied page changes no row (`IS DISTINCT FROM`).
     */
    async importEntity(args: { resyncId: string; tenantId: string; integrationId: string; entity: string }): Promise<{
      imported: number;
      updated: number;
      pages: number;
    }> {
      const ctx = Context.current();
      const integration = await ds.getRepository(Integration).findOne({ where: { id: args.integrationId, tenantId: args.tenantId } });
      if (!integration) throw ApplicationFailure.create({ type: 'integration_not_found', message: 'integration no longer exists', nonRetryable: true });
      const row = await ds.getRepository(ResyncEntity).findOne({ where: { resyncId: args.resyncId, entity: args.entity } });
      if (!row) throw ApplicationFailure.create({ type: 'resync_not_found', message: `no ${args.entity} row for re-sync ${args.resyncId}`, nonRetryable: true });

      const committed: ImportCheckpoint = {
        cursor: row.cursor,
        pages: row.pages,
        imported: row.imported,
        updated: row.updated,
        done: row.pages > 0 && row.cursor === null,
      };
      const beat = ctx.info.heartbeatDetails as unknown;
      let cp = isCheckpoint(beat) && beat.pages > committed.pages ? beat : committed;
      if (ctx.info.attempt > 1 || cp.pages > 0) {
        ctx.log.info('resuming import', { entity: args.entity, attempt: ctx.info.attempt, pages: cp.pages, fromHeartbeat: cp !== committed });
      }
      if (cp.done) return { imported: cp.imported, updated: cp.updated, pages: cp.pages };

      const provider = await providers.resolve(integration.tenantId, integration.provider);
      let creds = await activeCredentials(integration);
      let client = await recordsClient(integration, creds, args.entity);
      /** Refresh once per attempt: a token refused right after a refresh means re-authorize. */
      let refreshed = false;
      ctx.heartbeat(cp);
      for (;;) {
        let page: RecordPage | undefined;
        const fetchStarted = Date.now();
        for (let attempt = 1; !page; attempt++) {
          try {
            const from = cp;
            page = await heartbeating(from, () => client.fetchPage(args.entity, from.cursor, { pageSize: DEFAULT_PAGE_SIZE, signal: ctx.cancellationSignal }));
          } catch (err) {
            if (!(err instanceof CrmError)) throw err;
            if (err.kind === 'transient' && attempt < PAGE_ATTEMPTS) {
              const waitMs = err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 500 * 2 ** (attempt - 1);
              ctx.log.info('CRM asked us to slow down; retrying the page', { entity: args.entity, status: err.status, waitMs, attempt });
              await pause(Math.min(waitMs, MAX_PAGE_WAIT_MS), cp);
              continue;
            }
            if ((err.kind === 'invalid_credentials' || err.kind === 'user_removed') && attempt < PAGE_ATTEMPTS) {
              // The credentials may have just been refreshed or re-authorized: try the current ones once.
              const current = await activeCredentials(integration);
              if (current.version !== creds.version) {
                creds = current;
                client = await recordsClient(integration, creds, args.entity);
                continue;
              }
              // An OAuth access token refused before its time: refresh once, then retry.
              if (err.kind === 'invalid_credentials' && provider?.authType === 'oauth2' && !refreshed) {
                refreshed = true;
                const next = await refreshedCredentials(integration, creds.version, cp);
                if (next) {
                  creds = next;
                  client = await recordsClient(integration, creds, args.entity);
                  continue;
                }
              }
            }
            throw importFailure(err, args.entity);
          }
        }
        if (page.nextCursor !== null && page.nextCursor === cp.cursor) {
          throw ApplicationFailure.create({ type: 'crm_error', message: `The CRM returned the same ${args.entity} cursor twice.`, nonRetryable: true });
        }
        const storeStarted = Date.now();
        const fetched = page;
        const before = cp;
        cp = await heartbeating(before, () => storePage(args, fetched, before));
        ctx.heartbeat(cp);
        ctx.log.debug('page imported', {
          entity: args.entity,
          page: cp.pages,
          records: page.records.length,
          fetchMs: storeStarted - fetchStarted,
          storeMs: Date.now() - storeStarted,
        });
        if (cp.done) return { imported: cp.imported, updated: cp.updated, pages: cp.pages };
      }
    },
  };
}
