import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { ShutdownState } from './shutdown-state';
import { TemporalHealthIndicator } from './temporal.health';

@Module({ imports: [TerminusModule], controllers: [HealthController], providers: [TemporalHealthIndicator, ShutdownState], exports: [ShutdownState] })
export class HealthModule {}
