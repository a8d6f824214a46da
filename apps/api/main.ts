import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { loadConfig } from '../../libs/config/config';
import { AppModule } from './app.module';
import { codecCors, codecCorsOrigins } from './codec/codec-cors';
import { ErrorShapeFilter } from './common/error.filter';
import { installJsonBody } from './common/json-body';
import { securityHeaders } from './common/security-headers';
import { createValidationPipe } from './common/validation';

async function main(): Promise<void> {
  const cfg = loadConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(cfg), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new ErrorShapeFilter());
  app.useGlobalPipes(createValidationPipe());
  // Helmet on every answer (first, so that even a refused body gets them): CSP, nosniff, frame and referrer policy.
  app.use(securityHeaders());
  // The Temporal UI decodes payloads through /codec/* from its own origin (CODEC_CORS_ORIGINS); nothing
  // else of the API is for other origins' pages. Before the body parser, so its refusals carry CORS too.
  app.use('/codec', codecCors(codecCorsOrigins(cfg)));
  installJsonBody(app, '1mb');
  app.disable('x-powered-by');
  // req.ip, which the per-IP rate limits count, is the client behind these proxies only (TRUST_PROXY; off: the TCP peer).
  app.set('trust proxy', cfg.trustProxy);
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
