import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AppConfig } from '../../libs/config/config';
import { codecCors, codecCorsOrigins } from './codec/codec-cors';
import { ErrorShapeFilter } from './common/error.filter';
import { installJsonBody } from './common/json-body';
import { securityHeaders } from './common/security-headers';
import { createValidationPipe } from './common/validation';

/**
 * Everything the API app needs around its modules — error shape, validation, headers, CORS for
 * the codec, body parsing, proxy trust — in one place, so `main.ts` and the Nest tests set up the
 * same app. The order matters and is explained line by line.
 */
export function configureApiApp(app: NestExpressApplication, cfg: AppConfig): void {
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
}
