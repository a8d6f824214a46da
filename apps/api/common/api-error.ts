import { HttpException, HttpStatus } from '@nestjs/common';

/** The one error shape of the API: `{"error":{"code":"snake_case","message":"…"}}`. */
export class ApiError extends HttpException {
  constructor(status: HttpStatus, readonly code: string, message: string) {
    super({ error: { code, message } }, status);
  }

  static notFound(what: string): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, 'not_found', `${what} not found`);
  }

  static badRequest(code: string, message: string): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, code, message);
  }

  static unprocessable(code: string, message: string): ApiError {
    return new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, code, message);
  }

  static conflict(code: string, message: string): ApiError {
    return new ApiError(HttpStatus.CONFLICT, code, message);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot exist, so it is a 404 like any unknown id (not a 500 from Postgres). */
export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}
