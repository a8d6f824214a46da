import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { Logger } from 'nestjs-pino';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectActivities } from '../../activities';
import { loadConfig } from '../../libs/config/config';
import { KeyRing } from '../../libs/crypto/key-ring';
import { CODEC_KEY_RING } from '../../libs/nest/tokens';
import { EncryptionCodec } from '../../libs/temporal/encryption-codec';
import { connectWorker, temporalAddress } from '../../libs/temporal/connect';
import { WorkerModule } from './worker.module';

/**
 * Temporal worker host. Runs against whatever Temporal and Postgres the environment names
 * (`npm run start:worker`); `npm start` launches it next to the embedded services.
 */
async function main(): Promise<void> {
  const cfg = loadConfig();
  const app = await NestFactory.createApplicationContext(WorkerModule.register(cfg), { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);

  // SDK and workflow logs go through the same logger as everything else: one line per entry.
  Runtime.install({
    logger: new DefaultLogger(cfg.logLevel === 'debug' ? 'DEBUG' : 'INFO', (entry) => {
      const { sdkComponent, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
      const line = `${entry.message}${Object.keys(meta).length ? ' ' + JSON.stringify(meta) : ''}`;
      const context = `Temporal${sdkComponent ? ':' + String(sdkComponent) : ''}`;
      if (entry.level === 'ERROR') logger.error(line, undefined, context);
      else if (entry.level === 'WARN') logger.warn(line, context);
      else if (entry.level === 'DEBUG' || entry.level === 'TRACE') logger.debug(line, context);
      else logger.log(line, context);
    }),
  });
  const connection = await connectWorker(temporalAddress(cfg));
  const bundle = path.resolve(__dirname, '..', '..', 'workflow-bundle.js');
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporalNamespace,
    taskQueue: cfg.taskQueue,
    ...(fs.existsSync(bundle) ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../../workflows') }),
    activities: collectActivities(app),
    dataConverter: { payloadCodecs: [new EncryptionCodec(app.get<KeyRing>(CODEC_KEY_RING))] },
  });
  logger.log(`worker polling task queue "${cfg.taskQueue}" on ${temporalAddress(cfg)} (namespace ${cfg.temporalNamespace})`, 'Worker');
  // The SDK shuts the worker down gracefully on SIGINT/SIGTERM; run() resolves once it has drained.
  await worker.run();
  await connection.close();
  await app.close();
  logger.log('worker stopped', 'Worker');
}

main().catch((err) => {
  console.error('worker failed:', err);
  process.exit(1);
});
