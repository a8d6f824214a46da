/**
 * `fullResync` and its `entityResync` children: one child per entity type, all in parallel; a
 * failing entity never fails the others (the re-sync ends `partial`); a delegated entity waits for
 * the `entityCompleted` signal of an external sync service, up to its timeout.
 */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  awaitResyncStartedUpdate,
  entityCompletedSignal,
  FULL_RESYNC_WORKFLOW,
  type EntityResyncWorkflow,
  type FullResyncWorkflow,
  progressQuery,
} from '../../libs/contracts';
import {
  type EntityPlan,
  type EntityResult,
  entityResyncWorkflowId,
  type EntityResyncInput,
  type FullResyncInput,
  overallStatus,
  resyncWorkflowId,
} from '../../libs/domain/resync';
import { callArgs, emittedEvents, eventually, setUpWorkflowTestBed, stubActivities, type TestContext, uniqueId, type WorkflowActivities } from './support';

const bed = setUpWorkflowTestBed();

/**
 * The re-sync rows as the activities keep them (one per entity): what `beginResync` records,
 * `markResyncEntityRunning` / `finishResyncEntity` move (a final row stays as it is) and
 * `completeResync` sums up.
 */
function resyncRows(): Pick<WorkflowActivities, 'beginResync' | 'markResyncEntityRunning' | 'finishResyncEntity' | 'completeResync'> {
  const rows = new Map<string, EntityResult>();
  const key = (resyncId: string, entity: string) => `${resyncId}/${entity}`;
  return {
    beginResync: async ({ resyncId, entities }) => {
      for (const { entity, mode } of entities) {
        if (!rows.has(key(resyncId, entity))) rows.set(key(resyncId, entity), { entity, mode, status: 'pending', imported: 0, updated: 0, pages: 0, error: null });
      }
    },
    markResyncEntityRunning: async ({ resyncId, entity }) => {
      const row = rows.get(key(resyncId, entity))!;
      if (row.status === 'pending') row.status = 'running';
    },
    finishResyncEntity: async ({ resyncId, entity, status, imported, updated, error }) => {
      const row = rows.get(key(resyncId, entity))!;
      if (row.status !== 'completed' && row.status !== 'failed') {
        Object.assign(row, { status, imported: imported ?? row.imported, updated: updated ?? row.updated, error: error ?? null });
      }
      return { ...row };
    },
    completeResync: async ({ resyncId }) => {
      const entities = [...rows.entries()].filter(([k]) => k.startsWith(`${resyncId}/`)).map(([, row]) => ({ ...row }));
      return { status: overallStatus(entities), entities };
    },
  };
}

function resyncInput(entities: EntityPlan[], overrides: Partial<FullResyncInput> = {}): FullResyncInput {
  return {
    resyncId: uniqueId('resync'),
    tenantId: 'tenant-1',
    integrationId: uniqueId('integration'),
    provider: 'hubspot',
    trigger: 'api',
    reauthorizationId: null,
    entities,
    delegateTimeoutSeconds: 60,
    ...overrides,
  };
}

function startResync({ client, taskQueue }: TestContext, input: FullResyncInput): Promise<WorkflowHandle<FullResyncWorkflow>> {
  return client.workflow.start<FullResyncWorkflow>(FULL_RESYNC_WORKFLOW, { taskQueue, workflowId: resyncWorkflowId(input.integrationId), args: [input] });
}

/** The child of a delegated entity, once it has asked for its import (so it can take the signal). */
async function delegatedChild(stubs: ReturnType<typeof stubActivities>, input: FullResyncInput, entity: string): Promise<WorkflowHandle<EntityResyncWorkflow>> {
  await eventually(() =>
    expect(emittedEvents(stubs)).toContainEqual(expect.objectContaining({ type: 'resync:requested', payload: expect.objectContaining({ entity }) })),
  );
  return bed.client.workflow.getHandle(entityResyncWorkflowId(input.resyncId, entity));
}

const builtin = (entity: string): EntityPlan => ({ entity, mode: 'builtin' });
const delegated = (entity: string): EntityPlan => ({ entity, mode: 'delegated' });

describe('fullResync', () => {
  test.concurrent('one child per entity imports it; all completed: the re-sync is completed and announced', async () => {
    const stubs = stubActivities({
      ...resyncRows(),
      importEntity: async ({ entity }) => ({ imported: entity.length, updated: 1, pages: 1 }),
    });
    const input = resyncInput([builtin('contacts'), builtin('deals')], { trigger: 'reauthorization', reauthorizationId: 'reauth-1' });

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startResync(test, input);
      expect(await handle.executeUpdate(awaitResyncStartedUpdate)).toEqual({ resyncId: input.resyncId, status: 'running' });
      const result = await handle.result();
      for (const entity of ['contacts', 'deals']) {
        const child = bed.client.workflow.getHandle(entityResyncWorkflowId(input.resyncId, entity));
        expect((await child.describe()).status.name).toBe('COMPLETED');
      }
      return result;
    });

    const completed = (entity: string) => ({ entity, mode: 'builtin', status: 'completed', imported: entity.length, updated: 1, pages: 0, error: null });
    expect(result).toEqual({ resyncId: input.resyncId, integrationId: input.integrationId, status: 'completed', entities: [completed('contacts'), completed('deals')] });
    expect(callArgs(stubs.beginResync)).toEqual([
      {
        resyncId: input.resyncId,
        tenantId: input.tenantId,
        integrationId: input.integrationId,
        trigger: 'reauthorization',
        reauthorizationId: 'reauth-1',
        entities: input.entities,
      },
    ]);
    expect(callArgs(stubs.importEntity)).toEqual(
      expect.arrayContaining(['contacts', 'deals'].map((entity) => ({ resyncId: input.resyncId, tenantId: input.tenantId, integrationId: input.integrationId, entity }))),
    );
    expect(callArgs(stubs.finishResyncEntity)).toEqual(
      expect.arrayContaining(['contacts', 'deals'].map((entity) => ({ resyncId: input.resyncId, entity, status: 'completed', imported: entity.length, updated: 1 }))),
    );
    expect(callArgs(stubs.completeResync)).toEqual([{ resyncId: input.resyncId }]);
    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({
        tenantId: input.tenantId,
        type: 'resync:completed',
        payload: { resyncId: input.resyncId, integrationId: input.integrationId, status: 'completed', entities: result.entities },
      }),
    ]);
  });

  test.concurrent('an entity whose import fails does not fail the others: partial', async () => {
    const stubs = stubActivities({
      ...resyncRows(),
      importEntity: async ({ entity }) => {
        if (entity === 'deals') throw ApplicationFailure.nonRetryable('The CRM gave an unusable answer while importing deals', 'crm_error');
        return { imported: 3, updated: 0, pages: 1 };
      },
    });
    const input = resyncInput([builtin('contacts'), builtin('deals'), builtin('companies')]);

    const result = await bed.withActivities(stubs, async (test) => (await startResync(test, input)).result());

    expect(result.status).toBe('partial');
    expect(result.entities).toEqual([
      expect.objectContaining({ entity: 'contacts', status: 'completed', imported: 3 }),
      expect.objectContaining({ entity: 'deals', status: 'failed', error: { code: 'crm_error', message: 'The CRM gave an unusable answer while importing deals' } }),
      expect.objectContaining({ entity: 'companies', status: 'completed', imported: 3 }),
    ]);
    expect(stubs.importEntity).toHaveBeenCalledTimes(3);
    expect(emittedEvents(stubs)).toEqual([expect.objectContaining({ type: 'resync:completed', payload: expect.objectContaining({ status: 'partial' }) })]);
  });

  test.concurrent('a child that fails as a workflow is recorded failed by the re-sync; the others complete', async () => {
    const rows = resyncRows();
    let refusedOnce = false;
    const stubs = stubActivities({
      ...rows,
      importEntity: async () => ({ imported: 1, updated: 1, pages: 1 }),
      // The database refuses the child's own final write for `deals`, so that child workflow fails.
      finishResyncEntity: async (args) => {
        if (args.entity === 'deals' && !refusedOnce) {
          refusedOnce = true;
          throw ApplicationFailure.nonRetryable('the database refused the data (SQLSTATE 22001)', 'invalid_data');
        }
        return rows.finishResyncEntity(args);
      },
    });
    const input = resyncInput([builtin('contacts'), builtin('deals')]);

    const result = await bed.withActivities(stubs, async (test) => {
      const result = await (await startResync(test, input)).result();
      const child = bed.client.workflow.getHandle(entityResyncWorkflowId(input.resyncId, 'deals'));
      expect((await child.describe()).status.name).toBe('FAILED');
      return result;
    });

    expect(result.status).toBe('partial');
    expect(result.entities).toEqual([
      expect.objectContaining({ entity: 'contacts', status: 'completed' }),
      expect.objectContaining({ entity: 'deals', status: 'failed', error: expect.objectContaining({ code: 'invalid_data' }) }),
    ]);
  });

  test.concurrent('every entity failing: the re-sync is failed', async () => {
    const stubs = stubActivities({
      ...resyncRows(),
      importEntity: async () => {
        throw ApplicationFailure.nonRetryable('The integration has no active credentials to import with.', 'invalid_credentials');
      },
    });

    const result = await bed.withActivities(stubs, async (test) => (await startResync(test, resyncInput([builtin('contacts'), builtin('deals')]))).result());

    expect(result.status).toBe('failed');
    expect(result.entities.map((e) => [e.entity, e.status, e.error?.code])).toEqual([
      ['contacts', 'failed', 'invalid_credentials'],
      ['deals', 'failed', 'invalid_credentials'],
    ]);
  });

  test.concurrent('a delegated entity is requested, then completed by the entityCompleted signal; progress shows where it stands', async () => {
    const stubs = stubActivities({ ...resyncRows(), importEntity: async () => ({ imported: 2, updated: 0, pages: 1 }) });
    const input = resyncInput([builtin('contacts'), delegated('notes')]);

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startResync(test, input);
      const child = await delegatedChild(stubs, input, 'notes');
      const progress = await eventually(async () => {
        const progress = await handle.query(progressQuery);
        expect(progress.entities[0].status).toBe('completed');
        return progress;
      });
      expect(progress).toEqual({
        resyncId: input.resyncId,
        integrationId: input.integrationId,
        status: 'running',
        entities: [
          expect.objectContaining({ entity: 'contacts', mode: 'builtin', status: 'completed', imported: 2 }),
          expect.objectContaining({ entity: 'notes', mode: 'delegated', status: 'running', imported: 0, error: null }),
        ],
      });

      await child.signal(entityCompletedSignal, { imported: 40, updated: 2 });
      // A second report of the same entity (a retried call) changes nothing.
      await child.signal(entityCompletedSignal, { error: { code: 'late_report', message: 'ignored' } }).catch(() => undefined);
      return handle.result();
    });

    expect(result.status).toBe('completed');
    expect(result.entities[1]).toEqual({ entity: 'notes', mode: 'delegated', status: 'completed', imported: 40, updated: 2, pages: 0, error: null });
    expect(emittedEvents(stubs)).toEqual([
      expect.objectContaining({ tenantId: input.tenantId, type: 'resync:requested', payload: { resyncId: input.resyncId, integrationId: input.integrationId, entity: 'notes' } }),
      expect.objectContaining({ type: 'resync:completed', payload: expect.objectContaining({ status: 'completed' }) }),
    ]);
    expect(callArgs(stubs.importEntity).map((args) => args.entity)).toEqual(['contacts']);
  });

  test.concurrent('a delegated entity reported failed, or with a malformed report, fails alone: partial', async () => {
    const stubs = stubActivities({ ...resyncRows(), importEntity: async () => ({ imported: 1, updated: 0, pages: 1 }) });
    const input = resyncInput([builtin('contacts'), delegated('notes'), delegated('tasks')]);

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startResync(test, input);
      const notes = await delegatedChild(stubs, input, 'notes');
      const tasks = await delegatedChild(stubs, input, 'tasks');
      await notes.signal(entityCompletedSignal, { imported: 5, error: { code: 'sync_service_error', message: 'the sync service crashed' } });
      // As someone might send it by hand from the Temporal UI: not the contract's shape.
      await tasks.signal(entityCompletedSignal, { imported: -1, error: 'out of memory' } as never);
      return handle.result();
    });

    expect(result.status).toBe('partial');
    expect(result.entities).toEqual([
      expect.objectContaining({ entity: 'contacts', status: 'completed' }),
      expect.objectContaining({ entity: 'notes', status: 'failed', imported: 5, error: { code: 'sync_service_error', message: 'the sync service crashed' } }),
      expect.objectContaining({ entity: 'tasks', status: 'failed', imported: 0, error: { code: 'delegate_failed', message: 'out of memory' } }),
    ]);
  });

  test.concurrent('a delegated entity nobody reports on times out; the others still complete', async () => {
    const stubs = stubActivities({ ...resyncRows(), importEntity: async () => ({ imported: 1, updated: 0, pages: 1 }) });
    const input = resyncInput([builtin('contacts'), delegated('notes')], { delegateTimeoutSeconds: 1 });

    const result = await bed.withActivities(stubs, async (test) => (await startResync(test, input)).result());

    expect(result.status).toBe('partial');
    expect(result.entities[1]).toMatchObject({
      entity: 'notes',
      status: 'failed',
      error: { code: 'timeout', message: 'No completion was reported for notes within 1 s.' },
    });
  });

  test.concurrent('a request that cannot be emitted does not stop the delegated entity from waiting', async () => {
    const stubs = stubActivities({
      ...resyncRows(),
      recordWebhookEvent: async ({ type }) => {
        if (type === 'resync:requested') throw ApplicationFailure.nonRetryable('unknown webhook event type', 'unknown_event_type');
        return { endpointIds: [], delivery: { retryInitialSeconds: 1, retryWindowSeconds: 60 } };
      },
    });
    const input = resyncInput([delegated('notes')]);

    const result = await bed.withActivities(stubs, async (test) => {
      const handle = await startResync(test, input);
      await eventually(() => expect(stubs.recordWebhookEvent).toHaveBeenCalledTimes(1));
      await bed.client.workflow.getHandle(entityResyncWorkflowId(input.resyncId, 'notes')).signal(entityCompletedSignal, { imported: 7, updated: 0 });
      return handle.result();
    });

    expect(result).toMatchObject({ status: 'completed', entities: [expect.objectContaining({ entity: 'notes', status: 'completed', imported: 7 })] });
  });

  test.concurrent('cancelled: entities not finished are recorded failed (cancelled) and the re-sync is closed', async () => {
    const stubs = stubActivities({ ...resyncRows(), importEntity: async () => ({ imported: 1, updated: 0, pages: 1 }) });
    const input = resyncInput([builtin('contacts'), delegated('notes')]);

    const err = await bed.withActivities(stubs, async (test) => {
      const handle = await startResync(test, input);
      await delegatedChild(stubs, input, 'notes');
      await eventually(async () => expect((await handle.query(progressQuery)).entities[0].status).toBe('completed'));
      await handle.cancel();
      return handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
    });

    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(stubs.finishResyncEntity).toHaveBeenCalledWith(
      expect.objectContaining({ resyncId: input.resyncId, entity: 'notes', status: 'failed', error: { code: 'cancelled', message: 'The re-sync was cancelled.' } }),
    );
    expect(stubs.completeResync).toHaveBeenCalledWith({ resyncId: input.resyncId });
    expect(emittedEvents(stubs).map((e) => e.type)).toEqual(['resync:requested']);
  });
});

describe('entityResync on its own', () => {
  const entityInput = (overrides: Partial<EntityResyncInput> = {}): EntityResyncInput => ({
    resyncId: uniqueId('resync'),
    tenantId: 'tenant-1',
    integrationId: uniqueId('integration'),
    provider: 'hubspot',
    entity: 'contacts',
    mode: 'builtin',
    delegateTimeoutSeconds: 60,
    ...overrides,
  });

  test.concurrent('never fails because its entity failed: the failure is recorded and returned', async () => {
    const rows = resyncRows();
    const input = entityInput();
    const stubs = stubActivities({
      ...rows,
      importEntity: async () => {
        throw ApplicationFailure.nonRetryable('integration no longer exists', 'integration_not_found');
      },
    });
    await rows.beginResync({ ...input, trigger: 'api', reauthorizationId: null, entities: [{ entity: input.entity, mode: input.mode }] });

    const result = await bed.withActivities(stubs, ({ client, taskQueue }) =>
      client.workflow.execute<EntityResyncWorkflow>('entityResync', { taskQueue, workflowId: entityResyncWorkflowId(input.resyncId, input.entity), args: [input] }),
    );

    expect(result).toEqual({
      entity: 'contacts',
      mode: 'builtin',
      status: 'failed',
      imported: 0,
      updated: 0,
      pages: 0,
      error: { code: 'integration_not_found', message: 'integration no longer exists' },
    });
    expect(callArgs(stubs.markResyncEntityRunning)).toEqual([{ resyncId: input.resyncId, entity: 'contacts' }]);
    expect(callArgs(stubs.finishResyncEntity)).toEqual([
      { resyncId: input.resyncId, entity: 'contacts', status: 'failed', error: { code: 'integration_not_found', message: 'integration no longer exists' } },
    ]);
  });
});
