/**
 * Health: TemporalHealthIndicator (Temporal answers and a worker polled the task queue within the
 * last minute) against a mocked TEMPORAL_CONNECTION, and /health, /ready over HTTP with the
 * Postgres ping answered by a stub DataSource. No Temporal, no Postgres.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { temporal as proto } from '@temporalio/proto';
import { AuthModule } from '../../apps/api/auth/auth.module';
import { HealthModule } from '../../apps/api/health/health.module';
import { TemporalHealthIndicator } from '../../apps/api/health/temporal.health';
import { CoreModule } from '../../libs/nest/core.module';
import { TemporalClientModule } from '../../libs/nest/temporal-client.module';
import { TestDataSourceModule } from './support/database';
import { testConfig } from './support/fixtures';
import { type ApiResponse, call, expectErrorShape, type RunningApi, startApi } from './support/http';
import { createTemporalConnectionMock, overrideTemporal, type TemporalConnectionMock } from './support/temporal-mocks';

const cfg = testConfig({ temporalAddress: 'temporal.nest-test:7233' });

/** Enough of a DataSource for terminus' TypeOrmHealthIndicator (it runs `SELECT 1`). */
const dataSource = { options: { type: 'postgres' }, query: jest.fn() };

let moduleRef: TestingModule;
let connection: TemporalConnectionMock;
let indicator: TemporalHealthIndicator;
let api: RunningApi;

/** A poller as describeTaskQueue reports it, last seen `secondsAgo` ago. */
function poller(secondsAgo: number, identity = 'worker@host') {
  return { identity, lastAccessTime: { seconds: Math.floor(Date.now() / 1000) - secondsAgo, nanos: 0 } };
}

beforeAll(async () => {
  connection = createTemporalConnectionMock();
  moduleRef = await overrideTemporal(
    Test.createTestingModule({
      imports: [CoreModule.forRoot(cfg), TestDataSourceModule.of(dataSource), TemporalClientModule, AuthModule, HealthModule],
    }),
    undefined,
    connection,
  ).compile();
  indicator = moduleRef.get(TemporalHealthIndicator);
  api = await startApi(moduleRef);
});

afterAll(async () => {
  await api?.close();
});

beforeEach(() => {
  dataSource.query.mockReset().mockResolvedValue([{ '?column?': 1 }]);
  connection.workflowService.getSystemInfo.mockReset().mockResolvedValue({});
  connection.workflowService.describeTaskQueue.mockReset().mockResolvedValue({ pollers: [poller(5)] });
});

describe('TemporalHealthIndicator', () => {
  test('up when Temporal answers and a worker polled the workflow task queue recently', async () => {
    expect(await indicator.check('temporal', { requireWorker: true })).toEqual({ temporal: { status: 'up', workers: 1, taskQueue: cfg.taskQueue } });
    expect(connection.workflowService.getSystemInfo).toHaveBeenCalledTimes(1);
    expect(connection.workflowService.describeTaskQueue).toHaveBeenCalledWith({
      namespace: cfg.temporalNamespace,
      taskQueue: { name: cfg.taskQueue },
      taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
  });

  test('counts only the workers seen in the last minute', async () => {
    connection.workflowService.describeTaskQueue.mockResolvedValue({ pollers: [poller(1, 'a'), poller(59, 'b'), poller(61, 'c'), poller(3600, 'd')] });
    expect(await indicator.check('temporal', { requireWorker: true })).toEqual({ temporal: { status: 'up', workers: 2, taskQueue: cfg.taskQueue } });
  });

  test.each([
    ['only stale pollers', { pollers: [poller(120), poller(86_400)] }],
    ['no pollers', { pollers: [] }],
    ['pollers absent from the answer', {}],
    ['a poller without a last access time', { pollers: [{ identity: 'x' }] }],
  ])('down when no worker polls and one is required (%s)', async (_, answer) => {
    connection.workflowService.describeTaskQueue.mockResolvedValue(answer);
    expect(await indicator.check('temporal', { requireWorker: true })).toEqual({
      temporal: { status: 'down', workers: 0, taskQueue: cfg.taskQueue, message: 'no worker is polling' },
    });
    // Not required: up, and it says so.
    expect(await indicator.check('temporal', { requireWorker: false })).toEqual({
      temporal: { status: 'up', workers: 0, taskQueue: cfg.taskQueue, message: 'no worker is polling' },
    });
  });

  test('down when Temporal does not answer, with the reason, and without asking for pollers', async () => {
    connection.workflowService.getSystemInfo.mockRejectedValue(new Error('14 UNAVAILABLE: No connection established'));
    expect(await indicator.check('temporal', { requireWorker: true })).toEqual({
      temporal: { status: 'down', message: 'Temporal unreachable: 14 UNAVAILABLE: No connection established' },
    });
    expect(connection.workflowService.describeTaskQueue).not.toHaveBeenCalled();
  });

  test('down when describing the task queue fails', async () => {
    connection.workflowService.describeTaskQueue.mockRejectedValue(new Error('7 PERMISSION_DENIED: namespace'));
    expect(await indicator.check('temporal', { requireWorker: true })).toEqual({ temporal: { status: 'down', message: 'Temporal unreachable: 7 PERMISSION_DENIED: namespace' } });
  });

  test('the key names the result', async () => {
    expect(Object.keys(await indicator.check('workflows', { requireWorker: true }))).toEqual(['workflows']);
  });
});

/**
 * A failed readiness check leaves as a 503 in the API's error shape (through ErrorShapeFilter, which
 * keeps only code and message of terminus' ServiceUnavailableException, so which check failed is not
 * in the body).
 */
function expectReadinessFailure(res: ApiResponse): void {
  expect(res.status).toBe(503);
  expectErrorShape(res, 503, res.body?.error?.code);
  expect(res.text).not.toMatch(/\n\s+at /);
}

describe('/health and /ready over HTTP', () => {
  test('GET /health: 200 without an API key, nothing checked', async () => {
    const res = await call(api.url, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(dataSource.query).not.toHaveBeenCalled();
    expect(connection.workflowService.getSystemInfo).not.toHaveBeenCalled();
  });

  test('GET /ready: 200 without an API key when Postgres and Temporal are up', async () => {
    const res = await call(api.url, 'GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      info: { postgres: { status: 'up' }, temporal: { status: 'up', workers: 1, taskQueue: cfg.taskQueue } },
      error: {},
      details: { postgres: { status: 'up' }, temporal: { status: 'up', workers: 1, taskQueue: cfg.taskQueue } },
    });
    expect(dataSource.query).toHaveBeenCalledWith('SELECT 1');
  });

  test('GET /ready: no worker polling is reported, not a failure of this API process (a worker rollout keeps the APIs in rotation)', async () => {
    connection.workflowService.describeTaskQueue.mockResolvedValue({ pollers: [] });
    const res = await call(api.url, 'GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body.info.temporal).toEqual({ status: 'up', workers: 0, taskQueue: cfg.taskQueue, message: 'no worker is polling' });
  });

  test('GET /ready?require=worker: 503 while no worker polls, 200 once one does; any other require is a 400', async () => {
    connection.workflowService.describeTaskQueue.mockResolvedValue({ pollers: [] });
    const down = await call(api.url, 'GET', '/ready?require=worker');
    expectReadinessFailure(down);
    connection.workflowService.describeTaskQueue.mockResolvedValue({ pollers: [{ lastAccessTime: { seconds: Math.floor(Date.now() / 1000) } }] });
    const up = await call(api.url, 'GET', '/ready?require=worker');
    expect(up.status).toBe(200);
    expect(up.body.info.temporal.workers).toBe(1);
    expectErrorShape(await call(api.url, 'GET', '/ready?require=everything'), 400, 'invalid_require', 'require must be "worker".');
  });

  test('GET /ready: 503 when Temporal is unreachable, and the error detail does not leak', async () => {
    connection.workflowService.getSystemInfo.mockRejectedValue(new Error('connect ECONNREFUSED 10.20.30.40:7233'));
    const res = await call(api.url, 'GET', '/ready');
    expectReadinessFailure(res);
    expect(res.text).not.toContain('10.20.30.40');
  });

  test('GET /ready: 503 when Postgres does not answer', async () => {
    dataSource.query.mockRejectedValue(new Error('password authentication failed for user "reauth"'));
    const res = await call(api.url, 'GET', '/ready');
    expectReadinessFailure(res);
    expect(res.text).not.toContain('password authentication failed');
  });
});
