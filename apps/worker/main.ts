import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Client } from '@temporalio/client';
import { Runtime, Worker } from '@temporalio/worker';
import { Logger } from 'nestjs-pino';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { activityInterceptors, createActivities } from '../../activities';
import { type AppConfig, loadConfig } from '../../libs/config/config';
import type { KeyRing } from '../../libs/crypto/key-ring';
import { formatEgressAllowlist } from '../../libs/http/egress-allowlist';
import { CODEC_KEY_RING, CREDENTIALS_KEY_RING, EGRESS } from '../../libs/nest/tokens';
import type { ProcessEgress } from '../../libs/providers/provider-egress';
import { ProviderRegistry } from '../../libs/providers/provider-registry';
import { ResyncStarter } from '../../libs/resync/resync-starter';
import { connectWorker, temporalAddress } from '../../libs/temporal/connect';
import { crmTaskQueue } from '../../libs/temporal/crm-task-queues';
import { createDataConverter } from '../../libs/temporal/encryption-codec';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../libs/temporal/workflow-interceptors';
import { startWorkerMetricsServer } from './metrics-server';
import { runtimeLogger } from './runtime-logger';
import { WorkerModule } from './worker.module';

/**
 * Installs the Temporal Runtime: SDK, workflow and activity logs go through the worker's logger
 * (one line per entry, attributes as fields), and Core's Prometheus exporter listens on the loopback
 * port TEMPORAL_SDK_METRICS_PORT, for the worker's `/metrics` to include. A port that is taken turns
 * the SDK metrics off instead of stopping the worker. Answers the exporter's URL (null: off).
 */
function installRuntime(cfg: AppConfig, logger: Logger): string | null {
  const logs = runtimeLogger(logger, cfg.logLevel === 'debug' || cfg.logLevel === 'trace');
  if (cfg.temporalSdkMetricsPort !== 0) {
    const bindAddress = `127.0.0.1:${cfg.temporalSdkMetricsPort}`;
    try {
      Runtime.install({ logger: logs, telemetryOptions: { metrics: { prometheus: { bindAddress } } } });
      return `http://${bindAddress}/metrics`;
    } catch (err) {
      logger.warn(`Temporal SDK metrics off: ${(err as Error).message}`, 'WorkerMetrics');
    }
  }
  Runtime.install({ logger: logs });
  return null;
}

/** How long after the grace time a worker that still has not drained stops waiting (and exits 1). */
const WORKER_SHUTDOWN_FORCE_EXTRA_SECONDS = 5;

/**
 * Temporal worker host. Runs against whatever Temporal and Postgres the environment names
 * (`npm run start:worker`); `npm start` launches it next to the embedded services.
 */
async function main(): Promise<void> {
  const cfg = loadConfig();
  const app = await NestFactory.createApplicationContext(WorkerModule.register(cfg), { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);

  const sdkMetricsUrl = installRuntime(cfg, logger);
  // Nest builds the dependencies (database, key rings, providers, Temporal client); the activities
  // are plain functions over them.
  const deps = {
    dataSource: app.get(DataSource),
    credentialsKeyRing: app.get<KeyRing>(CREDENTIALS_KEY_RING),
    config: cfg,
    providers: app.get(ProviderRegistry),
    temporal: app.get(Client),
    egress: app.get<ProcessEgress>(EGRESS),
    logger,
  };
  const activities = createActivities({ ...deps, resyncStarter: new ResyncStarter(deps) });

  const connection = await connectWorker({ address: temporalAddress(cfg), apiKey: cfg.temporalApiKey });
  const bundle = path.resolve(__dirname, '..', '..', 'workflow-bundle.js');
  // SIGTERM/SIGINT (the SDK's Runtime listens for them): stop polling, let running activities
  // finish for the grace time, then cancel them (Temporal retries them on another worker), and
  // give up waiting a little later so that the process surely ends.
  const dataConverter = createDataConverter(app.get<KeyRing>(CODEC_KEY_RING));
  const shutdown = {
    shutdownGraceTime: cfg.workerShutdownGraceSeconds * 1000,
    shutdownForceTime: (cfg.workerShutdownGraceSeconds + WORKER_SHUTDOWN_FORCE_EXTRA_SECONDS) * 1000,
  };
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporalNamespace,
    taskQueue: cfg.taskQueue,
    ...(fs.existsSync(bundle)
      ? { workflowBundle: { codePath: bundle }, interceptors: { activity: activityInterceptors } }
      : { workflowsPath: require.resolve('../../workflows'), interceptors: { activity: activityInterceptors, workflowModules: WORKFLOW_INTERCEPTOR_MODULES } }),
    activities,
    dataConverter,
    ...(cfg.workerMaxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: cfg.workerMaxCachedWorkflows }),
    ...shutdown,
  });
  // Background CRM calls of each catalog CRM: on its own queue, capped per second across all workers.
  const crmWorkers = await Promise.all(
    deps.providers
      .catalog()
      .filter((p) => cfg.crmCallsPerSecond[p.key])
      .map((p) =>
        Worker.create({
          connection,
          namespace: cfg.temporalNamespace,
          taskQueue: crmTaskQueue(cfg.taskQueue, p.key),
          interceptors: { activity: activityInterceptors },
          activities,
          dataConverter,
          maxTaskQueueActivitiesPerSecond: cfg.crmCallsPerSecond[p.key],
          ...shutdown,
        }),
      ),
  );
  logger.log(
    `egress: public addresses${cfg.crmMode === 'production' ? ' over https' : ''}, EGRESS_ALLOWLIST ${formatEgressAllowlist(cfg.egressAllowlist) || '(empty)'}, catalog origins ${[...deps.egress.catalogOrigins].join(',') || '(none)'}`,
    'Worker',
  );
  logger.log(
    `CRM calls in the background: ${crmWorkers.map((w) => `${w.options.taskQueue} ≤ ${w.options.maxTaskQueueActivitiesPerSecond}/s`).join(', ') || 'on the main task queue'}`,
    'Worker',
  );
  logger.log(
    `worker polling task queue "${cfg.taskQueue}" on ${temporalAddress(cfg)} (namespace ${cfg.temporalNamespace}), keeping up to ${worker.options.maxCachedWorkflows} workflows in memory`,
    'Worker',
  );
  const metrics =
    cfg.workerMetricsPort === 0
      ? null
      : await startWorkerMetricsServer({
          host: cfg.workerMetricsHost,
          port: cfg.workerMetricsPort,
          sdkMetricsUrl,
          logger,
          workerStates: () => Object.fromEntries([worker, ...crmWorkers].map((w) => [w.options.taskQueue, w.getState()])),
        });
  // The SDK shuts the worker down gracefully on SIGINT/SIGTERM; run() resolves once it has drained.
  const stopping = () =>
    logger.log(`stop requested: no new tasks; running activities get ${cfg.workerShutdownGraceSeconds} s to finish`, 'Worker');
  process.once('SIGTERM', stopping);
  process.once('SIGINT', stopping);
  await Promise.all([worker.run(), ...crmWorkers.map((w) => w.run())]);
  await metrics?.close();
  await connection.close();
  await app.close();
  logger.log('worker stopped', 'Worker');
}

main().catch((err) => {
  console.error('worker failed:', err);
  process.exit(1);
});
