import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { badRequest } from './sandbox-error';

/**
 * Validates DTO bodies with class-validator and reports failures in the sandbox error shape.
 * Unknown fields are rejected rather than ignored: a typo such as `retryAfter` for
 * `retryAfterSeconds` should fail loudly instead of silently creating a different fault.
 */
@Injectable()
export class SandboxValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      exceptionFactory: (errors: ValidationError[]) =>
        badRequest('invalid_request', describeValidationErrors(errors).join('; ') || 'Invalid request'),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // JSON arrays and scalars parse fine but can never match a DTO; say so plainly.
    if (metadata.type === 'body' && value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw badRequest('invalid_request', 'Request body must be a JSON object');
    }
    return super.transform(value, metadata);
  }
}

function describeValidationErrors(errors: ValidationError[], parentPath = ''): string[] {
  return errors.flatMap((error) => {
    const path = parentPath ? `${parentPath}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) =>
      // class-validator phrases messages with the bare property name; show the full path instead.
      parentPath && text.startsWith(error.property) ? `${path}${text.slice(error.property.length)}` : text,
    );
    return [...own, ...describeValidationErrors(error.children ?? [], path)];
  });
}
