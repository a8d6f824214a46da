/**
 * Bundles `workflows/` ahead of time (part of `npm run build`) so workers start fast and run
 * exactly the code that was built; the worker falls back to bundling at start if the file is missing.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../libs/temporal/encryption-codec';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../libs/temporal/workflow-interceptors';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // Failures raised inside workflows are converted in the sandbox: it needs the same converter.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    // Log ids of every workflow and of the activities it schedules.
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} } as never,
  });
  const out = path.resolve(__dirname, '..', 'workflow-bundle.js');
  fs.writeFileSync(out, code);
  console.log(`workflow bundle: ${path.relative(process.cwd(), out)} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
