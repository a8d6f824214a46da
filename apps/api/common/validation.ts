import { ValidationPipe } from '@nestjs/common';

/** DTO validation for every route: unknown fields rejected, types checked, one 400 listing every problem. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
  });
}
