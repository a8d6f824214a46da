import type { NextFunction, Request, Response } from 'express';
import { HttpStatus } from '@nestjs/common';
import { SandboxError } from './sandbox-error';

/** The fields body-parser (via `http-errors`) puts on the errors it raises. */
interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/**
 * Express error middleware mounted right after the JSON body parser. It turns the parser's
 * errors into SandboxErrors with meaningful codes (`invalid_json`, `payload_too_large`) before
 * they reach Nest's exception layer, which would otherwise only see an anonymous 400/500.
 */
export function translateBodyParseErrors(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  const parserError = (err ?? {}) as BodyParserError;
  switch (parserError.type) {
    case 'entity.parse.failed':
      return next(new SandboxError(HttpStatus.BAD_REQUEST, 'invalid_json', 'Request body is not valid JSON'));
    case 'entity.too.large':
      return next(new SandboxError(HttpStatus.PAYLOAD_TOO_LARGE, 'payload_too_large', 'Request body is too large'));
  }
  // Other client-caused parser failures (bad charset, aborted upload, ...) stay 4xx, never 500.
  const status = parserError.status;
  if (parserError.expose && typeof status === 'number' && status >= 400 && status < 500) {
    const message = err instanceof Error ? err.message : 'Request body could not be read';
    return next(new SandboxError(status, 'unreadable_body', message));
  }
  next(err);
}
