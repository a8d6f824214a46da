/**
 * Test bed of the workflow tests: a real Temporal dev server (the CLI the project provisions), the
 * real workflow bundle, and activities replaced by jest stubs. The tests only use the workflows'
 * public surface: workflow names, inputs and results, signals/updates/queries (libs/contracts),
 * activity names and arguments, search attributes.
 *
 * One dev server and one worker per test file; tests may run concurrently: each test gets a
 * client that tags the workflows it starts with a key of its own, the tag travels to their
 * activities, children and continuations (test-key-interceptors.ts), and the worker hands each
 * activity call to the stubs of the test that key names.
 *
 * The dev server does not skip time, so tests keep timers short through the workflows' inputs
 * (expirations, retry windows, refresh margins) instead.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { type ActivityExecuteInput, type ActivityInboundCallsInterceptor, bundleWorkflowCode, DefaultLogger, type LogLevel, type Next, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { CrmIdentity } from '../../libs/domain/reauthorization';
import type { EmitEventInput } from '../../libs/domain/events';
import { provisionTemporalCli } from '../../libs/temporal/dev-server';
import { SEARCH_ATTRIBUTES } from '../../libs/temporal/search-attributes';
import { ROOT } from '../support/paths';
import { TEST_KEY_HEADER } from './test-key-interceptors';
// The activity contract as the workflows call it: the one line to change when it moves.
import type { Activities } from '../../activities';

export type WorkflowActivities = Activities;
/** Every activity as a jest mock, so tests can both script answers and read the calls. */
export type ActivityStubs = jest.Mocked<WorkflowActivities>;

// Worker and workflow logs would drown jest's output; WORKFLOW_TEST_LOG_LEVEL=INFO shows them when debugging.
Runtime.install({ logger: new DefaultLogger((process.env.WORKFLOW_TEST_LOG_LEVEL as LogLevel | undefined) ?? 'ERROR') });

/** What a stub throws for an activity the test did not expect to be called: fails loudly, never retried. */
export function unexpectedActivity(name: string): never {
  throw ApplicationFailure.nonRetryable(`activity ${name} is not stubbed in this test`, 'unexpected_activity');
}

/** The state hash the default `prepareAuthorizationAttempt` stub hands out for an attempt. */
export function stateHashOf(attempt: number): string {
  return `state-hash-${attempt}`;
}

/** The CRM account the default stubs say the integration is connected to (and new credentials belong to). */
export const ACCOUNT_ID = 'acct-1';
export const IDENTITY: CrmIdentity = { accountId: ACCOUNT_ID, userId: 'user-1', scopes: ['contacts.read'] };
/** Scopes the default `beginReauthorization` stub says new credentials must hold. */
export const REQUIRED_SCOPES = ['contacts.read', 'deals.read'];

/**
 * Default behaviour of each activity: bookkeeping succeeds, CRM calls accept, and the activities
 * whose answer shapes a test (refresh plans, re-sync rows) must be scripted by the test itself.
 */
function defaultActivities(): WorkflowActivities {
  return {
    // Reauthorization and connection.
    beginReauthorization: async (input) => ({
      integrationId: input.integrationId,
      tenantId: input.tenantId,
      provider: input.provider,
      authType: input.authType,
      credentialVersion: 1,
      accountId: ACCOUNT_ID,
      requiredScopes: REQUIRED_SCOPES,
    }),
    recordReauthorizationProgress: async () => undefined,
    credentialsChanged: async () => undefined,
    validateApiToken: async () => IDENTITY,
    swapCredentials: async () => ({ version: 2, alreadySwapped: false, previousStatus: 'active' }),
    prepareAuthorizationAttempt: async ({ attempt }) => ({ attempt, stateHash: stateHashOf(attempt) }),
    exchangeAuthorizationCode: async ({ attempt }) => ({ pendingCredentialId: `pending-${attempt}`, grantedScopes: null, region: null }),
    validatePendingCredentials: async () => IDENTITY,
    createIntegrationWithCredentials: async () => ({ version: 1 }),
    validateInitialCredentials: async () => IDENTITY,
    // Token refresh.
    loadRefreshPlan: async () => unexpectedActivity('loadRefreshPlan'),
    refreshCredentials: async () => unexpectedActivity('refreshCredentials'),
    checkCredentialHealth: async () => unexpectedActivity('checkCredentialHealth'),
    setIntegrationStatus: async () => ({ changed: false, previousStatus: 'active', superseded: false }),
    // Webhooks: no endpoint is subscribed unless a test says so.
    recordWebhookEvent: async () => ({ endpointIds: [], delivery: { retryInitialSeconds: 1, retryWindowSeconds: 60 } }),
    deliverWebhook: async () => ({ statusCode: 200, attempts: 1 }),
    markWebhookDeliveryFailed: async () => undefined,
    pageWebhookReplay: async () => unexpectedActivity('pageWebhookReplay'),
    finishWebhookReplay: async () => undefined,
    // Re-sync.
    beginResync: async () => undefined,
    markResyncEntityRunning: async () => undefined,
    importEntity: async () => ({ imported: 0, updated: 0, pages: 0 }),
    finishResyncEntity: async () => unexpectedActivity('finishResyncEntity'),
    completeResync: async () => unexpectedActivity('completeResync'),
    startResync: async ({ resyncId }) => resyncId,
    // Integration lifecycle: the integration exists and changes; its other workflows are not running.
    disableIntegration: async () => ({ found: true, changed: true, previousStatus: 'active' }),
    enableIntegration: async () => ({ found: true, changed: true, credentialVersion: 1 }),
    beginIntegrationDeletion: async () => ({ found: true }),
    destroyIntegration: async () => ({ found: true, credentialVersions: 1 }),
    endReauthorizationWorkflow: async () => 'not_running' as const,
    endTokenRefreshWorkflow: async () => 'not_running' as const,
    endResyncWorkflow: async () => 'not_running' as const,
    terminateIntegrationWorkflows: async () => ({ terminated: [] }),
    // Grants at the CRM: revoked when asked; no reauthorization is recommended unless a test scripts it.
    revokeSupersededGrant: async () => ({ outcome: 'revoked' as const }),
    recordGrantRevocationFailure: async () => undefined,
    revokeIntegrationGrants: async () => ({ revoked: 1, failed: 0 }),
    recommendReauthorization: async () => ({ raised: true }),
  };
}

/** All activities as jest mocks: the defaults above, with `overrides` in their place. */
export function stubActivities(overrides: Partial<WorkflowActivities> = {}): ActivityStubs {
  const implementations = { ...defaultActivities(), ...overrides };
  const stubs: Record<string, jest.Mock> = {};
  for (const [name, implementation] of Object.entries(implementations)) {
    stubs[name] = jest.fn(implementation as (...args: unknown[]) => unknown);
  }
  return stubs as unknown as ActivityStubs;
}

/** The events a run emitted, in order (arguments of `recordWebhookEvent`). */
export function emittedEvents(stubs: ActivityStubs): Array<EmitEventInput & { eventId: string }> {
  return stubs.recordWebhookEvent.mock.calls.map(([event]) => event);
}

export function emittedEventTypes(stubs: ActivityStubs): string[] {
  return emittedEvents(stubs).map((event) => event.type);
}

/** The first argument of every call of a stub. */
export function callArgs<A extends unknown[], R>(stub: jest.MockInstance<R, A>): A[0][] {
  return stub.mock.calls.map((args) => args[0]);
}

/** Repeats `check` (typically jest `expect`s) until it passes, then returns its value; rethrows its last error on timeout. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Waits for a promise to reject and returns what it rejected with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The ApplicationFailure behind a client error (WorkflowFailedError, WorkflowUpdateFailedError, …). */
export function applicationFailureOf(err: unknown): ApplicationFailure {
  for (let cause: unknown = err; cause instanceof Error; cause = (cause as Error & { cause?: unknown }).cause) {
    if (cause instanceof ApplicationFailure) return cause;
  }
  throw new Error(`no ApplicationFailure behind ${String(err)}`, { cause: err });
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** What a test works with: a client whose workflows run on the test's stubs, and the task queue to start them on. */
export interface TestContext {
  client: Client;
  taskQueue: string;
}

export interface WorkflowTestBed {
  /** A client for what needs no stubs: handles of workflows by id (describe, cancel, result). */
  readonly client: Client;
  /** Runs `body` with workflows it starts (through `context.client`) calling these activity stubs. */
  withActivities<T>(activities: ActivityStubs, body: (context: TestContext) => Promise<T>): Promise<T>;
}

export interface TestBedOptions {
  /** Dev server dynamic config (`--dynamic-config-value key=value`), e.g. history limits. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

// Bundled once per test file, shared by the test beds of that file.
let bundle: Promise<WorkflowBundle> | undefined;
function testBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: [require.resolve('./test-key-interceptors')],
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}

/**
 * Starts a dev server and a worker (with the real workflow bundle) before the tests of the
 * enclosing block, stops them after. Call at the top of a test file (or of a `describe`).
 */
export function setUpWorkflowTestBed(options: TestBedOptions = {}): WorkflowTestBed {
  const taskQueue = uniqueId('workflow-tests');
  const stubsByTestKey = new Map<string, ActivityStubs>();
  const testKeyOfActivity = new AsyncLocalStorage<string | undefined>();
  let env: TestWorkflowEnvironment | undefined;
  let worker: Worker | undefined;
  let crmWorker: Worker | undefined;
  let running: Promise<void> | undefined;

  /** Every activity of the contract, handed to the stubs of the test whose workflow called it. */
  const dispatcher = Object.fromEntries(
    Object.keys(defaultActivities()).map((name) => [
      name,
      (...args: unknown[]) => {
        const key = testKeyOfActivity.getStore();
        const stubs = key === undefined ? undefined : stubsByTestKey.get(key);
        if (!stubs) throw ApplicationFailure.nonRetryable(`activity ${name} called by a workflow no test started`, 'unexpected_activity');
        return (stubs[name as keyof ActivityStubs] as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  );

  /** Hands each activity to the stubs of the test whose workflow called it (the header says which). */
  const testKeyInterceptor = () => ({
    inbound: {
      execute: (input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) => {
        const header = input.headers[TEST_KEY_HEADER];
        return testKeyOfActivity.run(header ? defaultPayloadConverter.fromPayload<string>(header) : undefined, () => next(input));
      },
    },
  });

  beforeAll(async () => {
    const cli = await provisionTemporalCli(ROOT);
    const extraArgs = Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
    // Eager activities: an activity scheduled by a workflow task comes back with that task's
    // completion instead of through another poll, which makes each step several times faster.
    const dynamicConfig = { 'system.enableActivityEagerExecution': true, ...options.dynamicConfig };
    for (const [key, value] of Object.entries(dynamicConfig)) {
      extraArgs.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
    }
    const [startedEnv, workflowBundle] = await Promise.all([
      TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1', log: { format: 'json', level: 'error' }, extraArgs },
      }),
      testBundle(),
    ]);
    env = startedEnv;
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle,
      activities: dispatcher,
      interceptors: { activity: [testKeyInterceptor] },
    });
    // And one on the CRM task queue `<taskQueue>.crm.test`, for workflows that send CRM calls there.
    crmWorker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: `${taskQueue}.crm.test`,
      activities: dispatcher,
      interceptors: { activity: [testKeyInterceptor] },
    });
    running = Promise.all([worker.run(), crmWorker.run()]).then(() => undefined);
  }, 60_000);

  afterAll(async () => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    if (crmWorker && crmWorker.getState() === 'RUNNING') crmWorker.shutdown();
    await running;
    await env?.teardown();
  });

  const startedEnv = (): TestWorkflowEnvironment => {
    if (!env) throw new Error('the workflow test bed is not set up (did its beforeAll fail?)');
    return env;
  };

  return {
    get client() {
      return startedEnv().client;
    },
    async withActivities(activities, body) {
      const testKey = randomUUID();
      stubsByTestKey.set(testKey, activities);
      const client = new Client({
        connection: startedEnv().connection,
        namespace: startedEnv().namespace,
        interceptors: {
          workflow: [
            {
              startWithDetails: (input, next) =>
                next({ ...input, headers: { ...input.headers, [TEST_KEY_HEADER]: defaultPayloadConverter.toPayload(testKey) } }),
            },
          ],
        },
      });
      // The stubs stay registered: workflows a test leaves running keep calling its own stubs, never another test's.
      return body({ client, taskQueue });
    },
  };
}
