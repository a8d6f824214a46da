import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { AppConfig } from '../../../libs/config/config';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { TEMPORAL_CONNECTION } from '../../../libs/nest/temporal-client.module';

/**
 * Temporal answers; how many workers polled our task queue in the last minute. No worker is down
 * only when the caller requires one: the API itself still serves (reads, the console, connect
 * pages, requests that Temporal queues for a worker), so a rollout of the workers must not take
 * every API replica out of its load balancer.
 */
@Injectable()
export class TemporalHealthIndicator {
  constructor(
    @Inject(TEMPORAL_CONNECTION) private readonly connection: Connection,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check(key: string, options: { requireWorker: boolean }) {
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
      if (recent.length === 0) {
        const details = { workers: 0, taskQueue: this.cfg.taskQueue, message: 'no worker is polling' };
        return options.requireWorker ? h.down(details) : h.up(details);
      }
      return h.up({ workers: recent.length, taskQueue: this.cfg.taskQueue });
    } catch (err) {
      // For the log line of the failed check; the 503 body keeps only code and message.
      return h.down({ message: `Temporal unreachable: ${(err as Error).message}` });
    }
  }
}
