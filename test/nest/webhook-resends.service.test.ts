/**
 * WebhooksService.redeliver / replay against real Postgres with the Temporal client mocked: what a
 * replay covers (at most the limit, where the rest starts), and that a start Temporal refuses or
 * cannot take leaves nothing written — no replay row, no audit event, the delivery as it was.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { AuthModule } from '../../apps/api/auth/auth.module';
import { ApiError } from '../../apps/api/common/api-error';
import { WebhooksModule } from '../../apps/api/webhooks/webhooks.module';
import { WebhooksService } from '../../apps/api/webhooks/webhooks.service';
import { WEBHOOK_DELIVERY_WORKFLOW, WEBHOOK_REPLAY_WORKFLOW } from '../../libs/contracts';
import type { AuditActor } from '../../libs/domain/audit';
import { MAX_REPLAY_EVENTS } from '../../libs/domain/webhooks';
import { CoreModule } from '../../libs/nest/core.module';
import { TemporalClientModule } from '../../libs/nest/temporal-client.module';
import { createTestDatabase, TestDataSourceModule, type TestDatabase } from './support/database';
import { createTenant, testConfig } from './support/fixtures';
import { createTemporalClientMock, overrideTemporal, type TemporalClientMock } from './support/temporal-mocks';

const actor: AuditActor = { kind: 'api_key', id: randomUUID() };

let db: TestDatabase;
let moduleRef: TestingModule;
let temporal: TemporalClientMock;
let describe_: jest.Mock;
let service: WebhooksService;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase('webhook_resends');
  temporal = createTemporalClientMock();
  describe_ = jest.fn();
  Object.assign(temporal.handle, { describe: describe_ });
  moduleRef = await overrideTemporal(
    Test.createTestingModule({ imports: [CoreModule.forRoot(testConfig()), TestDataSourceModule.of(db.dataSource), TemporalClientModule, AuthModule, WebhooksModule] }),
    temporal,
  ).compile();
  service = moduleRef.get(WebhooksService);
  tenantId = await createTenant(db.dataSource, 'webhook-resends');
});

afterAll(async () => {
  await moduleRef?.close();
  await db?.drop();
});

beforeEach(() => {
  temporal.workflow.start.mockReset().mockResolvedValue(undefined);
  describe_.mockReset();
});

/** An endpoint with `n` events, one a second ending a minute ago, each delivered (or `status`) to it. */
async function endpointWithEvents(n: number, status = 'delivered'): Promise<{ endpointId: string; first: Date }> {
  const endpointId = randomUUID();
  await db.dataSource.query(
    `INSERT INTO webhook_endpoints (id, tenant_id, url, secret_key_id, secret_ciphertext) VALUES ($1, $2, 'https://example.com/hook', 'k', 'x')`,
    [endpointId, tenantId],
  );
  const [{ first }] = (await db.dataSource.query(
    `WITH ev AS (
       INSERT INTO webhook_events (id, tenant_id, type, created_at)
       SELECT gen_random_uuid(), $1, 'integrated_account:disabled', now() - interval '1 minute' - ($2::int - i) * interval '1 second'
         FROM generate_series(1, $2::int) i
       RETURNING id, created_at)
     INSERT INTO webhook_deliveries (tenant_id, event_id, endpoint_id, status, attempts, created_at)
     SELECT $1, id, $3, $4, 1, created_at FROM ev RETURNING (SELECT min(created_at) FROM ev) AS first`,
    [tenantId, n, endpointId, status],
  )) as Array<{ first: Date }>;
  return { endpointId, first };
}

async function count(sql: string, params: unknown[]): Promise<number> {
  return Number(((await db.dataSource.query(sql, params)) as Array<{ n: string }>)[0].n);
}

async function apiErrorOf(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return { status: err.getStatus(), code: err.code };
}

describe('replay', () => {
  test('a window over the limit: the oldest 1000, truncated, resumeFrom = the first one left out', async () => {
    const { endpointId, first } = await endpointWithEvents(MAX_REPLAY_EVENTS + 5);
    const since = new Date(first.getTime() - 1000).toISOString();

    const replay = await service.replay(tenantId, endpointId, { since }, actor);

    expect(replay).toMatchObject({ endpointId, since, status: 'running', matched: MAX_REPLAY_EVENTS, truncated: true, limit: MAX_REPLAY_EVENTS });
    const [expected] = (await db.dataSource.query(
      `SELECT e.created_at FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE d.endpoint_id = $1 ORDER BY e.created_at, e.id OFFSET $2 LIMIT 1`,
      [endpointId, MAX_REPLAY_EVENTS],
    )) as Array<{ created_at: Date }>;
    expect(replay.resumeFrom).toBe(expected.created_at.toISOString());
    expect(temporal.workflow.start).toHaveBeenCalledTimes(1);
    const [type, options] = temporal.workflow.start.mock.calls[0];
    expect(type).toBe(WEBHOOK_REPLAY_WORKFLOW);
    expect(options).toMatchObject({ workflowId: `webhook-replay:${endpointId}`, workflowIdConflictPolicy: 'FAIL' });
    expect(options.args[0]).toMatchObject({ replayId: replay.id, tenantId, endpointId, since, maxEvents: MAX_REPLAY_EVENTS, matched: MAX_REPLAY_EVENTS, truncated: true, actor });
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'webhook_endpoint.replayed' AND data->>'replayId' = $1 AND actor_id = $2`, [replay.id, actor.id])).toBe(1);

    // From resumeFrom: the rest (the millisecond of resumeFrom included).
    const rest = await service.replay(tenantId, endpointId, { since: replay.resumeFrom! }, actor);
    expect(rest).toMatchObject({ matched: 5, truncated: false, resumeFrom: null });
  });

  test('a replay already running for the endpoint: 409 replay_in_progress, nothing written', async () => {
    const { endpointId, first } = await endpointWithEvents(3);
    temporal.workflow.start.mockRejectedValue(new WorkflowExecutionAlreadyStartedError('already started', `webhook-replay:${endpointId}`, WEBHOOK_REPLAY_WORKFLOW));

    expect(await apiErrorOf(service.replay(tenantId, endpointId, { since: first.toISOString() }, actor))).toEqual({ status: 409, code: 'replay_in_progress' });
    expect(await count(`SELECT count(*) AS n FROM webhook_replays WHERE endpoint_id = $1`, [endpointId])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE data->>'endpointId' = $1`, [endpointId])).toBe(0);
  });

  test('Temporal unreachable: 503 temporal_unavailable, nothing written', async () => {
    const { endpointId, first } = await endpointWithEvents(2);
    temporal.workflow.start.mockRejectedValue(Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 }));

    expect(await apiErrorOf(service.replay(tenantId, endpointId, { since: first.toISOString() }, actor))).toEqual({ status: 503, code: 'temporal_unavailable' });
    expect(await count(`SELECT count(*) AS n FROM webhook_replays WHERE endpoint_id = $1`, [endpointId])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE data->>'endpointId' = $1`, [endpointId])).toBe(0);
  });

  test('another tenant, a deleted endpoint, a malformed id: 404', async () => {
    const { endpointId, first } = await endpointWithEvents(1);
    const other = await createTenant(db.dataSource, 'webhook-resends-other');
    expect(await apiErrorOf(service.replay(other, endpointId, { since: first.toISOString() }, actor))).toEqual({ status: 404, code: 'not_found' });
    expect(await apiErrorOf(service.replay(tenantId, 'nope', { since: first.toISOString() }, actor))).toEqual({ status: 404, code: 'not_found' });
    await db.dataSource.query(`UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1`, [endpointId]);
    expect(await apiErrorOf(service.replay(tenantId, endpointId, { since: first.toISOString() }, actor))).toEqual({ status: 404, code: 'not_found' });
    expect(temporal.workflow.start).not.toHaveBeenCalled();
  });
});

describe('redeliver', () => {
  const deliveryOf = async (endpointId: string) =>
    ((await db.dataSource.query(`SELECT id, status, resends, resend_key FROM webhook_deliveries WHERE endpoint_id = $1`, [endpointId])) as Array<{
      id: string;
      status: string;
      resends: number;
      resend_key: string | null;
    }>)[0];

  test('queued: the row pending for redelivery-1, its workflow started with that key, audited', async () => {
    const { endpointId } = await endpointWithEvents(1, 'failed');
    const d = await deliveryOf(endpointId);

    const view = await service.redeliver(tenantId, endpointId, d.id, actor);

    expect(view).toMatchObject({ id: d.id, endpointId, status: 'pending', resends: 1, event: 'integrated_account:disabled' });
    expect(await deliveryOf(endpointId)).toMatchObject({ status: 'pending', resends: 1, resend_key: 'redelivery-1' });
    const [type, options] = temporal.workflow.start.mock.calls[0];
    expect(type).toBe(WEBHOOK_DELIVERY_WORKFLOW);
    expect(options.workflowId).toBe(`webhook:${view.eventId}:${endpointId}:redelivery-1`);
    expect(options.args[0]).toMatchObject({ eventId: view.eventId, endpointId, tenantId, resendKey: 'redelivery-1' });
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'webhook_delivery.redelivered' AND data->>'deliveryId' = $1`, [d.id])).toBe(1);
  });

  test('Temporal unreachable: 503, the delivery as it was, no audit event', async () => {
    const { endpointId } = await endpointWithEvents(1, 'delivered');
    const d = await deliveryOf(endpointId);
    temporal.workflow.start.mockRejectedValue(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }));

    expect(await apiErrorOf(service.redeliver(tenantId, endpointId, d.id, actor))).toEqual({ status: 503, code: 'temporal_unavailable' });
    expect(await deliveryOf(endpointId)).toEqual(d);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE data->>'deliveryId' = $1`, [d.id])).toBe(0);
  });

  test('pending: 409 while its workflow runs; a pending row whose workflow is gone can be sent again', async () => {
    const { endpointId } = await endpointWithEvents(1, 'pending');
    const d = await deliveryOf(endpointId);
    describe_.mockResolvedValue({ status: { name: 'RUNNING' } });
    expect(await apiErrorOf(service.redeliver(tenantId, endpointId, d.id, actor))).toEqual({ status: 409, code: 'delivery_in_progress' });
    expect(temporal.workflow.start).not.toHaveBeenCalled();
    expect(await deliveryOf(endpointId)).toEqual(d);

    describe_.mockRejectedValue(new WorkflowNotFoundError('not found', 'x', undefined));
    expect((await service.redeliver(tenantId, endpointId, d.id, actor)).resends).toBe(1);
    expect(temporal.workflow.start).toHaveBeenCalledTimes(1);
  });

  test("a delivery of another endpoint, or of another tenant's: 404", async () => {
    const a = await endpointWithEvents(1);
    const b = await endpointWithEvents(1);
    const dB = await deliveryOf(b.endpointId);
    expect(await apiErrorOf(service.redeliver(tenantId, a.endpointId, dB.id, actor))).toEqual({ status: 404, code: 'not_found' });
    const other = await createTenant(db.dataSource, 'webhook-resends-b');
    expect(await apiErrorOf(service.redeliver(other, b.endpointId, dB.id, actor))).toEqual({ status: 404, code: 'not_found' });
    expect(await apiErrorOf(service.redeliver(tenantId, b.endpointId, 'nope', actor))).toEqual({ status: 404, code: 'not_found' });
    expect(temporal.workflow.start).not.toHaveBeenCalled();
  });
});
