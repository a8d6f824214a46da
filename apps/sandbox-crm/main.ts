import { createSandboxCrm, DEFAULT_SANDBOX_CRM_HOST, DEFAULT_SANDBOX_CRM_PORT } from './sandbox-crm';

/** Standalone entry point: `node dist/apps/sandbox-crm/main.js`. */
async function main(): Promise<void> {
  const sandbox = await createSandboxCrm({
    port: parsePort(process.env.SANDBOX_CRM_PORT),
    host: process.env.SANDBOX_CRM_HOST || DEFAULT_SANDBOX_CRM_HOST,
  });
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

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_SANDBOX_CRM_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new Error(`SANDBOX_CRM_PORT must be an integer 0-65535, got "${raw}"`);
  return port;
}

main().catch((error: unknown) => {
  console.error('sandbox-crm failed to start:', error);
  process.exit(1);
});
