import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/config';

/** Paths pino must never print: credentials travel in these headers and fields. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.apiToken',
  '*.accessToken',
  '*.refreshToken',
  '*.clientSecret',
  '*.token',
  '*.secret',
];

/** Link tokens, OAuth codes and state travel in URLs; log the route, not the secret. */
export function scrubUrl(url: string): string {
  return url
    .replace(/\/connect\/[^/?#]+/g, '/connect/[redacted]')
    .replace(/([?&](?:code|state|token|link_token)=)[^&#]*/gi, '$1[redacted]');
}

export function pinoParams(cfg: AppConfig, name: string): Params {
  const pretty = process.env.LOG_FORMAT === 'pretty';
  return {
    pinoHttp: {
      name,
      level: cfg.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      transport: pretty
        ? { target: 'pino-pretty', options: { singleLine: true, colorize: true, ignore: 'pid,hostname,req,res', translateTime: 'HH:MM:ss' } }
        : undefined,
      serializers: {
        req: (req: { id?: unknown; method?: string; url?: string }) => ({ id: req.id, method: req.method, url: scrubUrl(req.url ?? '') }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      customSuccessMessage: (req, res) => `${req.method} ${scrubUrl(req.url ?? '')} ${res.statusCode}`,
      customErrorMessage: (req, res) => `${req.method} ${scrubUrl(req.url ?? '')} ${res.statusCode}`,
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/ready' },
    },
  };
}
