import { Injectable } from '@nestjs/common';
import { randomId } from '../accounts/random-ids';

export interface FaultSpec {
  /** Matches requests whose path (no query string) starts with this, e.g. `/api/v1/contacts`. */
  pathPrefix: string;
  /** Status to answer with; null means "only delay, then serve normally". */
  status: number | null;
  /** How many matching requests this fault affects before it disarms itself. */
  count: number;
  retryAfterSeconds: number | null;
  delayMs: number;
}

export interface InjectedFault extends FaultSpec {
  id: string;
  /** Matching requests still to be affected; the fault is dropped when this reaches 0. */
  remaining: number;
  createdAt: string;
}

/**
 * Armed faults, consumed by matching API requests. Faults are matched in the order they were
 * added, so a test can queue e.g. "two 429s, then one 503" against the same path.
 */
@Injectable()
export class FaultsService {
  private faults: InjectedFault[] = [];

  add(spec: FaultSpec): InjectedFault {
    const fault: InjectedFault = { id: randomId('flt_'), ...spec, remaining: spec.count, createdAt: new Date().toISOString() };
    this.faults.push(fault);
    return fault;
  }

  /** Takes one use of the first armed fault matching `path`, if any. */
  claim(path: string): InjectedFault | null {
    const fault = this.faults.find((candidate) => path.startsWith(candidate.pathPrefix));
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((candidate) => candidate !== fault);
    return { ...fault };
  }

  list(): InjectedFault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /** Returns how many armed faults were dropped. */
  clear(): number {
    const cleared = this.faults.length;
    this.faults = [];
    return cleared;
  }
}
