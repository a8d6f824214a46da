/**
 * `npm start`: the whole system on embedded defaults, one command, one Ctrl-C.
 * Temporal dev server (with UI) → Postgres (DATABASE_URL or embedded) → sandbox CRM → worker → API.
 * Each of these can be swapped for a real service by environment variable (see the README).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateApiKey } from '../apps/api/auth/api-keys.service';
import { codecCorsOrigins } from '../apps/api/codec/codec-cors';
import { startDevUiCodec, type DevUiCodec } from '../apps/api/codec/dev-ui-codec';
import { APP_SECTION, DEV_TOOLS_SECTION, loadSections, START_SECTION } from '../libs/config/config';
import { resolveKeySpecs } from '../libs/crypto/key-ring';
import { startEmbeddedPostgres, type EmbeddedPg } from '../libs/dev/embedded-postgres';
import { spawnService, waitForHttp, type ServiceProcess } from '../libs/dev/service-process';
import { provisionTemporalCli, startDevServer, type DevServer } from '../libs/temporal/dev-server';

const COLORS: Record<string, string> = { api: '\x1b[36m', worker: '\x1b[35m', 'sandbox-crm': '\x1b[33m', start: '\x1b[32m' };
const tty = process.stdout.isTTY;
function say(name: string, line: string): void {
  const tag = `[${name}]`.padEnd(14);
  process.stdout.write(`${tty ? (COLORS[name] ?? '') + tag + '\x1b[0m' : tag}${line}\n`);
}

let shutdownRef: ((code: number) => Promise<never>) | undefined;

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  process.chdir(root);
  // After chdir: DATA_DIR is relative to the project. All settings are checked here, before anything starts.
  const { app: cfg, start, devTools } = loadSections({ app: APP_SECTION, start: START_SECTION, devTools: DEV_TOOLS_SECTION });
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  // The children get our environment (and so every setting given to us), made explicit where we decided.
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: cfg.dataDir, LOG_FORMAT: cfg.logFormat ?? 'pretty' };

  let temporal: DevServer | undefined;
  let uiCodec: DevUiCodec | undefined;
  let pg: EmbeddedPg | undefined;
  const services: ServiceProcess[] = [];
  let stopping = false;

  const shutdown = async (code: number): Promise<never> => {
    if (stopping) return new Promise<never>(() => undefined);
    stopping = true;
    say('start', 'shutting down…');
    for (const s of [...services].reverse()) await s.stop();
    if (temporal) await temporal.stop();
    if (uiCodec) await uiCodec.close();
    if (pg) await pg.stop().catch(() => undefined);
    say('start', 'stopped');
    process.exit(code);
  };
  shutdownRef = shutdown;
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  // Dev API key: printed and kept in .data/dev-api-key unless BOOTSTRAP_API_KEYS is given.
  let devKey: string | undefined;
  if (!cfg.bootstrapApiKeys) {
    const keyFile = path.join(cfg.dataDir, 'dev-api-key');
    devKey = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : generateApiKey();
    fs.writeFileSync(keyFile, `${devKey}\n`, { mode: 0o600 });
    env.BOOTSTRAP_API_KEYS = `dev:${devKey}`;
  }
  // Dev operator key for the API's /codec/* (Temporal CLI: --codec-auth), kept like the dev API key.
  let devOperatorKey: string | undefined;
  if (!cfg.operatorApiKeys) {
    const keyFile = path.join(cfg.dataDir, 'dev-operator-key');
    devOperatorKey = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : generateApiKey().replace(/^rk_/, 'op_');
    fs.writeFileSync(keyFile, `${devOperatorKey}\n`, { mode: 0o600 });
    env.OPERATOR_API_KEYS = devOperatorKey;
  }
  const keys = resolveKeySpecs(cfg); // generate dev encryption keys once, before API and worker race for them

  if (!cfg.temporalAddress) {
    const cli = await provisionTemporalCli(root, (m) => say('start', m), devTools);
    // The dev UI cannot send an API key: it gets its own redacting codec on loopback (see dev-ui-codec.ts).
    uiCodec = await startDevUiCodec({ payloadCodecKeys: keys.payloadCodecKeys, corsOrigins: codecCorsOrigins(cfg) });
    say('start', `starting Temporal dev server (${cli.path})…`);
    temporal = await startDevServer({
      cliPath: cli.path,
      dbFile: path.join(cfg.dataDir, 'temporal.sqlite'),
      port: cfg.temporalPort,
      uiPort: cfg.temporalUiPort,
      namespace: cfg.temporalNamespace,
      logFile: path.join(cfg.dataDir, 'logs', 'temporal.log'),
      uiCodecEndpoint: uiCodec.url,
    });
    temporal.process.on('exit', (c) => {
      if (!stopping) {
        say('start', `Temporal dev server exited (${c}); see .data/logs/temporal.log`);
        void shutdown(1);
      }
    });
    env.TEMPORAL_ADDRESS = temporal.address;
  }

  if (!cfg.databaseUrl) {
    say('start', `starting embedded Postgres on port ${cfg.embeddedPostgresPort} (data in ${path.relative(root, cfg.dataDir)}/postgres)…`);
    pg = await startEmbeddedPostgres(cfg.dataDir, cfg.embeddedPostgresPort, (l) => say('start', l));
    env.DATABASE_URL = pg.url;
  }

  const onLine = (name: string, line: string) => say(name, line);
  const launch = (name: string, script: string): ServiceProcess => {
    const svc = spawnService(name, path.join(root, 'dist', script), env, onLine);
    svc.child.on('exit', (c, sig) => {
      // Ctrl-C in a terminal reaches the whole process group: a child may exit on it before our
      // own SIGINT handler has run. Look again on the next turn, and count a child stopped by
      // SIGINT/SIGTERM as part of that stop, not as a crash.
      setImmediate(() => {
        if (stopping) return;
        const stoppedBySignal = sig === 'SIGINT' || sig === 'SIGTERM' || c === 130 || c === 143;
        say('start', `${name} exited (${c ?? sig}); stopping everything`);
        void shutdown(stoppedBySignal ? 0 : 1);
      });
    });
    services.push(svc);
    return svc;
  };

  if (start.launchSandboxCrm) {
    const sbx = launch('sandbox-crm', 'apps/sandbox-crm/main.js');
    await waitForHttp(`${cfg.sandboxCrmUrl}/health`, 30_000, sbx.child);
  }
  launch('worker', 'apps/worker/main.js');
  const api = launch('api', 'apps/api/main.js');
  await waitForHttp(`http://127.0.0.1:${cfg.apiPort}/ready`, 120_000, api.child);

  const lines = [
    '',
    'Reauthorization engine is up.',
    `  API            ${cfg.publicUrl}   (OpenAPI docs: ${cfg.publicUrl}/docs)`,
    `  Temporal UI    ${temporal?.uiUrl ?? '(external Temporal: ' + env.TEMPORAL_ADDRESS + ')'}${uiCodec ? `   (decodes through ${uiCodec.url}, credentials redacted)` : ''}`,
    `  Sandbox CRM    ${cfg.sandboxCrmUrl}`,
    devKey ? `  Dev API key    ${devKey}   (also in ${path.relative(root, cfg.dataDir)}/dev-api-key)` : '  API keys       from BOOTSTRAP_API_KEYS',
    devOperatorKey
      ? `  Operator key   ${devOperatorKey}   (for ${cfg.publicUrl}/codec only; also in ${path.relative(root, cfg.dataDir)}/dev-operator-key)`
      : '  Operator keys  from OPERATOR_API_KEYS',
    '',
    'Press Ctrl-C to stop everything.',
    '',
  ];
  for (const l of lines) say('start', l);
}

main().catch((err) => {
  console.error('start failed:', err);
  if (shutdownRef) void shutdownRef(1);
  else process.exit(1);
});
