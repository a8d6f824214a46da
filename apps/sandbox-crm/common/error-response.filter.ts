import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ErrorBody, SandboxError } from './sandbox-error';

/**
 * Renders every failure as `{"error":{"code","message"}}`, including the ones Nest raises
 * itself (unknown routes, undecodable paths), so clients never have to parse two shapes.
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  private readonly logger = new Logger('SandboxCrm');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body, headers } = this.describe(exception);

    // A delayed (fault-injected) response can race a client disconnect; nothing left to send.
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(status).set(headers).json(body);
  }

  private describe(exception: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
    if (exception instanceof SandboxError) {
      return {
        status: exception.getStatus(),
        body: exception.getResponse() as ErrorBody,
        headers: { ...exception.headers },
      };
    }

    if (exception instanceof HttpException) {
      // Only the framework throws plain HttpExceptions here (our code throws SandboxError),
      // and its only 404 is "no route matched".
      const status = exception.getStatus();
      const code = status === HttpStatus.NOT_FOUND ? 'route_not_found' : statusCode(status);
      return { status, body: { error: { code, message: messageOf(exception) } }, headers: {} };
    }

    this.logger.error('Unhandled error while serving a request', exception instanceof Error ? exception.stack : String(exception));
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { error: { code: 'internal_error', message: 'The sandbox CRM hit an unexpected error' } },
      headers: {},
    };
  }
}

/** `HttpStatus.PAYLOAD_TOO_LARGE` -> `payload_too_large`; falls back to `http_<status>`. */
function statusCode(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ? name.toLowerCase() : `http_${status}`;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}
