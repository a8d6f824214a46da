import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { TEMPORAL_CONNECTION } from '../../../libs/nest/temporal-client.module';

/** Temporal answers, and at least one worker polled our task queue in the last minute. */
@Injectable()
export class TemporalHealthIndicator {
  constructor(
    @Inject(TEMPORAL_CONNECTION) private readonly connection: Connection,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const h = this.indicator.check(key);
    try {
      const svc = this.connection.workflowService;
      await svc.getSystemInfo({});
      const res = await svc.describeTaskQueue({
        namespace: this.cfg.temporalNamespace,
        taskQueue: { name: this.cfg.taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      const recent = (res.pollers ?? []).filter((p) => {
        const secs = Number(p.lastAccessTime?.seconds ?? 0);
        return Date.now() / 1000 - secs < 60;
      });
      if (recent.length === 0) return h.down({ address: this.cfg.temporalAddress ?? 'embedded', workers: 0, message: 'no worker is polling' });
      return h.up({ workers: recent.length, taskQueue: this.cfg.taskQueue });
    } catch (err) {
      return h.down({ message: `Temporal unreachable: ${(err as Error).message}` });
    }
  }
}
