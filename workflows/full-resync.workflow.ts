import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertMemo,
} from '@temporalio/workflow';
import { awaitResyncStartedUpdate, entityCompletedSignal, progressQuery } from '../libs/contracts';
import {
  type EntityCompletion,
  type EntityResult,
  type EntityResyncInput,
  entityResyncWorkflowId,
  type FullResyncInput,
  type ResyncError,
  type ResyncProgress,
} from '../libs/domain/resync';
import type { Activities } from '../activities';
import { bookkeeping as db } from './activity-proxies';
import { emitEvent } from './events';
import { tagWorkflow } from './search-attributes';

// The built-in importer: one long activity per entity type. It heartbeats after every page, so a
// dead worker is noticed within the heartbeat timeout and the retry resumes from the last page.
const importer = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 10,
  },
});

/** Turns an activity or child failure into the `{code, message}` a person reads on the re-sync. */
export function toResyncError(err: unknown): ResyncError {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) {
    if (!cause.cause) break;
    cause = cause.cause;
  }
  if (cause instanceof ApplicationFailure && cause.type) return { code: cause.type, message: cause.message };
  if (cause instanceof TimeoutFailure) return { code: 'timeout', message: `timed out (${cause.timeoutType})` };
  return { code: 'resync_failed', message: (cause as Error)?.message || 'the entity re-sync failed' };
}

const count = (n: unknown): number | undefined => (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1 ? n : undefined);

/** The API validates reports, but a signal can also come from elsewhere (Temporal CLI/UI): never trust its shape. */
export function sanitizeCompletion(c: unknown): EntityCompletion {
  const raw = (c && typeof c === 'object' ? c : {}) as Record<string, unknown>;
  const e = raw.error as unknown;
  let error: ResyncError | null = null;
  if (typeof e === 'string' && e.trim()) error = { code: 'delegate_failed', message: e.slice(0, 1000) };
  else if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    error = {
      code: typeof o.code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(o.code) ? o.code : 'delegate_failed',
      message: typeof o.message === 'string' && o.message.trim() ? o.message.slice(0, 1000) : 'The sync service reported a failure.',
    };
  } else if (e) error = { code: 'delegate_failed', message: 'The sync service reported a failure.' };
  return { imported: count(raw.imported), updated: count(raw.updated), error };
}

/**
 * One entity type of a re-sync (id `resync:<resyncId>:<entity>`). Built-in: the importer pages
 * through the CRM. Delegated: `resync:requested` goes out and the workflow waits for the
 * `entityCompleted` signal of an external sync service, up to the delegate timeout.
 * Never fails because its entity failed: the failure is recorded and returned.
 */
export async function entityResync(input: EntityResyncInput): Promise<EntityResult> {
  let completion: EntityCompletion | undefined;
  setHandler(entityCompletedSignal, (c) => {
    // The first report wins; later ones (retries of the same call) change nothing.
    if (input.mode === 'delegated' && completion === undefined) completion = sanitizeCompletion(c);
  });
  tagWorkflow(input);

  let outcome: { status: 'completed' | 'failed'; imported?: number; updated?: number; error?: ResyncError | null };
  try {
    await db.markResyncEntityRunning({ resyncId: input.resyncId, entity: input.entity });
    if (input.mode === 'builtin') {
      setCurrentDetails(`Importing **${input.entity}** from the CRM (progress: \`resync_entities\` row, heartbeat details).`);
      const r = await importer.importEntity({
        resyncId: input.resyncId,
        tenantId: input.tenantId,
        integrationId: input.integrationId,
        entity: input.entity,
      });
      outcome = { status: 'completed', imported: r.imported, updated: r.updated };
    } else {
      setCurrentDetails(`Waiting for an external sync service to import **${input.entity}** (signal \`entityCompleted\`).`);
      try {
        await emitEvent({
          tenantId: input.tenantId,
          type: 'resync:requested',
          payload: { resyncId: input.resyncId, integrationId: input.integrationId, entity: input.entity },
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        // The service can still find the request with GET /v1/resyncs/:id; keep waiting.
        log.warn('resync:requested could not be emitted', { entity: input.entity, error: (err as Error)?.message });
      }
      const got = await condition(() => completion !== undefined, input.delegateTimeoutSeconds * 1000);
      if (!got) {
        outcome = {
          status: 'failed',
          error: { code: 'timeout', message: `No completion was reported for ${input.entity} within ${input.delegateTimeoutSeconds} s.` },
        };
      } else if (completion!.error) {
        outcome = {
          status: 'failed',
          imported: completion!.imported,
          updated: completion!.updated,
          error: { code: completion!.error.code || 'delegate_failed', message: completion!.error.message },
        };
      } else {
        outcome = { status: 'completed', imported: completion!.imported ?? 0, updated: completion!.updated ?? 0 };
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() =>
        db.finishResyncEntity({
          resyncId: input.resyncId,
          entity: input.entity,
          status: 'failed',
          error: { code: 'cancelled', message: 'The re-sync was cancelled.' },
        }),
      );
      throw err;
    }
    outcome = { status: 'failed', error: toResyncError(err) };
  }
  const result = await db.finishResyncEntity({ resyncId: input.resyncId, entity: input.entity, ...outcome });
  setCurrentDetails(`**${input.entity}**: ${result.status}${result.error ? ` (${result.error.code})` : ''}; imported ${result.imported}, updated ${result.updated}.`);
  await condition(allHandlersFinished);
  return result;
}

/**
 * A full entity re-sync of one integration (id `resync:<integrationId>`: one at a time). One child
 * `entityResync` per entity type, all in parallel; a failing child never fails the others. The
 * outcome — completed, partial or failed — is recorded, then announced as `resync:completed`.
 */
export async function fullResync(input: FullResyncInput): Promise<ResyncProgress> {
  const progress: ResyncProgress = {
    resyncId: input.resyncId,
    integrationId: input.integrationId,
    status: 'running',
    entities: input.entities.map((e) => ({ entity: e.entity, mode: e.mode, status: 'pending', imported: 0, updated: 0, pages: 0, error: null })),
  };
  let started = false;
  setHandler(progressQuery, () => progress);
  setHandler(awaitResyncStartedUpdate, async () => {
    await condition(() => started);
    return { resyncId: input.resyncId, status: progress.status };
  });

  const show = (): void => {
    const line = progress.entities.map((e) => `${e.entity}: ${e.status}${e.error ? ` (${e.error.code})` : ''}`).join(' · ');
    setCurrentDetails(`Re-sync \`${input.resyncId}\` — **${progress.status}**\n\n${line}`);
    upsertMemo({ resyncId: input.resyncId, status: progress.status, entities: progress.entities.map((e) => `${e.entity}:${e.mode}:${e.status}`) });
  };

  tagWorkflow(input);
  await db.beginResync({
    resyncId: input.resyncId,
    tenantId: input.tenantId,
    integrationId: input.integrationId,
    trigger: input.trigger,
    reauthorizationId: input.reauthorizationId,
    entities: input.entities,
  });
  started = true;
  show();

  try {
    const settled = await Promise.allSettled(
      input.entities.map(async (plan, i) => {
        progress.entities[i].status = 'running';
        show();
        const result = await executeChild(entityResync, {
          workflowId: entityResyncWorkflowId(input.resyncId, plan.entity),
          args: [
            {
              resyncId: input.resyncId,
              tenantId: input.tenantId,
              integrationId: input.integrationId,
              provider: input.provider,
              entity: plan.entity,
              mode: plan.mode,
              delegateTimeoutSeconds: input.delegateTimeoutSeconds,
            },
          ],
          staticSummary: `${plan.entity} (${plan.mode})`,
        });
        progress.entities[i] = result;
        show();
        return result;
      }),
    );
    // A child that failed as a workflow (not its import, which it records itself): record it here.
    for (const [i, s] of settled.entries()) {
      if (s.status === 'rejected') {
        if (isCancellation(s.reason)) throw s.reason;
        progress.entities[i] = await db.finishResyncEntity({
          resyncId: input.resyncId,
          entity: input.entities[i].entity,
          status: 'failed',
          error: toResyncError(s.reason),
        });
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        for (const e of progress.entities) {
          if (e.status !== 'completed' && e.status !== 'failed') {
            await db.finishResyncEntity({ resyncId: input.resyncId, entity: e.entity, status: 'failed', error: { code: 'cancelled', message: 'The re-sync was cancelled.' } });
          }
        }
        await db.completeResync({ resyncId: input.resyncId });
      });
    }
    throw err;
  }

  const final = await db.completeResync({ resyncId: input.resyncId });
  progress.status = final.status;
  progress.entities = final.entities;
  show();
  log.info('full re-sync finished', { resyncId: input.resyncId, status: final.status });
  try {
    await emitEvent({
      tenantId: input.tenantId,
      type: 'resync:completed',
      payload: { resyncId: input.resyncId, integrationId: input.integrationId, status: final.status, entities: final.entities },
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('resync:completed could not be emitted', { resyncId: input.resyncId, error: (err as Error)?.message });
  }
  await condition(allHandlersFinished);
  return progress;
}
