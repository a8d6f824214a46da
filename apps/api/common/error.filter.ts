import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { isGrpcServiceError, ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { Response } from 'express';
import { ApiError } from './api-error';

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limited',
};

/** The 429 of every rate limit; whoever throws it sets `Retry-After` to the same seconds. */
export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(HttpStatus.TOO_MANY_REQUESTS, 'rate_limited', `Too many requests; retry after ${retryAfterSeconds} s.`);
}

/** When a ThrottlerException comes without the guard's `Retry-After`: a throttler's usual window. */
const FALLBACK_RETRY_AFTER_SECONDS = 60;

/**
 * The seconds a ThrottlerGuard announced: `Retry-After`, or `Retry-After-<throttler>` for named
 * throttlers (the longest wait if several refused). Also sets plain `Retry-After`, which clients read.
 */
function throttlerRetryAfter(res: Response): number {
  const announced = Object.entries(res.getHeaders())
    .filter(([name]) => name === 'retry-after' || name.startsWith('retry-after-'))
    .map(([, value]) => Number(value))
    .filter((seconds) => Number.isFinite(seconds) && seconds > 0);
  const seconds = announced.length > 0 ? Math.ceil(Math.max(...announced)) : FALLBACK_RETRY_AFTER_SECONDS;
  res.setHeader('Retry-After', String(seconds));
  return seconds;
}

/** SQLSTATEs of a database that is gone or not (yet) accepting work: connection exceptions, shutdown, starting up, recovering. */
const DATABASE_UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Socket errors of a connection to the database that broke or never came up. */
const DATABASE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** What node-postgres says (without a code) when the server went away under a query or a connection attempt. */
const DATABASE_GONE_MESSAGES = new Set(['Connection terminated unexpectedly', 'Connection terminated', 'Connection terminated due to connection timeout', 'timeout exceeded when trying to connect']);

/**
 * A fault of the database connection rather than of the request (Postgres restarting, a failover):
 * answered 503 so clients retry, like a Temporal outage. Told by the error's code or the driver's own
 * words only, never by words a request could put into a message.
 */
export function isDatabaseUnavailable(exception: unknown): boolean {
  for (let e = exception as { code?: unknown; message?: unknown; driverError?: unknown; name?: unknown } | undefined, depth = 0; e && depth < 3; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (code.startsWith('08') || DATABASE_UNAVAILABLE_SQLSTATES.has(code) || DATABASE_SOCKET_CODES.has(code)) return true;
    if (e.name === 'QueryFailedError' || e.name === 'Error') {
      if (typeof e.message === 'string' && DATABASE_GONE_MESSAGES.has(e.message) && code === '') return true;
    }
    e = e.driverError as typeof e;
  }
  return false;
}

/** gRPC codes of a Temporal server that is not there (restarting) or did not answer in time: CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE. */
const TEMPORAL_UNAVAILABLE_GRPC_CODES = new Set([1, 4, 14]);

/** Temporal not reachable (or not answering) for a call the handler made: 503, like the database. */
export function isTemporalUnavailable(exception: unknown): boolean {
  for (let e = exception, depth = 0; e instanceof Error && depth < 3; depth++) {
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
    if (isGrpcServiceError(e) && TEMPORAL_UNAVAILABLE_GRPC_CODES.has(e.code)) return true;
    if (!(e instanceof ServiceError) && !(e instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) return false;
    e = e.cause;
  }
  return false;
}

/** The code that made an error a 503 (a SQLSTATE, a socket error, a gRPC status), or the error's class. */
function unavailableReason(exception: unknown): string {
  for (let e = exception as { code?: unknown; driverError?: unknown; cause?: unknown; name?: unknown } | undefined, depth = 0; e && depth < 3; depth++) {
    if (typeof e.code === 'string' && /^[A-Z0-9_]{1,20}$/.test(e.code)) return e.code;
    if (typeof e.code === 'number') return `gRPC ${e.code}`;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return exception instanceof Error ? exception.name : typeof exception;
}

/**
 * Every error leaves in the same shape. Bad input of any kind (malformed JSON, validation, unknown
 * route) is a 4xx with a clear code; only real faults are 5xx, and they never echo internals.
 */
@Catch()
export class ErrorShapeFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    // The throttler's own exception says only "ThrottlerException: Too Many Requests"; it gets the API's 429.
    const { status, body } = this.toBody(exception instanceof ThrottlerException ? tooManyRequests(throttlerRetryAfter(res)) : exception);
    if (status === HttpStatus.SERVICE_UNAVAILABLE && !(exception instanceof HttpException)) {
      // The database or Temporal is away (a restart, a failover): expected, answered so that clients
      // retry, and one line per request says so; a stack trace would only bury real faults.
      // Named by its code only: a driver's message may quote a connection string.
      this.logger.warn(`answered 503 ${body.error.code} (${unavailableReason(exception)})`);
    } else if (status >= 500 && !(exception instanceof HttpException)) {
      this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    }
    res.status(status).json(body);
  }

  private toBody(exception: unknown): { status: number; body: { error: { code: string; message: string } } } {
    // body-parser errors (bad JSON, too large) carry `type` and `status` but are not HttpExceptions.
    const parserError = exception as { type?: string; status?: number; message?: string };
    if (parserError?.type === 'entity.parse.failed') {
      return { status: 400, body: { error: { code: 'invalid_json', message: 'Request body is not valid JSON' } } };
    }
    if (parserError?.type === 'entity.too.large') {
      return { status: 413, body: { error: { code: 'payload_too_large', message: 'Request body is too large' } } };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse() as { error?: { code?: string; message?: string }; message?: string | string[] } | string;
      if (typeof response === 'object' && response.error && typeof response.error === 'object' && response.error.code) {
        return { status, body: { error: { code: response.error.code, message: response.error.message ?? '' } } };
      }
      const message =
        typeof response === 'string'
          ? response
          : Array.isArray(response.message)
            ? response.message.join('; ')
            : (response.message ?? exception.message);
      const code = status === 400 && Array.isArray((response as { message?: unknown }).message) ? 'validation_error' : (STATUS_CODES[status] ?? 'error');
      return { status, body: { error: { code, message } } };
    }
    if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
      return { status: parserError.status, body: { error: { code: STATUS_CODES[parserError.status] ?? 'bad_request', message: parserError.message ?? 'Bad request' } } };
    }
    if (isTemporalUnavailable(exception)) {
      return { status: HttpStatus.SERVICE_UNAVAILABLE, body: { error: { code: 'temporal_unavailable', message: 'The workflow service is not reachable right now. Try again shortly.' } } };
    }
    if (isDatabaseUnavailable(exception)) {
      return { status: HttpStatus.SERVICE_UNAVAILABLE, body: { error: { code: 'database_unavailable', message: 'The database is not reachable right now. Try again shortly.' } } };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { error: { code: 'internal_error', message: 'Internal server error' } } };
  }
}
