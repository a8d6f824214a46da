import { AsyncLocalStorage } from 'node:async_hooks';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/config';

/**
 * Fields every log line written inside a unit of work carries: the worker's activity interceptor
 * (activities/log-context.interceptor.ts) runs each activity inside one, so the activity's own lines,
 * the SDK's activity logger and anything they call are stamped with its workflow and integration.
 * Only ids and counters: never a value taken from an input as a whole.
 */
export interface LogContext {
  tenantId?: string;
  integrationId?: string;
  workflowId?: string;
  runId?: string;
  activityType?: string;
  attempt?: number;
}

const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` on every line it logs (nested calls add to the outer fields). */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...fields }, fn);
}

/** The fields of the current unit of work ({} outside one, e.g. in the API). */
export function currentLogContext(): LogContext {
  return logContext.getStore() ?? {};
}

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
export function scrubUrl(full: string): string {
  const hashAt = full.indexOf('#');
  const fragment = hashAt === -1 ? '' : full.slice(hashAt);
  const url = hashAt === -1 ? full : full.slice(0, hashAt);
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(/\/connect\/[^/?#]+/gi, '/connect/[redacted]');
  if (q === -1) return path + fragment;
  // Query keys are compared decoded and without array brackets (`%63ode`, `code[]` are `code`).
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      let key: string;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      } catch {
        return '[redacted]';
      }
      const bare = key.replace(/\[.*$/, '').toLowerCase();
      return SECRET_QUERY_KEYS.has(bare) ? `${rawKey}=[redacted]` : pair;
    });
  return `${path}?${parts.join('&')}${fragment}`;
}

const SECRET_QUERY_KEYS = new Set(['code', 'state', 'token', 'link_token', 'access_token', 'refresh_token', 'client_secret', 'api_key']);

/**
 * The message of a request's log line: method, scrubbed URL and status. A request whose client went
 * away before the answer was sent says so: its status is only the default 200, never sent, and a
 * line reading "200" would tell an operator that a check passed when nobody heard the answer.
 */
export function requestLogMessage(
  req: { method?: string; url?: string; readableAborted?: boolean },
  res: { statusCode: number; writableEnded?: boolean },
): string {
  const line = `${req.method} ${scrubUrl(req.url ?? '')}`;
  return !req.readableAborted && res.writableEnded !== false ? `${line} ${res.statusCode}` : `${line} aborted: the client went away before the answer was sent`;
}

export function pinoParams(cfg: Pick<AppConfig, 'logLevel' | 'logFormat'>, name: string): Params {
  const pretty = cfg.logFormat === 'pretty';
  return {
    pinoHttp: {
      name,
      level: cfg.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // A copy: pino merges the line's own fields into what the mixin returns (they win).
      mixin: () => ({ ...currentLogContext() }),
      transport: pretty
        ? { target: 'pino-pretty', options: { singleLine: true, colorize: true, ignore: 'pid,hostname,req,res', translateTime: 'HH:MM:ss' } }
        : undefined,
      serializers: {
        req: (req: { id?: unknown; method?: string; url?: string }) => ({ id: req.id, method: req.method, url: scrubUrl(req.url ?? '') }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      customSuccessMessage: requestLogMessage,
      customErrorMessage: requestLogMessage,
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/ready' },
    },
  };
}
