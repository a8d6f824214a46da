import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { requestPath } from '../common/request-path';
import { RequestStatsService } from './request-stats.service';

/**
 * Counts and logs every request on arrival — before fault injection and auth — so a retried call
 * shows up once per attempt, which is what retry/backoff assertions need; the log entry gets the
 * status once the answer is sent.
 */
@Injectable()
export class RequestStatsMiddleware implements NestMiddleware {
  constructor(private readonly stats: RequestStatsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const url = req.originalUrl || req.url;
    const q = url.indexOf('?');
    const entry = this.stats.record(req.method, maskTokens(requestPath(req)), q === -1 ? '' : url.slice(q + 1));
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    next();
  }
}

/**
 * Some real APIs put the token in the path (HubSpot's `/oauth/v1/access-tokens/:token`). Counting
 * those per token would leak secrets into the stats and make every call a new key, so sandbox
 * OAuth tokens in a path are counted as `:token`.
 */
function maskTokens(path: string): string {
  return path.replace(/sbx_(?:at|rt)_[A-Za-z0-9]+/g, ':token');
}
