import { HttpException, HttpStatus } from '@nestjs/common';

/** The one error body shape every sandbox response uses, so clients can branch on `code`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * An error the sandbox raises on purpose. Carrying a stable snake_case `code` (instead of
 * relying on the status alone) lets the engine under test classify failures the way it
 * would classify a real CRM's, e.g. telling `user_removed` apart from `invalid_token`.
 */
export class SandboxError extends HttpException {
  constructor(
    status: HttpStatus | number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super({ error: { code, message } } satisfies ErrorBody, status);
  }
}

export function badRequest(code: string, message: string): SandboxError {
  return new SandboxError(HttpStatus.BAD_REQUEST, code, message);
}

export function notFound(code: string, message: string): SandboxError {
  return new SandboxError(HttpStatus.NOT_FOUND, code, message);
}

export function conflict(code: string, message: string): SandboxError {
  return new SandboxError(HttpStatus.CONFLICT, code, message);
}
