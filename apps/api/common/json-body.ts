import { HttpStatus } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from './api-error';

/** The REST API v1: JSON objects in, JSON out (other routes, e.g. connect pages, may take forms). */
const API_V1 = /^\/v1(?:\/|$)/i;

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function parsesAsJson(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const notAnObject = () => ApiError.badRequest('validation_error', 'Request body must be a JSON object');

/** Deeper than any config or mapping needs; keeps recursive validators far from the stack limit. */
export const MAX_BODY_DEPTH = 32;
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** NUL cannot be stored by Postgres (text or jsonb), nor can unpaired UTF-16 surrogates in jsonb. */
const LONE_SURROGATE = /\p{Cs}/u;
const unstorable = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/**
 * Finds what no handler can store or validate safely: too deep a nesting, a NUL character or an
 * unpaired surrogate in any key or string. Iterative, so the check itself cannot overflow the stack.
 */
export function bodyProblem(body: unknown): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: body, depth: 0 }];
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (unstorable(value)) return 'Request body strings must not contain NUL characters or unpaired surrogates';
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) return `Request body is nested too deeply (more than ${MAX_BODY_DEPTH} levels)`;
    for (const [k, v] of Object.entries(value)) {
      if (unstorable(k)) return 'Request body keys must not contain NUL characters or unpaired surrogates';
      // Nest's validation strips these (prototype-pollution guard) without a word; refusing them is
      // better than silently losing part of someone's config.
      if (RESERVED_KEYS.has(k)) return `Request body keys must not be "${k}" (reserved)`;
      stack.push({ value: v, depth: depth + 1 });
    }
  }
  return null;
}

/**
 * Body parsing for the API, with errors in the API's shape. Nest turns body-parser's SyntaxError
 * into a bare BadRequestException (losing `type`), so parse failures are mapped right after the
 * parser, before they reach Nest:
 * - malformed JSON is 400 `invalid_json`; valid JSON that is not an object (array, null, number,
 *   string) is 400 `validation_error`;
 * - a /v1 body that is not JSON at all (text/plain, a form) is 415 `unsupported_media_type`
 *   instead of being read as `{}` (or, for forms, accepted);
 * - a /v1 body Postgres or the validators cannot cope with (NUL, unpaired surrogates, absurd
 *   nesting) is a 400 here rather than a 500 later — or, worse, a reauthorization workflow whose
 *   first activity retries forever while the request hangs.
 */
export function installJsonBody(app: NestExpressApplication, limit = '1mb'): void {
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (API_V1.test(req.path) && hasBody(req) && !req.is('application/json')) {
      const type = req.headers['content-type'];
      next(
        new ApiError(
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
          'unsupported_media_type',
          `Request bodies must be JSON (Content-Type: application/json)${type ? `, not "${type.slice(0, 100)}"` : ''}`,
        ),
      );
      return;
    }
    next();
  });
  app.useBodyParser('json', { limit });
  app.use((err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    const parserError = err as { type?: string; body?: unknown } | null;
    if (parserError?.type === 'entity.parse.failed') {
      next(parsesAsJson(parserError.body) ? notAnObject() : ApiError.badRequest('invalid_json', 'Request body is not valid JSON'));
      return;
    }
    next(err);
  });
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (!API_V1.test(req.path) || req.body === undefined) return next();
    if (Array.isArray(req.body)) return next(notAnObject());
    const problem = bodyProblem(req.body);
    next(problem ? ApiError.badRequest('validation_error', problem) : undefined);
  });
}
