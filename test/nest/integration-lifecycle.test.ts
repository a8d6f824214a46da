/**
 * Disable, enable and delete over HTTP with the Temporal Client mocked: each runs the
 * integrationLifecycle workflow (never a write of the API's own) with who asked, maps its outcome
 * to HTTP, and another tenant's id is a 404 before any workflow. Real Postgres.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { AuditModule } from '../../apps/api/audit/audit.module';
import { AuthModule } from '../../apps/api/auth/auth.module';
import { IntegrationsModule } from '../../apps/api/integrations/integrations.module';
import { INTEGRATION_LIFECYCLE_WORKFLOW, type IntegrationLifecycleInput } from '../../libs/contracts';
import { ApiKey, Integration } from '../../libs/db/entities';
import { CoreModule } from '../../libs/nest/core.module';
import { TemporalClientModule } from '../../libs/nest/temporal-client.module';
import { createTestDatabase, TestDataSourceModule, type TestDatabase } from './support/database';
import { createApiKey, createIntegration, createTenant, testConfig } from './support/fixtures';
import { call, expectErrorShape, type RunningApi, startApi } from './support/http';
import { createTemporalClientMock, overrideTemporal, type TemporalClientMock } from './support/temporal-mocks';

const cfg = testConfig();

let db: TestDatabase;
let moduleRef: TestingModule;
let temporal: TemporalClientMock;
let api: RunningApi;
let tenantId: string;
let key: string;
let otherKey: string;
let keyId: string;

beforeAll(async () => {
  db = await createTestDatabase('lifecycle');
  temporal = createTemporalClientMock();
  moduleRef = await overrideTemporal(
    Test.createTestingModule({
      imports: [CoreModule.forRoot(cfg), TestDataSourceModule.of(db.dataSource), TemporalClientModule, AuthModule, AuditModule, IntegrationsModule],
    }),
    temporal,
  ).compile();
  api = await startApi(moduleRef);
  tenantId = await createTenant(db.dataSource, 'lifecycle-tenant');
  key = await createApiKey(db.dataSource, tenantId);
  otherKey = await createApiKey(db.dataSource, await createTenant(db.dataSource, 'lifecycle-other-tenant'));
  keyId = (await db.dataSource.getRepository(ApiKey).findOneByOrFail({ tenantId })).id;
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

beforeEach(() => {
  temporal.workflow.execute.mockReset();
});

/** What the mocked workflow does: `disabled` status for a disable, the outcome given. */
function lifecycleAnswers(outcome: 'done' | 'unchanged' | 'not_found') {
  return async (_type: string, options: { args: [IntegrationLifecycleInput] }) => {
    const [input] = options.args;
    if (input.operation === 'disable') await db.dataSource.getRepository(Integration).update({ id: input.integrationId }, { status: 'disabled' });
    if (input.operation === 'delete' && outcome === 'done') await db.dataSource.getRepository(Integration).delete({ id: input.integrationId });
    return { outcome };
  };
}

describe('integration lifecycle routes', () => {
  test('POST …/disable runs integrationLifecycle with who asked, and answers 200 with the integration', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.execute.mockImplementation(lifecycleAnswers('done'));

    const res = await call(api.url, 'POST', `/v1/integrations/${integration.id}/disable`, { key, headers: { 'x-reauth-client': 'console' } });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: integration.id, status: 'disabled', statusMessage: 'This integration is turned off.' });
    expect(temporal.workflow.execute).toHaveBeenCalledTimes(1);
    const [type, options] = temporal.workflow.execute.mock.calls[0];
    expect(type).toBe(INTEGRATION_LIFECYCLE_WORKFLOW);
    const input = options.args[0] as IntegrationLifecycleInput;
    expect(input).toMatchObject({ tenantId, integrationId: integration.id, operation: 'disable', actor: { kind: 'console', id: keyId } });
    expect(options).toMatchObject({ workflowId: `lifecycle:${integration.id}:disable:${input.requestId}`, taskQueue: cfg.taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' });
  });

  test('POST …/enable and DELETE: 200 with the integration, 204 without a body; deletes of one integration share one workflow id', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.execute.mockImplementation(lifecycleAnswers('done'));

    const enabled = await call(api.url, 'POST', `/v1/integrations/${integration.id}/enable`, { key });
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ id: integration.id, status: 'active' });
    expect(temporal.workflow.execute.mock.calls[0][1].args[0]).toMatchObject({ operation: 'enable', actor: { kind: 'api_key', id: keyId } });

    const deleted = await call(api.url, 'DELETE', `/v1/integrations/${integration.id}`, { key });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(temporal.workflow.execute.mock.calls[1][1].workflowId).toBe(`lifecycle:${integration.id}:delete`);

    // Gone: 404 without another workflow.
    expectErrorShape(await call(api.url, 'DELETE', `/v1/integrations/${integration.id}`, { key }), 404, 'not_found');
    expect(temporal.workflow.execute).toHaveBeenCalledTimes(2);
  });

  test("another tenant's id, an id that is no UUID, or none at all: 404 / 401 and no workflow", async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    for (const [method, path] of [
      ['POST', `/v1/integrations/${integration.id}/disable`],
      ['POST', `/v1/integrations/${integration.id}/enable`],
      ['DELETE', `/v1/integrations/${integration.id}`],
    ]) {
      expectErrorShape(await call(api.url, method, path, { key: otherKey }), 404, 'not_found');
      expect((await call(api.url, method, path)).status).toBe(401);
    }
    expectErrorShape(await call(api.url, 'POST', '/v1/integrations/not-a-uuid/disable', { key }), 404, 'not_found');
    expect(temporal.workflow.execute).not.toHaveBeenCalled();
  });

  test('deleted while the request was on its way (the workflow found nothing): 404; a workflow that did not complete: 503', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.execute.mockImplementation(lifecycleAnswers('not_found'));
    expectErrorShape(await call(api.url, 'POST', `/v1/integrations/${integration.id}/enable`, { key }), 404, 'not_found');

    temporal.workflow.execute.mockRejectedValue(
      new WorkflowFailedError('Workflow execution failed', ApplicationFailure.create({ type: 'timeout', message: 'timed out' }), RetryState.TIMEOUT),
    );
    expectErrorShape(await call(api.url, 'DELETE', `/v1/integrations/${integration.id}`, { key }), 503, 'lifecycle_incomplete');
  });

  test('a disabled integration refuses a refresh (409 integration_disabled) without signalling anything', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    await db.dataSource.getRepository(Integration).update({ id: integration.id }, { status: 'disabled' });
    temporal.workflow.signalWithStart.mockReset();
    expectErrorShape(await call(api.url, 'POST', `/v1/integrations/${integration.id}/refresh`, { key }), 409, 'integration_disabled');
    expect(temporal.workflow.signalWithStart).not.toHaveBeenCalled();
  });
});
