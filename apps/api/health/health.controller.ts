import { Controller, Get, HttpStatus } from '@nestjs/common';
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

  /** Readiness: not stopping, Postgres answers, Temporal answers and a worker polls; 503 otherwise. */
  @Public()
  @Get('ready')
  @HealthCheck()
  ready() {
    if (this.shutdown.stopping) throw new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'shutting_down', 'The API is shutting down.');
    return this.health.check([() => this.db.pingCheck('postgres', { timeout: 3000 }), () => this.temporal.check('temporal')]);
  }
}
