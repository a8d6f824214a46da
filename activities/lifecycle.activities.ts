import { type Client, WorkflowNotFoundError, type WorkflowHandle, WorkflowUpdateStage } from '@temporalio/client';
import type { EntityManager } from 'typeorm';
import { IsNull } from 'typeorm';
import { cancelUpdate, credentialsUpdatedSignal, type LifecycleStep, tokenRefreshWorkflowId } from '../libs/contracts';
import { Alert, AuditEvent, CredentialVersion, Integration } from '../libs/db/entities';
import type { AuditOutcome } from '../libs/domain/audit';
import { CONNECT_WORKFLOW_PREFIX, reauthWorkflowId } from '../libs/domain/reauthorization';
import { resyncWorkflowId } from '../libs/domain/resync';
import type { ActivityDeps } from './deps';

const LOG_CONTEXT = 'LifecycleActivities';

/**
 * How ending one of the integration's workflows went: it was not running, it ended when asked, it
 * was terminated after the grace period, or (when termination was not allowed) it is still running
 * and ends on its own once its current step is done.
 */
export type WorkflowEnding = 'not_running' | 'ended' | 'terminated' | 'still_running';

/** How long a workflow gets to end by itself once asked, before it is terminated (when allowed). */
const GRACE_MS = 15_000;
const POLL_MS = 200;

/** Workflows a deletion leaves alone: deliveries of events already recorded (they need no integration row). */
const SURVIVES_DELETION: ReadonlySet<string> = new Set(['webhookDelivery']);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Disabling, enabling and deleting an integration (the `integrationLifecycle` workflow's
 * activities): the status change and its audit row in one transaction, ending the integration's
 * other workflows, and destroying its secrets. Each database step is idempotent per request: a
 * retry after a commit finds its audit row and answers what the first attempt did.
 */
export function createLifecycleActivities({ dataSource: ds, temporal, logger }: Pick<ActivityDeps, 'dataSource' | 'temporal' | 'logger'>) {
  return {
    /** Turns the integration off (status `disabled`) and resolves its open alert: nobody needs to act on it now. */
    async disableIntegration(step: LifecycleStep): Promise<{ found: boolean; changed: boolean; previousStatus: string | null }> {
      return ds.transaction(async (tx) => {
        const done = await recordedStep(tx, step);
        if (done) return { found: true, changed: done.outcome === 'succeeded', previousStatus: String(done.data.previousStatus ?? '') || null };
        const integration = await lockIntegration(tx, step);
        if (!integration) return { found: false, changed: false, previousStatus: null };
        const changed = integration.status !== 'disabled';
        if (changed) {
          await tx.update(Integration, { id: integration.id }, { status: 'disabled', statusReason: null });
          await tx.update(Alert, { integrationId: integration.id, resolvedAt: IsNull() }, { resolvedAt: new Date() });
        }
        await insertLifecycleAudit(tx, step, 'integration.disabled', changed ? 'succeeded' : 'unchanged', { previousStatus: integration.status });
        return { found: true, changed, previousStatus: integration.status };
      });
    },

    /**
     * Turns a disabled integration back on: `active` while its credentials are checked (the
     * workflow runs the check next and sets `degraded` / `blocked` if they warrant it), `pending`
     * if it never had any.
     */
    async enableIntegration(step: LifecycleStep): Promise<{ found: boolean; changed: boolean; credentialVersion: number | null }> {
      return ds.transaction(async (tx) => {
        const done = await recordedStep(tx, step);
        if (done) {
          const version = done.data.credentialVersion;
          return { found: true, changed: done.outcome === 'succeeded', credentialVersion: typeof version === 'number' ? version : null };
        }
        const integration = await lockIntegration(tx, step);
        if (!integration) return { found: false, changed: false, credentialVersion: null };
        const changed = integration.status === 'disabled';
        if (changed) {
          const status = integration.credentialVersion === null ? 'pending' : 'active';
          await tx.update(Integration, { id: integration.id }, { status, statusReason: null });
        }
        await insertLifecycleAudit(tx, step, 'integration.enabled', changed ? 'succeeded' : 'unchanged', {
          previousStatus: integration.status,
          credentialVersion: integration.credentialVersion,
        });
        return { found: true, changed, credentialVersion: integration.credentialVersion };
      });
    },

    /** First step of a deletion: nothing new may start (disabled refuses reauthorizations, re-syncs, refreshes). */
    async beginIntegrationDeletion(step: LifecycleStep): Promise<{ found: boolean }> {
      return ds.transaction(async (tx) => {
        const integration = await lockIntegration(tx, step);
        if (!integration) return { found: false };
        if (integration.status !== 'disabled') await tx.update(Integration, { id: integration.id }, { status: 'disabled', statusReason: null });
        return { found: true };
      });
    },

    /**
     * Destroys the integration: every credential version's ciphertext is overwritten, then the
     * integration row is deleted, and with it (foreign keys, ON DELETE CASCADE) its credential
     * versions, reauthorizations (link tokens, OAuth attempts), re-syncs, imported records and
     * alerts. Audit events and webhook events have no such key: the trail stays. A write racing
     * this one (a refresh that was already at the CRM) either commits first and is deleted with
     * the rest, or finds no integration row and fails.
     */
    async destroyIntegration(step: LifecycleStep): Promise<{ found: boolean; credentialVersions: number }> {
      return ds.transaction(async (tx) => {
        const done = await recordedStep(tx, step);
        if (done) return { found: true, credentialVersions: Number(done.data.credentialVersions ?? 0) };
        const integration = await lockIntegration(tx, step);
        if (!integration) return { found: false, credentialVersions: 0 };
        const destroyed = await tx
          .createQueryBuilder()
          .update(CredentialVersion)
          .set({ ciphertext: '', keyId: 'destroyed', state: 'revoked' })
          .where('integration_id = :id', { id: integration.id })
          .execute();
        const credentialVersions = destroyed.affected ?? 0;
        await tx.delete(Integration, { id: integration.id, tenantId: step.tenantId });
        await insertLifecycleAudit(tx, step, 'integration.deleted', 'succeeded', {
          provider: integration.provider,
          displayName: integration.displayName,
          previousStatus: integration.status,
          credentialVersions,
        });
        logger.log(`integration ${integration.id} deleted (${credentialVersions} credential versions destroyed)`, LOG_CONTEXT);
        return { found: true, credentialVersions };
      });
    },

    /**
     * Cancels the open reauthorization (update `cancel`: recorded as `cancelled`, its link stops
     * working). An attempt under way finishes first. With `terminate`, a run that has not closed
     * after the grace period is terminated.
     */
    async endReauthorizationWorkflow(args: { integrationId: string; reason: string; terminate: boolean }): Promise<WorkflowEnding> {
      return endWorkflow(temporal, reauthWorkflowId(args.integrationId), args, async (handle) => {
        // Accepted is enough: the cancel runs once an attempt under way lets go, and closing is
        // awaited below. A reauthorization that is already closing refuses it: it ends anyway.
        await handle.startUpdate(cancelUpdate, { args: [{ reason: args.reason }], waitForStage: WorkflowUpdateStage.ACCEPTED }).catch(() => undefined);
      });
    },

    /**
     * Ends the token refresh: `credentialsUpdated` makes it plan again, and a plan that says
     * disabled (or no integration) returns `stopped`. A refresh already at the CRM completes first
     * (its rotated token is kept); with `terminate`, a run still open after the grace period is terminated.
     */
    async endTokenRefreshWorkflow(args: { integrationId: string; reason: string; terminate: boolean }): Promise<WorkflowEnding> {
      return endWorkflow(temporal, tokenRefreshWorkflowId(args.integrationId), args, (handle) => handle.signal(credentialsUpdatedSignal));
    },

    /** Cancels a running full re-sync (its entities are recorded `cancelled`); with `terminate`, terminates it after the grace period. */
    async endResyncWorkflow(args: { integrationId: string; reason: string; terminate: boolean }): Promise<WorkflowEnding> {
      return endWorkflow(temporal, resyncWorkflowId(args.integrationId), args, (handle) => handle.cancel());
    },

    /**
     * Terminates whatever else still runs for the integration, found by its `IntegrationId`
     * search attribute (and `connect:<id>`, which has none), except this workflow and webhook deliveries.
     */
    async terminateIntegrationWorkflows(args: { integrationId: string; exceptWorkflowId: string; reason: string }): Promise<{ terminated: string[] }> {
      if (!UUID_RE.test(args.integrationId)) return { terminated: [] };
      const running = new Map<string, string>();
      for await (const w of temporal.workflow.list({ query: `IntegrationId = "${args.integrationId}" AND ExecutionStatus = "Running"` })) {
        if (w.workflowId !== args.exceptWorkflowId && !SURVIVES_DELETION.has(w.type)) running.set(w.workflowId, w.runId);
      }
      const connectId = `${CONNECT_WORKFLOW_PREFIX}${args.integrationId}`;
      if (await isRunning(temporal.workflow.getHandle(connectId))) running.set(connectId, '');
      const terminated: string[] = [];
      for (const [workflowId, runId] of running) {
        try {
          await temporal.workflow.getHandle(workflowId, runId || undefined).terminate(args.reason);
          terminated.push(workflowId);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err; // closed meanwhile
        }
      }
      if (terminated.length) logger.log(`terminated ${terminated.join(', ')} of integration ${args.integrationId}`, LOG_CONTEXT);
      return { terminated };
    },
  };
}

async function lockIntegration(tx: EntityManager, step: LifecycleStep): Promise<Integration | null> {
  return tx.findOne(Integration, { where: { id: step.integrationId, tenantId: step.tenantId }, lock: { mode: 'pessimistic_write' } });
}

const dedupeKeyOf = (step: LifecycleStep) => `lifecycle:${step.requestId}`;

/** The audit row of this request, if an earlier attempt of the step committed it. */
async function recordedStep(tx: EntityManager, step: LifecycleStep): Promise<AuditEvent | null> {
  return tx.findOne(AuditEvent, { where: { dedupeKey: dedupeKeyOf(step), tenantId: step.tenantId } });
}

async function insertLifecycleAudit(tx: EntityManager, step: LifecycleStep, type: string, outcome: AuditOutcome, data: Record<string, unknown>): Promise<void> {
  await tx
    .createQueryBuilder()
    .insert()
    .into(AuditEvent)
    .values({
      tenantId: step.tenantId,
      integrationId: step.integrationId,
      type,
      actorKind: step.actor.kind,
      actorId: step.actor.id ?? null,
      outcome,
      data: { ...data, requestId: step.requestId } as never,
      dedupeKey: dedupeKeyOf(step),
    })
    .orIgnore()
    .execute();
}

async function isRunning(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Asks a workflow to end, waits for it to close, and terminates it after the grace period if allowed. */
async function endWorkflow(
  temporal: Client,
  workflowId: string,
  opts: { reason: string; terminate: boolean },
  askToEnd: (handle: WorkflowHandle) => Promise<unknown>,
): Promise<WorkflowEnding> {
  const handle = temporal.workflow.getHandle(workflowId);
  if (!(await isRunning(handle))) return 'not_running';
  try {
    await askToEnd(handle);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    return 'ended';
  }
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline) {
    if (!(await isRunning(handle))) return 'ended';
    await sleep(POLL_MS);
  }
  if (!opts.terminate) return 'still_running';
  try {
    await handle.terminate(opts.reason);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    return 'ended';
  }
  return 'terminated';
}
