/**
 * Jest stand-ins for the Temporal `Client` and `Connection` the API injects (providers `Client` and
 * TEMPORAL_CONNECTION of libs/nest/temporal-client.module.ts), so no Temporal server is needed.
 * Only the members the API calls exist; each test sets the answers it needs.
 */
import type { TestingModuleBuilder } from '@nestjs/testing';
import { Client } from '@temporalio/client';
import { TEMPORAL_CONNECTION } from '../../../libs/nest/temporal-client.module';

/** What `client.workflow.getHandle()` returns. */
export interface WorkflowHandleMock {
  executeUpdate: jest.Mock;
  signal: jest.Mock;
  query: jest.Mock;
  cancel: jest.Mock;
}

export interface TemporalClientMock {
  connection: { withDeadline: jest.Mock };
  workflow: {
    executeUpdateWithStart: jest.Mock;
    signalWithStart: jest.Mock;
    execute: jest.Mock;
    start: jest.Mock;
    getHandle: jest.Mock;
  };
  /** The one handle `getHandle` gives out, whatever the id. */
  handle: WorkflowHandleMock;
}

export function createTemporalClientMock(): TemporalClientMock {
  const handle: WorkflowHandleMock = { executeUpdate: jest.fn(), signal: jest.fn(), query: jest.fn(), cancel: jest.fn() };
  return {
    // The real one runs the call under a gRPC deadline; the mock just runs it.
    connection: { withDeadline: jest.fn((_deadline: number | Date, fn: () => Promise<unknown>) => fn()) },
    workflow: {
      executeUpdateWithStart: jest.fn(),
      signalWithStart: jest.fn(async () => undefined),
      execute: jest.fn(),
      start: jest.fn(),
      getHandle: jest.fn(() => handle),
    },
    handle,
  };
}

export interface TemporalConnectionMock {
  workflowService: { getSystemInfo: jest.Mock; describeTaskQueue: jest.Mock };
  close: jest.Mock;
}

export function createTemporalConnectionMock(): TemporalConnectionMock {
  return {
    workflowService: { getSystemInfo: jest.fn(async () => ({})), describeTaskQueue: jest.fn(async () => ({ pollers: [] })) },
    close: jest.fn(async () => undefined),
  };
}

/** Replaces both providers of TemporalClientModule: nothing dials Temporal. */
export function overrideTemporal(
  builder: TestingModuleBuilder,
  client: TemporalClientMock = createTemporalClientMock(),
  connection: TemporalConnectionMock = createTemporalConnectionMock(),
): TestingModuleBuilder {
  return builder.overrideProvider(Client).useValue(client).overrideProvider(TEMPORAL_CONNECTION).useValue(connection);
}

/** A gRPC status error as @temporalio/client surfaces it (`code` 4 = DEADLINE_EXCEEDED, 14 = UNAVAILABLE). */
export function grpcError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code });
}
