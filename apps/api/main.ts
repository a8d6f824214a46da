import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { loadConfig } from '../../libs/config/config';
import { AppModule } from './app.module';
import { ErrorShapeFilter } from './common/error.filter';
import { installJsonBody } from './common/json-body';
import { createValidationPipe } from './common/validation';

async function main(): Promise<void> {
  const cfg = loadConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(cfg), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new ErrorShapeFilter());
  app.useGlobalPipes(createValidationPipe());
  installJsonBody(app, '1mb');
  app.disable('x-powered-by');
  // Temporal UI decodes payloads through /codec/*; only its origin may call it from a browser.
  app.enableCors({ origin: [`http://localhost:${cfg.temporalUiPort}`, `http://127.0.0.1:${cfg.temporalUiPort}`], credentials: true });
  app.enableShutdownHooks();

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
