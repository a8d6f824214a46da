/**
 * `connectIntegration`: credentials are validated against the CRM before anything is created;
 * invalid ones fail the workflow with the error code and leave nothing behind.
 */
import { ApplicationFailure } from '@temporalio/common';
import { CONNECT_INTEGRATION_WORKFLOW, type ConnectIntegrationInput, type ConnectIntegrationWorkflow } from '../../libs/contracts';
import { applicationFailureOf, IDENTITY, rejectionOf, setUpWorkflowTestBed, stubActivities, type TestContext, uniqueId } from './support';

const bed = setUpWorkflowTestBed();

function connectInput(overrides: Partial<ConnectIntegrationInput> = {}): ConnectIntegrationInput {
  return {
    integrationId: uniqueId('integration'),
    tenantId: 'tenant-1',
    provider: 'pipedrive',
    authType: 'api_token',
    displayName: 'Sales CRM',
    region: 'eu',
    config: { pipeline: 'default' },
    requiredScopes: ['contacts.read'],
    secret: { apiToken: 'token-1' },
    expiresAt: null,
    ...overrides,
  };
}

function connect({ client, taskQueue }: TestContext, input: ConnectIntegrationInput): Promise<{ version: number }> {
  return client.workflow.execute<ConnectIntegrationWorkflow>(CONNECT_INTEGRATION_WORKFLOW, {
    taskQueue,
    workflowId: `connect:${input.integrationId}`,
    args: [input],
  });
}

describe('connectIntegration', () => {
  test.concurrent('valid credentials: the integration is created with them, then its refresh workflow is (re)started', async () => {
    const stubs = stubActivities({ createIntegrationWithCredentials: async () => ({ version: 1 }) });
    const input = connectInput();

    const result = await bed.withActivities(stubs, (test) => connect(test, input));

    expect(result).toEqual({ version: 1 });
    expect(stubs.validateInitialCredentials).toHaveBeenCalledTimes(1);
    expect(stubs.validateInitialCredentials).toHaveBeenCalledWith({
      tenantId: input.tenantId,
      provider: input.provider,
      secret: input.secret,
      region: input.region,
    });
    expect(stubs.createIntegrationWithCredentials).toHaveBeenCalledTimes(1);
    expect(stubs.createIntegrationWithCredentials).toHaveBeenCalledWith({
      integrationId: input.integrationId,
      tenantId: input.tenantId,
      provider: input.provider,
      authType: input.authType,
      displayName: input.displayName,
      region: input.region,
      config: input.config,
      requiredScopes: input.requiredScopes,
      credentials: { secret: input.secret, identity: IDENTITY, expiresAt: null, region: input.region, baseUrl: null },
    });
    expect(stubs.credentialsChanged).toHaveBeenCalledWith({ tenantId: input.tenantId, integrationId: input.integrationId });
    expect(stubs.credentialsChanged.mock.invocationCallOrder[0]).toBeGreaterThan(stubs.createIntegrationWithCredentials.mock.invocationCallOrder[0]);
  });

  test.concurrent('the scopes the caller declares are recorded when the CRM reports none; the CRM`s win otherwise', async () => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const withoutScopes = connectInput({ authType: 'oauth2', secret: { accessToken: 'a', refreshToken: 'r' }, expiresAt, scopes: ['declared'] });
    const withScopes = connectInput({ scopes: ['declared'] });
    const stubs = stubActivities({
      validateInitialCredentials: async ({ secret }) => (secret.accessToken ? { ...IDENTITY, scopes: [] } : IDENTITY),
    });

    await bed.withActivities(stubs, async (test) => {
      await connect(test, withoutScopes);
      await connect(test, withScopes);
    });

    const [first, second] = stubs.createIntegrationWithCredentials.mock.calls.map(([args]) => args);
    expect(first.credentials).toEqual({
      secret: withoutScopes.secret,
      identity: { ...IDENTITY, scopes: ['declared'] },
      expiresAt,
      region: withoutScopes.region,
      baseUrl: null,
    });
    expect(second.credentials.identity).toEqual(IDENTITY);
  });

  test.concurrent.each(['invalid_credentials', 'missing_scopes'])('%s: the workflow fails with that code and creates nothing', async (code) => {
    const stubs = stubActivities({
      validateInitialCredentials: async () => {
        throw ApplicationFailure.nonRetryable(`the CRM says ${code}`, code);
      },
    });

    const err = await bed.withActivities(stubs, (test) => rejectionOf(connect(test, connectInput())));

    const failure = applicationFailureOf(err);
    expect(failure.type).toBe(code);
    expect(failure.message).toBe(`the CRM says ${code}`);
    expect(stubs.validateInitialCredentials).toHaveBeenCalledTimes(1);
    expect(stubs.createIntegrationWithCredentials).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
  });

  test.concurrent('a CRM that stays unreachable: crm_unavailable after a few retries, nothing created', async () => {
    const stubs = stubActivities({
      validateInitialCredentials: async () => {
        // A fault the activity did not classify (socket error, timeout): retried, then given up on.
        throw new Error('socket hang up');
      },
    });

    const err = await bed.withActivities(stubs, (test) => rejectionOf(connect(test, connectInput())));

    expect(applicationFailureOf(err).type).toBe('crm_unavailable');
    expect(stubs.validateInitialCredentials.mock.calls.length).toBeGreaterThan(1);
    expect(stubs.createIntegrationWithCredentials).not.toHaveBeenCalled();
    expect(stubs.credentialsChanged).not.toHaveBeenCalled();
  });
});
