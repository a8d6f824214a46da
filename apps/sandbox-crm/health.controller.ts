import { Controller, Get } from '@nestjs/common';

/** Liveness probe for dev scripts waiting on the sandbox to come up. */
@Controller('health')
export class HealthController {
  @Get()
  check() {
    return { status: 'ok' };
  }
}
