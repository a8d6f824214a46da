/**
 * IntegrationsService with the Temporal Client mocked: refreshNow signals the integration's
 * tokenRefresh workflow (signal-with-start `refreshNow`, workflow id `refresh:<integrationId>`),
 * and create-with-credentials runs connectIntegration and maps its failures to HTTP. Real Postgres.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { AuthModule } from '../../apps/api/auth/auth.module';
import { ApiError } from '../../apps/api/common/api-error';
import { IntegrationsModule } from '../../apps/api/integrations/integrations.module';
import { IntegrationsService } from '../../apps/api/integrations/integrations.service';
import { CONNECT_INTEGRATION_WORKFLOW, type ConnectIntegrationInput, refreshNowSignal, TOKEN_REFRESH_WORKFLOW } from '../../libs/contracts';
import { CredentialVersion, Integration } from '../../libs/db/entities';
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
let service: IntegrationsService;
let api: RunningApi;
let tenantId: string;
let otherTenantId: string;
let key: string;
let otherKey: string;

beforeAll(async () => {
  db = await createTestDatabase('integrations');
  temporal = createTemporalClientMock();
  moduleRef = await overrideTemporal(
    Test.createTestingModule({
      imports: [CoreModule.forRoot(cfg), TestDataSourceModule.of(db.dataSource), TemporalClientModule, AuthModule, IntegrationsModule],
    }),
    temporal,
  ).compile();
  service = moduleRef.get(IntegrationsService);
  api = await startApi(moduleRef);
  tenantId = await createTenant(db.dataSource, 'integrations-tenant');
  otherTenantId = await createTenant(db.dataSource, 'integrations-other-tenant');
  key = await createApiKey(db.dataSource, tenantId);
  otherKey = await createApiKey(db.dataSource, otherTenantId);
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

beforeEach(() => {
  temporal.workflow.signalWithStart.mockReset().mockResolvedValue(undefined);
  temporal.workflow.execute.mockReset();
});

async function apiErrorOf(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return { status: err.getStatus(), code: err.code };
}

describe('refreshNow', () => {
  test('signals refreshNow to refresh:<id>, starting the tokenRefresh workflow if needed', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const answer = await service.refreshNow(tenantId, integration.id);

    expect(answer).toEqual({ integrationId: integration.id, workflowId: `refresh:${integration.id}`, requested: true });
    expect(temporal.workflow.signalWithStart).toHaveBeenCalledTimes(1);
    expect(temporal.workflow.signalWithStart).toHaveBeenCalledWith(TOKEN_REFRESH_WORKFLOW, {
      workflowId: `refresh:${integration.id}`,
      taskQueue: cfg.taskQueue,
      args: [{ tenantId, integrationId: integration.id }],
      signal: refreshNowSignal,
      signalArgs: [],
      // The line the Temporal UI's list shows for a refresh workflow this call starts.
      staticSummary: 'Keep the credentials of Sandbox CRM integration "Nest test integration" fresh and checked',
    });
    expect(temporal.workflow.signalWithStart.mock.calls[0][1].signal.name).toBe('refreshNow');
  });

  test('another tenant\'s integration: 404, nothing signalled', async () => {
    const ofOther = await createIntegration(db.dataSource, otherTenantId);
    expect(await apiErrorOf(service.refreshNow(tenantId, ofOther.id))).toEqual({ status: 404, code: 'not_found' });
    expect(await apiErrorOf(service.refreshNow(tenantId, randomUUID()))).toEqual({ status: 404, code: 'not_found' });
    expect(await apiErrorOf(service.refreshNow(tenantId, 'not-a-uuid'))).toEqual({ status: 404, code: 'not_found' });
    expect(temporal.workflow.signalWithStart).not.toHaveBeenCalled();
  });

  test('never connected (no credentials yet): 409 not_connected, nothing signalled', async () => {
    const pending = await createIntegration(db.dataSource, tenantId, { credentialVersion: null });
    expect(await apiErrorOf(service.refreshNow(tenantId, pending.id))).toEqual({ status: 409, code: 'not_connected' });
    expect(temporal.workflow.signalWithStart).not.toHaveBeenCalled();
  });

  test('a Temporal failure is not reported as requested', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.signalWithStart.mockRejectedValue(new Error('14 UNAVAILABLE'));
    await expect(service.refreshNow(tenantId, integration.id)).rejects.toThrow('14 UNAVAILABLE');
  });

  test('POST /v1/integrations/:id/refresh: 202 with the workflow id; 404 with another tenant\'s key', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const res = await call(api.url, 'POST', `/v1/integrations/${integration.id}/refresh`, { key });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ integrationId: integration.id, workflowId: `refresh:${integration.id}`, requested: true });

    temporal.workflow.signalWithStart.mockClear();
    expectErrorShape(await call(api.url, 'POST', `/v1/integrations/${integration.id}/refresh`, { key: otherKey }), 404, 'not_found', 'integration not found');
    expect(temporal.workflow.signalWithStart).not.toHaveBeenCalled();
  });

  test('a Temporal failure over HTTP: a generic 500, nothing of the error leaks', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.signalWithStart.mockRejectedValue(new Error('14 UNAVAILABLE: connect to 10.9.8.7:7233'));
    const res = await call(api.url, 'POST', `/v1/integrations/${integration.id}/refresh`, { key });
    expectErrorShape(res, 500, 'internal_error', 'Internal server error');
    expect(res.text).not.toContain('10.9.8.7');
  });
});

describe('create with credentials (connectIntegration workflow)', () => {
  /** The workflow validates the credentials and then inserts the integration. */
  async function connectSucceeds(_type: string, options: { args: [ConnectIntegrationInput] }) {
    const input = options.args[0];
    await db.dataSource.getRepository(Integration).insert({
      id: input.integrationId,
      tenantId: input.tenantId,
      provider: input.provider,
      authType: input.authType,
      displayName: input.displayName,
      status: 'active',
      region: input.region,
      config: input.config as never,
      requiredScopes: input.requiredScopes,
      credentialVersion: 1,
    });
    return { version: 1 };
  }

  function connectFails(type: string, message: string): WorkflowFailedError {
    return new WorkflowFailedError('Workflow execution failed', ApplicationFailure.create({ type, message, nonRetryable: true }), RetryState.NON_RETRYABLE_FAILURE);
  }

  test('runs connectIntegration with id connect:<id> and the secret, and answers the created integration', async () => {
    temporal.workflow.execute.mockImplementation(connectSucceeds);
    const view = await service.create(tenantId, { provider: 'sandbox', displayName: 'With token', credentials: { apiToken: 'tok_create_1' } });

    expect(temporal.workflow.execute).toHaveBeenCalledTimes(1);
    const [workflowType, options] = temporal.workflow.execute.mock.calls[0];
    expect(workflowType).toBe(CONNECT_INTEGRATION_WORKFLOW);
    expect(options).toMatchObject({ workflowId: `connect:${view.id}`, taskQueue: cfg.taskQueue, workflowExecutionTimeout: '2 minutes' });
    expect(options.args[0]).toMatchObject({
      integrationId: view.id,
      tenantId,
      provider: 'sandbox',
      authType: 'api_token',
      displayName: 'With token',
      secret: { apiToken: 'tok_create_1' },
    });
    expect(view).toMatchObject({ provider: 'sandbox', displayName: 'With token', status: 'active' });
    expect(JSON.stringify(view)).not.toContain('tok_create_1');
  });

  test.each([
    ['invalid_credentials', 422],
    ['account_mismatch', 422],
    ['crm_unavailable', 503],
  ])('the workflow fails with %s: %i, and no integration is left behind', async (type, httpStatus) => {
    temporal.workflow.execute.mockRejectedValue(connectFails(type, `because ${type}`));
    const before = await db.dataSource.getRepository(Integration).countBy({ tenantId });
    expect(await apiErrorOf(service.create(tenantId, { provider: 'sandbox', credentials: { apiToken: 'tok_bad' } }))).toEqual({ status: httpStatus, code: type });
    expect(await db.dataSource.getRepository(Integration).countBy({ tenantId })).toBe(before);
  });

  test('the credential that the provider needs is required: 400 before any workflow', async () => {
    expect(await apiErrorOf(service.create(tenantId, { provider: 'sandbox', credentials: { accessToken: 'at' } }))).toEqual({ status: 400, code: 'validation_error' });
    expect(await apiErrorOf(service.create(tenantId, { provider: 'hubspot', credentials: { apiToken: 'tok' } }))).toEqual({ status: 400, code: 'validation_error' });
    expect(await apiErrorOf(service.create(tenantId, { provider: 'no-such-crm' }))).toEqual({ status: 422, code: 'unknown_provider' });
    expect(temporal.workflow.execute).not.toHaveBeenCalled();
  });

  test('without credentials: created pending, no workflow', async () => {
    const view = await service.create(tenantId, { provider: 'sandbox' });
    expect(view).toMatchObject({ status: 'pending', credentials: null });
    expect(temporal.workflow.execute).not.toHaveBeenCalled();
  });
});

describe('view', () => {
  /** A credential version row as a swap or refresh writes it (the secret is opaque here). */
  async function credentialRow(integrationId: string, version: number, state: 'active' | 'superseded') {
    await db.dataSource.getRepository(CredentialVersion).insert({
      integrationId,
      tenantId,
      version,
      state,
      accountId: 'acct-1',
      userId: null,
      scopes: ['contacts'],
      expiresAt: null,
      region: null,
      baseUrl: null,
      keyId: 'k1',
      ciphertext: 'opaque',
      reauthorizationId: null,
      metadata: {},
    });
  }

  test('a refresh committing between reading the integration and its credentials: still the version the row names, never "no credentials"', async () => {
    const integration = await createIntegration(db.dataSource, tenantId, { credentialVersion: 1 });
    await credentialRow(integration.id, 1, 'active');
    // Read as GET /v1/integrations/:id does, then a refresh commits version 2 before the credentials are read.
    const row = await db.dataSource.getRepository(Integration).findOneByOrFail({ id: integration.id });
    await db.dataSource.getRepository(CredentialVersion).update({ integrationId: integration.id, version: 1 }, { state: 'superseded' });
    await credentialRow(integration.id, 2, 'active');
    await db.dataSource.getRepository(Integration).update({ id: integration.id }, { credentialVersion: 2 });

    const seen = await service.view(row);
    expect(seen.credentials).toMatchObject({ version: 1, accountId: 'acct-1' });
    expect((await service.view(await db.dataSource.getRepository(Integration).findOneByOrFail({ id: integration.id }))).credentials).toMatchObject({ version: 2 });
  });
});
