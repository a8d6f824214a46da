import { loadSandboxCrmConfig } from '../../libs/config/config';
import { createSandboxCrm } from './sandbox-crm';

/** Standalone entry point: `node dist/apps/sandbox-crm/main.js`. */
async function main(): Promise<void> {
  // SANDBOX_CRM_PORT, SANDBOX_CRM_HOST, SANDBOX_CRM_LOG, validated (a wrong one ends the process with a message).
  const sandbox = await createSandboxCrm(loadSandboxCrmConfig());
  // Scripts wait for this exact line to know the server is ready.
  process.stdout.write(`sandbox-crm listening on ${sandbox.url}\n`);

  let shuttingDown = false;
  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('sandbox-crm failed to shut down cleanly:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  console.error('sandbox-crm failed to start:', error);
  process.exit(1);
});
