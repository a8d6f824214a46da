import { Controller, Get, HttpStatus, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import { ApiError } from '../common/api-error';
import { ShutdownState } from './shutdown-state';
import { TemporalHealthIndicator } from './temporal.health';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly temporal: TemporalHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

  /** Liveness: the process answers. */
  @Public()
  @Get('health')
  live() {
    return { status: 'ok' };
  }

  /**
   * Readiness of this API process: not stopping, Postgres answers, Temporal answers; 503 otherwise.
   * The workers polling are reported; `?require=worker` also fails while none polls (for a start
   * script that waits until the whole system works).
   */
  @Public()
  @Get('ready')
  @HealthCheck()
  ready(@Query('require') require?: unknown) {
    if (this.shutdown.stopping) throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'shutting_down', 'The API is shutting down.');
    if (require !== undefined && require !== 'worker') throw ApiError.badRequest('invalid_require', 'require must be "worker".');
    const requireWorker = require === 'worker';
    return this.health.check([() => this.db.pingCheck('postgres', { timeout: 3000 }), () => this.temporal.check('temporal', { requireWorker })]);
  }
}
