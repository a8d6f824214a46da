import { Controller, Get, Header, Injectable, Module, type NestMiddleware, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { Public } from '../auth/public.decorator';
import { BusinessGaugesSource, registerBusinessGauges } from './business-gauges';

/**
 * One registry per process: Node runtime metrics, the API's request counters, and the business
 * gauges read from Postgres at scrape time. (The business counters — reauthorizations, refreshes,
 * webhook deliveries, re-sync records — are counted where they happen, in the worker: its `/metrics`.)
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'reauth_api_' });
registerBusinessGauges(registry);

const requests = new Counter({
  name: 'reauth_api_http_requests_total',
  help: 'HTTP requests by route and status class',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});
const latency = new Histogram({
  name: 'reauth_api_http_request_duration_seconds',
  help: 'HTTP request latency by route',
  labelNames: ['method', 'route'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** Labels use the route pattern (`/v1/integrations/:id`), never the URL: no ids, tokens or codes. */
@Injectable()
class RequestMetricsMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const end = latency.startTimer();
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      end({ method: req.method, route });
      requests.inc({ method: req.method, route, status: `${Math.floor(res.statusCode / 100)}xx` });
    });
    next();
  }
}

@ApiExcludeController()
@Controller()
class MetricsController {
  /** Prometheus scrape endpoint (no auth, like /health; it exposes no tenant data). */
  @Public()
  @Get('metrics')
  @Header('Content-Type', registry.contentType)
  metrics(): Promise<string> {
    return registry.metrics();
  }
}

@Module({ controllers: [MetricsController], providers: [BusinessGaugesSource] })
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestMetricsMiddleware).forRoutes('*');
  }
}
