import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { loadConfig } from '../../libs/config/config';
import { AppModule } from './app.module';
import { configureApiApp } from './configure-app';
import { installGracefulStop } from './graceful-stop';

async function main(): Promise<void> {
  const cfg = loadConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(cfg), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  configureApiApp(app, cfg);
  // Not Nest's enableShutdownHooks: it would close Postgres and Temporal while requests are still in flight.
  installGracefulStop(app, app.get(Logger), {
    delayMs: cfg.apiShutdown.delaySeconds * 1000,
    timeoutMs: cfg.apiShutdown.timeoutSeconds * 1000,
  });

  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder().setTitle('Reauthorization engine API').setVersion('1').addBearerAuth().build(),
  );
  SwaggerModule.setup('docs', app, doc);

  await app.listen(cfg.apiPort, cfg.apiHost);
  app.get(Logger).log(`API listening on ${cfg.publicUrl} (docs at ${cfg.publicUrl}/docs)`, 'Api');
}

main().catch((err) => {
  console.error('api failed:', err);
  process.exit(1);
});
