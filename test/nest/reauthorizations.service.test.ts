/**
 * ReauthorizationsService with the Temporal Client replaced by a jest mock (overrideProvider(Client)):
 * how start (update-with-start), submitApiToken and cancel (updates) talk to the workflow, and how
 * the workflow's answers and refusals become HTTP statuses. The mock plays the workflow's part
 * where the service reads back what the workflow records (the reauthorization row). Real Postgres.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { ApplicationFailure, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { AuthModule } from '../../apps/api/auth/auth.module';
import { ApiError } from '../../apps/api/common/api-error';
import { ReauthorizationsModule } from '../../apps/api/reauthorizations/reauthorizations.module';
import { ReauthorizationsService } from '../../apps/api/reauthorizations/reauthorizations.service';
import { awaitStartedUpdate, cancelUpdate, REAUTHORIZATION_WORKFLOW, submitApiTokenUpdate } from '../../libs/contracts';
import type { KeyRing } from '../../libs/crypto/key-ring';
import { Reauthorization } from '../../libs/db/entities';
import type { ReauthorizationInput, ReauthorizationStatus } from '../../libs/domain/reauthorization';
import { CoreModule } from '../../libs/nest/core.module';
import { TemporalClientModule } from '../../libs/nest/temporal-client.module';
import { CREDENTIALS_KEY_RING } from '../../libs/nest/tokens';
import { createTestDatabase, TestDataSourceModule, type TestDatabase } from './support/database';
import { configureOAuthApp, createApiKey, createIntegration, createReauthorizationRow, createTenant, testConfig } from './support/fixtures';
import { call, expectErrorShape, type RunningApi, startApi } from './support/http';
import { createTemporalClientMock, grpcError, overrideTemporal, type TemporalClientMock } from './support/temporal-mocks';

const cfg = testConfig({ reauthDefaultExpirySeconds: 7200 });

let db: TestDatabase;
let moduleRef: TestingModule;
let temporal: TemporalClientMock;
let service: ReauthorizationsService;
let ring: KeyRing;
let tenantId: string;
let otherTenantId: string;

beforeAll(async () => {
  db = await createTestDatabase('reauthorizations');
  temporal = createTemporalClientMock();
  moduleRef = await overrideTemporal(
    Test.createTestingModule({
      imports: [CoreModule.forRoot(cfg), TestDataSourceModule.of(db.dataSource), TemporalClientModule, AuthModule, ReauthorizationsModule],
    }),
    temporal,
  ).compile();
  service = moduleRef.get(ReauthorizationsService);
  ring = moduleRef.get(CREDENTIALS_KEY_RING);
  tenantId = await createTenant(db.dataSource, 'reauth-tenant');
  otherTenantId = await createTenant(db.dataSource, 'reauth-other-tenant');
});

afterAll(async () => {
  await moduleRef?.close();
  await db?.drop();
});

beforeEach(() => {
  // Fresh answers for every test; the handle stays the one getHandle returns.
  for (const fn of [...Object.values(temporal.workflow), ...Object.values(temporal.handle)]) fn.mockReset();
  temporal.workflow.getHandle.mockImplementation(() => temporal.handle);
  temporal.connection.withDeadline.mockClear();
});

function status(id: string, integrationId: string, outcome: ReauthorizationStatus['outcome'] = null): ReauthorizationStatus {
  return {
    id,
    integrationId,
    phase: outcome === null ? 'awaiting_user' : 'completed',
    outcome,
    error: null,
    attempts: 0,
    expiresAt: null,
    credentialVersion: null,
    resyncId: null,
  };
}

type StartOperation = WithStartWorkflowOperation<(input: ReauthorizationInput) => Promise<ReauthorizationStatus>>;

/** The start operation of the n-th update-with-start call. */
function startOperation(call = 0): StartOperation {
  return temporal.workflow.executeUpdateWithStart.mock.calls[call][1].startWorkflowOperation as StartOperation;
}

/** The workflow starts: its first activity records the row (with a sealed link token), then awaitStarted answers. */
async function workflowStarts(_update: unknown, options: { startWorkflowOperation: StartOperation }): Promise<ReauthorizationStatus> {
  const input = options.startWorkflowOperation.options.args[0];
  await createReauthorizationRow(db.dataSource, ring, { id: input.integrationId, tenantId: input.tenantId, authType: input.authType }, { id: input.reauthorizationId });
  return status(input.reauthorizationId, input.integrationId);
}

function updateFailed(type: string | undefined, message: string): WorkflowUpdateFailedError {
  return new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, message, nonRetryable: true }));
}

/** The ApiError a promise rejects with, as `{status, code, message}`. */
async function apiErrorOf(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${err instanceof Error ? err.stack : String(err)}`);
  return { status: err.getStatus(), code: err.code, message: (err.getResponse() as { error: { message: string } }).error.message };
}

describe('start', () => {
  test('starts the reauthorization workflow with update-with-start, under a deadline, and answers created', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockImplementation(workflowStarts);
    const before = Date.now();

    const { created, body } = await service.start(tenantId, integration.id, { reason: 'token revoked', scopes: ['contacts.read'], fullResync: true });

    expect(temporal.workflow.executeUpdateWithStart).toHaveBeenCalledTimes(1);
    const [update, options] = temporal.workflow.executeUpdateWithStart.mock.calls[0];
    expect(update).toBe(awaitStartedUpdate);
    expect(Object.keys(options)).toEqual(['startWorkflowOperation']);
    const op = startOperation();
    expect(op).toBeInstanceOf(WithStartWorkflowOperation);
    expect(op.workflowTypeOrFunc).toBe(REAUTHORIZATION_WORKFLOW);
    expect(op.options).toMatchObject({ workflowId: `reauth:${integration.id}`, taskQueue: cfg.taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' });
    const input: ReauthorizationInput = op.options.args[0];
    expect(input).toEqual({
      reauthorizationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      tenantId,
      integrationId: integration.id,
      provider: 'sandbox',
      authType: 'api_token',
      fullResync: true,
      scopes: ['contacts.read'],
      region: null,
      reason: 'token revoked',
      expiresInSeconds: 7200,
      allowAccountChange: false,
    });

    // The HTTP request may not hang on a Temporal that does not answer: 30 s deadline.
    const [deadline] = temporal.connection.withDeadline.mock.calls[0];
    expect(Number(deadline) - before).toBeGreaterThanOrEqual(29_000);
    expect(Number(deadline) - before).toBeLessThanOrEqual(31_000);

    expect(created).toBe(true);
    const row = await db.dataSource.getRepository(Reauthorization).findOneByOrFail({ id: input.reauthorizationId });
    expect(body).toEqual({
      id: input.reauthorizationId,
      integrationId: integration.id,
      workflowId: `reauth:${integration.id}`,
      authType: 'api_token',
      phase: 'awaiting_user',
      linkToken: expect.any(String),
      linkUrl: `${cfg.publicUrl}/connect/${body.linkToken}`,
      authorizeUrl: undefined,
      expiresAt: row.expiresAt.toISOString(),
      fullResync: false,
    });
    // The link token shown is the one the workflow sealed on the row.
    expect(body.linkToken).toBe(ring.openJson({ keyId: row.linkTokenKeyId, data: row.linkTokenCiphertext }, `link:${row.id}`));
  });

  test('defaults: no scopes, no region or reason, expiry from the configuration', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockImplementation(workflowStarts);
    await service.start(tenantId, integration.id, {});
    expect(startOperation().options.args[0]).toMatchObject({
      fullResync: false,
      scopes: [],
      region: null,
      reason: null,
      expiresInSeconds: cfg.reauthDefaultExpirySeconds,
      allowAccountChange: false,
    });
  });

  test('a reauthorization already running is joined: its id, created false', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row: running, linkToken } = await createReauthorizationRow(db.dataSource, ring, integration);
    temporal.workflow.executeUpdateWithStart.mockResolvedValue(status(running.id, integration.id));

    const { created, body } = await service.start(tenantId, integration.id, {});
    expect(created).toBe(false);
    expect(body).toMatchObject({ id: running.id, linkToken, linkUrl: `${cfg.publicUrl}/connect/${linkToken}` });
  });

  test('a running one that is finishing is waited out, then a new one starts', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row: finishing } = await createReauthorizationRow(db.dataSource, ring, integration, { outcome: 'succeeded' });
    temporal.workflow.executeUpdateWithStart
      .mockResolvedValueOnce(status(finishing.id, integration.id, 'succeeded'))
      .mockResolvedValueOnce(status(finishing.id, integration.id, 'succeeded'))
      .mockImplementation(workflowStarts);

    const { created, body } = await service.start(tenantId, integration.id, {});
    expect(temporal.workflow.executeUpdateWithStart).toHaveBeenCalledTimes(3);
    expect(created).toBe(true);
    expect(body.id).not.toBe(finishing.id);
    // Each try is a new start operation with the same reauthorization id (an operation is single-use).
    const ids = [0, 1, 2].map((i) => startOperation(i).options.args[0].reauthorizationId);
    expect(new Set(ids).size).toBe(1);
    expect(new Set([0, 1, 2].map((i) => startOperation(i))).size).toBe(3);
  });

  test('a running one that closes before taking the update (FAILED_PRECONDITION for the whole operation) is started again', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart
      .mockRejectedValueOnce(grpcError(9, '9 FAILED_PRECONDITION: Update-with-Start could not be executed.'))
      .mockImplementation(workflowStarts);

    const { created } = await service.start(tenantId, integration.id, {});
    expect(created).toBe(true);
    expect(temporal.workflow.executeUpdateWithStart).toHaveBeenCalledTimes(2);
  });

  test('a reauthorization that keeps closing under us: 409 reauthorization_finishing, never a 500', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockRejectedValue(grpcError(9, '9 FAILED_PRECONDITION: Update-with-Start could not be executed.'));
    expect(await apiErrorOf(service.start(tenantId, integration.id, {}))).toMatchObject({ status: 409, code: 'reauthorization_finishing' });
  }, 60_000);

  test('the workflow refuses (update rejected with a type): 422 with that type and message', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockRejectedValue(updateFailed('integration_not_found', 'integration no longer exists'));
    expect(await apiErrorOf(service.start(tenantId, integration.id, {}))).toEqual({
      status: 422,
      code: 'integration_not_found',
      message: 'integration no longer exists',
    });
  });

  test('the workflow refuses without a type: 422 reauthorization_failed', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockRejectedValue(updateFailed(undefined, 'no'));
    expect(await apiErrorOf(service.start(tenantId, integration.id, {}))).toMatchObject({ status: 422, code: 'reauthorization_failed', message: 'no' });
  });

  test.each([
    ['DEADLINE_EXCEEDED', 4],
    ['UNAVAILABLE', 14],
  ])('Temporal does not answer (%s): 503 temporal_unavailable, without the gRPC details', async (_, code) => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockRejectedValue(grpcError(code, '14 UNAVAILABLE: No connection established to 10.0.0.7:7233'));
    expect(await apiErrorOf(service.start(tenantId, integration.id, {}))).toEqual({
      status: 503,
      code: 'temporal_unavailable',
      message: 'The reauthorization could not be started in time. Try again shortly.',
    });
  });

  test('any other failure is not dressed up as an API error (the filter makes it a generic 500)', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const boom = new Error('bug in the client');
    temporal.workflow.executeUpdateWithStart.mockRejectedValue(boom);
    await expect(service.start(tenantId, integration.id, {})).rejects.toBe(boom);
  });

  test('unknown, malformed or another tenant\'s integration: 404 before anything reaches Temporal', async () => {
    const ofOther = await createIntegration(db.dataSource, otherTenantId);
    for (const id of [ofOther.id, randomUUID(), 'not-a-uuid', "1' OR '1'='1"]) {
      expect(await apiErrorOf(service.start(tenantId, id, {}))).toEqual({ status: 404, code: 'not_found', message: 'integration not found' });
    }
    expect(temporal.workflow.executeUpdateWithStart).not.toHaveBeenCalled();
  });

  test('OAuth integration without an OAuth app configured: 422 provider_not_configured, Temporal untouched', async () => {
    const integration = await createIntegration(db.dataSource, tenantId, { provider: 'hubspot', authType: 'oauth2' });
    expect(await apiErrorOf(service.start(tenantId, integration.id, {}))).toMatchObject({
      status: 422,
      code: 'provider_not_configured',
      message: expect.stringContaining('PUT /v1/providers/hubspot'),
    });
    expect(temporal.workflow.executeUpdateWithStart).not.toHaveBeenCalled();
  });

  test('region: must be one of the provider\'s data centers (400), and is passed on when it is', async () => {
    const zohoTenant = await createTenant(db.dataSource);
    await configureOAuthApp(db.dataSource, ring, zohoTenant, 'zoho');
    const integration = await createIntegration(db.dataSource, zohoTenant, { provider: 'zoho', authType: 'oauth2' });
    expect(await apiErrorOf(service.start(zohoTenant, integration.id, { region: 'mars' }))).toEqual({
      status: 400,
      code: 'validation_error',
      message: 'region "mars" is not a data center of zoho',
    });
    expect(temporal.workflow.executeUpdateWithStart).not.toHaveBeenCalled();

    temporal.workflow.executeUpdateWithStart.mockImplementation(workflowStarts);
    const { body } = await service.start(zohoTenant, integration.id, { region: 'eu' });
    expect(startOperation().options.args[0]).toMatchObject({ authType: 'oauth2', provider: 'zoho', region: 'eu' });
    expect(body.authType).toBe('oauth2');
  });

  test('region on a provider without data centers: 400', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    expect(await apiErrorOf(service.start(tenantId, integration.id, { region: 'eu' }))).toMatchObject({ status: 400, code: 'validation_error' });
  });
});

describe('submitApiToken', () => {
  test('hands the token to the run of the row with the submitApiToken update, then answers the row as it is now', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration, { runId: 'run-submit-1' });
    temporal.handle.executeUpdate.mockImplementation(async () => {
      // The workflow validated and swapped the token before answering.
      await db.dataSource.getRepository(Reauthorization).update({ id: row.id }, { outcome: 'succeeded', phase: 'completed', completedAt: new Date() });
      return { ...status(row.id, integration.id, 'succeeded'), credentialVersion: 2 };
    });

    const view = await service.submitApiToken(tenantId, row.id, 'tok_new_123');

    expect(temporal.workflow.getHandle).toHaveBeenCalledWith(`reauth:${integration.id}`, 'run-submit-1');
    expect(temporal.handle.executeUpdate).toHaveBeenCalledTimes(1);
    expect(temporal.handle.executeUpdate).toHaveBeenCalledWith(submitApiTokenUpdate, { args: [{ apiToken: 'tok_new_123' }] });
    expect(view).toMatchObject({ id: row.id, outcome: 'succeeded', phase: 'completed' });
    // Closed: the link is no longer shown; the token never is.
    expect(view).not.toHaveProperty('linkToken');
    expect(JSON.stringify(view)).not.toContain('tok_new_123');
  });

  test('a row without a run id addresses the workflow id alone', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration, { runId: null });
    temporal.handle.executeUpdate.mockResolvedValue(status(row.id, integration.id));
    await service.submitApiToken(tenantId, row.id, 'tok');
    expect(temporal.workflow.getHandle).toHaveBeenCalledWith(`reauth:${integration.id}`, undefined);
  });

  test.each([
    ['invalid_credentials', 422],
    ['account_mismatch', 422],
    ['missing_scopes', 422],
    ['reauthorization_closed', 409],
    ['crm_unavailable', 503],
  ])('the update fails with %s: %i with that code and the workflow\'s message', async (type, httpStatus) => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    temporal.handle.executeUpdate.mockRejectedValue(updateFailed(type, `because ${type}`));
    expect(await apiErrorOf(service.submitApiToken(tenantId, row.id, 'tok'))).toEqual({ status: httpStatus, code: type, message: `because ${type}` });
  });

  test('the update\'s validator rejects the input (an untyped or unknown failure): 400 invalid_request', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    for (const type of [undefined, 'something_else']) {
      temporal.handle.executeUpdate.mockRejectedValueOnce(updateFailed(type, 'apiToken is required'));
      expect(await apiErrorOf(service.submitApiToken(tenantId, row.id, 'tok'))).toEqual({ status: 400, code: 'invalid_request', message: 'apiToken is required' });
    }
  });

  test('the workflow is gone (finished meanwhile): 409 reauthorization_closed', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    temporal.handle.executeUpdate.mockRejectedValue(new WorkflowNotFoundError('workflow not found', row.workflowId, row.runId ?? undefined));
    expect(await apiErrorOf(service.submitApiToken(tenantId, row.id, 'tok'))).toEqual({
      status: 409,
      code: 'reauthorization_closed',
      message: 'This reauthorization is already finished. Start a new one.',
    });
  });

  test('an already closed reauthorization: 409 reauthorization_closed without calling the workflow', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration, { outcome: 'expired' });
    expect(await apiErrorOf(service.submitApiToken(tenantId, row.id, 'tok'))).toEqual({
      status: 409,
      code: 'reauthorization_closed',
      message: 'This reauthorization is already expired. Start a new one.',
    });
    expect(temporal.handle.executeUpdate).not.toHaveBeenCalled();
  });

  test('an OAuth reauthorization takes no API token: 409 wrong_auth_type', async () => {
    const integration = await createIntegration(db.dataSource, tenantId, { provider: 'hubspot', authType: 'oauth2' });
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    expect(await apiErrorOf(service.submitApiToken(tenantId, row.id, 'tok'))).toMatchObject({ status: 409, code: 'wrong_auth_type' });
    expect(temporal.handle.executeUpdate).not.toHaveBeenCalled();
  });

  test('another tenant\'s, unknown or malformed reauthorization id: 404, workflow untouched', async () => {
    const integration = await createIntegration(db.dataSource, otherTenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    for (const id of [row.id, randomUUID(), 'nope']) {
      expect(await apiErrorOf(service.submitApiToken(tenantId, id, 'tok'))).toEqual({ status: 404, code: 'not_found', message: 'reauthorization not found' });
    }
    expect(temporal.workflow.getHandle).not.toHaveBeenCalled();
  });
});

describe('cancel', () => {
  test('sends the cancel update with the reason to the row\'s run', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration, { runId: 'run-cancel-1' });
    temporal.handle.executeUpdate.mockResolvedValue(status(row.id, integration.id, 'cancelled'));

    const view = await service.cancel(tenantId, row.id, 'customer gave up');
    expect(temporal.workflow.getHandle).toHaveBeenCalledWith(`reauth:${integration.id}`, 'run-cancel-1');
    expect(temporal.handle.executeUpdate).toHaveBeenCalledWith(cancelUpdate, { args: [{ reason: 'customer gave up' }] });
    expect(view.id).toBe(row.id);
  });

  test('without a reason', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    temporal.handle.executeUpdate.mockResolvedValue(status(row.id, integration.id, 'cancelled'));
    await service.cancel(tenantId, row.id);
    expect(temporal.handle.executeUpdate).toHaveBeenCalledWith(cancelUpdate, { args: [{ reason: undefined }] });
  });

  test('already closed: 409 reauthorization_closed, without calling the workflow', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration, { outcome: 'succeeded' });
    expect(await apiErrorOf(service.cancel(tenantId, row.id))).toEqual({
      status: 409,
      code: 'reauthorization_closed',
      message: 'This reauthorization is already succeeded.',
    });
    expect(temporal.handle.executeUpdate).not.toHaveBeenCalled();
  });

  test('closed meanwhile (the workflow answers reauthorization_closed, or is gone): 409', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    temporal.handle.executeUpdate.mockRejectedValueOnce(updateFailed('reauthorization_closed', 'already finished'));
    expect(await apiErrorOf(service.cancel(tenantId, row.id))).toMatchObject({ status: 409, code: 'reauthorization_closed' });
    temporal.handle.executeUpdate.mockRejectedValueOnce(new WorkflowNotFoundError('not found', row.workflowId, undefined));
    expect(await apiErrorOf(service.cancel(tenantId, row.id))).toMatchObject({ status: 409, code: 'reauthorization_closed' });
  });

  test('another tenant\'s reauthorization: 404', async () => {
    const integration = await createIntegration(db.dataSource, otherTenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    expect(await apiErrorOf(service.cancel(tenantId, row.id))).toMatchObject({ status: 404, code: 'not_found' });
    expect(temporal.handle.executeUpdate).not.toHaveBeenCalled();
  });
});

describe('over HTTP (controllers, guard, filter)', () => {
  let api: RunningApi;
  let key: string;

  beforeAll(async () => {
    api = await startApi(moduleRef);
    key = await createApiKey(db.dataSource, tenantId);
  });

  afterAll(async () => {
    // The testing module is closed with the file; only stop listening here.
    await new Promise((resolve) => api.app.getHttpServer().close(resolve));
  });

  test('POST /v1/integrations/:id/reauthorizations: 201 when started, 200 when joined', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockImplementation(workflowStarts);
    const first = await call(api.url, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key, json: { reason: 'expired token' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ integrationId: integration.id, phase: 'awaiting_user', linkUrl: expect.stringContaining('/connect/') });

    temporal.workflow.executeUpdateWithStart.mockReset().mockResolvedValue(status(first.body.id, integration.id));
    const second = await call(api.url, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key, json: {} });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.linkToken).toBe(first.body.linkToken);
  });

  test('POST /v1/link-tokens: the Truto-style alias, 201 with snake_case fields', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockImplementation(workflowStarts);
    const res = await call(api.url, 'POST', '/v1/link-tokens', { key, json: { integrated_account_id: integration.id } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['expires_at', 'integrated_account_id', 'link_token', 'link_url', 'reauthorization_id']);
    expect(res.body.link_url).toBe(`${cfg.publicUrl}/connect/${res.body.link_token}`);
  });

  test('refusals reach the client in the error shape: 422, 503, 409', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    temporal.workflow.executeUpdateWithStart.mockRejectedValueOnce(updateFailed('integration_not_found', 'integration no longer exists'));
    expectErrorShape(
      await call(api.url, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key, json: {} }),
      422,
      'integration_not_found',
      'integration no longer exists',
    );
    temporal.workflow.executeUpdateWithStart.mockRejectedValueOnce(grpcError(4, 'deadline exceeded at 10.1.2.3:7233'));
    const unavailable = await call(api.url, 'POST', `/v1/integrations/${integration.id}/reauthorizations`, { key, json: {} });
    expectErrorShape(unavailable, 503, 'temporal_unavailable');
    expect(unavailable.text).not.toContain('10.1.2.3');

    const { row } = await createReauthorizationRow(db.dataSource, ring, integration, { outcome: 'cancelled' });
    expectErrorShape(await call(api.url, 'POST', `/v1/reauthorizations/${row.id}/api-token`, { key, json: { apiToken: 'tok' } }), 409, 'reauthorization_closed');
    expectErrorShape(await call(api.url, 'POST', `/v1/reauthorizations/${row.id}/cancel`, { key, json: {} }), 409, 'reauthorization_closed');
  });

  test('POST /v1/reauthorizations/:id/api-token: 200 with the view; invalid token 422; bad body 400 before Temporal', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    temporal.handle.executeUpdate.mockResolvedValueOnce(status(row.id, integration.id));
    const ok = await call(api.url, 'POST', `/v1/reauthorizations/${row.id}/api-token`, { key, json: { apiToken: 'tok_ok' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: row.id, outcome: null });

    temporal.handle.executeUpdate.mockRejectedValueOnce(updateFailed('invalid_credentials', 'The CRM rejected this API token'));
    expectErrorShape(
      await call(api.url, 'POST', `/v1/reauthorizations/${row.id}/api-token`, { key, json: { apiToken: 'tok_bad' } }),
      422,
      'invalid_credentials',
      'The CRM rejected this API token',
    );

    temporal.handle.executeUpdate.mockClear();
    expectErrorShape(await call(api.url, 'POST', `/v1/reauthorizations/${row.id}/api-token`, { key, json: { apiToken: 'has space' } }), 400, 'validation_error');
    expect(temporal.handle.executeUpdate).not.toHaveBeenCalled();
  });

  test('another tenant\'s key: 404 on every reauthorization route', async () => {
    const integration = await createIntegration(db.dataSource, tenantId);
    const { row } = await createReauthorizationRow(db.dataSource, ring, integration);
    const otherKey = await createApiKey(db.dataSource, otherTenantId);
    for (const [method, path, json] of [
      ['GET', `/v1/reauthorizations/${row.id}`, undefined],
      ['POST', `/v1/reauthorizations/${row.id}/api-token`, { apiToken: 'tok' }],
      ['POST', `/v1/reauthorizations/${row.id}/cancel`, {}],
      ['POST', `/v1/integrations/${integration.id}/reauthorizations`, {}],
    ] as const) {
      expectErrorShape(await call(api.url, method, path, { key: otherKey, json }), 404, 'not_found');
    }
    expect(temporal.workflow.executeUpdateWithStart).not.toHaveBeenCalled();
    expect(temporal.handle.executeUpdate).not.toHaveBeenCalled();
  });
});
