import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Worker } from '@temporalio/worker';
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
