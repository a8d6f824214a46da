/**
 * Replays every recorded workflow history (test/replay/histories, see README.md there) against the
 * current workflow code. A change to a workflow that makes it issue other commands for the same
 * history — another activity, another order, a timer more or less — fails here with the file that
 * broke, before it can break the workflows already running in production.
 */
import { bundleWorkflowCode, DefaultLogger, type LogLevel, type ReplayResult, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KeyRing } from '../../libs/crypto/key-ring';
import { EncryptionCodec } from '../../libs/temporal/encryption-codec';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../libs/temporal/workflow-interceptors';
import * as workflows from '../../workflows';
import { historyFromFile } from '../support/history-recorder';

// The replay worker logs every state change; WORKFLOW_TEST_LOG_LEVEL=INFO shows it when debugging.
Runtime.install({ logger: new DefaultLogger((process.env.WORKFLOW_TEST_LOG_LEVEL as LogLevel | undefined) ?? 'ERROR') });

const HISTORIES = path.join(__dirname, 'histories');

/** The test-only key the histories were recorded with (comment lines start with #). */
function codecKeySpec(): string {
  return fs
    .readFileSync(path.join(__dirname, 'codec-keys.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join(',');
}

/** `<workflowType>/<name>.json`, relative to HISTORIES, sorted. */
function historyFiles(): string[] {
  return fs
    .readdirSync(HISTORIES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) =>
      fs
        .readdirSync(path.join(HISTORIES, dir.name))
        .filter((name) => name.endsWith('.json'))
        .map((name) => `${dir.name}/${name}`),
    )
    .sort();
}

const files = historyFiles();

describe('recorded workflow histories replay on the current workflow code', () => {
  const results = new Map<string, ReplayResult>();

  beforeAll(async () => {
    // Bundled once from the TypeScript sources: what this checkout's workers would run, interceptors included.
    const bundle: WorkflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      logger: new DefaultLogger('WARN'),
    });
    // The file name doubles as workflow id, so a result names the history it came from.
    const histories = files.map((file) => ({ workflowId: file, history: historyFromFile(fs.readFileSync(path.join(HISTORIES, file), 'utf8')) }));
    const replay = Worker.runReplayHistories(
      { workflowBundle: bundle, dataConverter: { payloadCodecs: [new EncryptionCodec(new KeyRing(codecKeySpec()))] } },
      histories,
    );
    for await (const result of replay) results.set(result.workflowId, result);
  }, 180_000);

  test('every workflow the worker runs has recorded histories', () => {
    const recordedTypes = new Set(files.map((file) => file.split('/')[0]));
    expect(Object.keys(workflows).filter((type) => !recordedTypes.has(type))).toEqual([]);
  });

  test.each(files)('%s', (file) => {
    const result = results.get(file);
    if (!result) throw new Error(`${file}: the replay worker returned no result for this history`);
    if (result.error) {
      const error = result.error as Error;
      throw new Error(`${file} no longer replays: ${error.name}: ${error.message}`, { cause: error });
    }
  });
});
