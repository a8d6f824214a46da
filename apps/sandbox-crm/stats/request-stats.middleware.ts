import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { requestPath } from '../common/request-path';
import { RequestStatsService } from './request-stats.service';

/**
 * Counts every request on arrival — before fault injection and auth — so a retried call
 * shows up once per attempt, which is what retry/backoff assertions need.
 */
@Injectable()
export class RequestStatsMiddleware implements NestMiddleware {
  constructor(private readonly stats: RequestStatsService) {}

  use(req: Request, _res: Response, next: NextFunction): void {
    this.stats.record(req.method, requestPath(req));
    next();
  }
}
