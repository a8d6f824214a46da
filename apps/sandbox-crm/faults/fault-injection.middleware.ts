import { HttpStatus, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { requestPath } from '../common/request-path';
import { SandboxError } from '../common/sandbox-error';
import { FaultsService, InjectedFault } from './faults.service';

/**
 * Applies armed faults to CRM API traffic. Being middleware, it runs before routing and
 * authentication, so a fault fires even for requests that would otherwise fail — like a
 * gateway or rate limiter sitting in front of a real CRM.
 */
@Injectable()
export class FaultInjectionMiddleware implements NestMiddleware {
  constructor(private readonly faults: FaultsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const fault = this.faults.claim(requestPath(req));
    if (!fault) return next();

    const proceed = () => (fault.status === null ? next() : next(injectedFaultError(fault, fault.status)));
    if (fault.delayMs <= 0) return proceed();

    const timer = setTimeout(proceed, fault.delayMs);
    // Don't keep serving (or keep the process alive) for a client that already hung up.
    res.once('close', () => clearTimeout(timer));
  }
}

function injectedFaultError(fault: InjectedFault, status: number): SandboxError {
  const headers: Record<string, string> = fault.retryAfterSeconds === null ? {} : { 'Retry-After': String(fault.retryAfterSeconds) };
  const reason = (HttpStatus[status] as string | undefined) ?? 'ERROR';
  return new SandboxError(status, 'injected_fault', `Injected fault ${fault.id}: ${status} ${reason}`, headers);
}
