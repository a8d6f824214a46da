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
 * Faults drawn at random: each matching request fails with a 5xx, a 429 or is slowed down, with the
 * given probabilities, from a seeded generator so a run can be repeated. For chaos runs that want
 * a steady drizzle of trouble rather than a queue of planned faults.
 */
export interface RandomFaultProfile {
  seed: number;
  /** Requests whose path starts with one of these are eligible (e.g. `/api/v1/`, `/hubspot/oauth/`). */
  pathPrefixes: string[];
  /** Probability (0..1) that a request gets a 503. */
  serverErrorRate: number;
  /** Probability (0..1) that a request gets a 429 with `Retry-After: retryAfterSeconds`. */
  tooManyRequestsRate: number;
  retryAfterSeconds: number;
  /** Probability (0..1) that a request (not failed) is served after a delay of up to `maxLatencyMs`. */
  latencyRate: number;
  maxLatencyMs: number;
}

/** How many random faults of each kind were served since the profile was set. */
export interface RandomFaultCounts {
  serverErrors: number;
  tooManyRequests: number;
  latency: number;
}

/** mulberry32: small, fast, seeded; good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Armed faults, consumed by matching API requests. Faults are matched in the order they were
 * added, so a test can queue e.g. "two 429s, then one 503" against the same path.
 */
@Injectable()
export class FaultsService {
  private faults: InjectedFault[] = [];
  private random: { profile: RandomFaultProfile; next: () => number; counts: RandomFaultCounts } | null = null;

  add(spec: FaultSpec): InjectedFault {
    const fault: InjectedFault = { id: randomId('flt_'), ...spec, remaining: spec.count, createdAt: new Date().toISOString() };
    this.faults.push(fault);
    return fault;
  }

  /** Takes one use of the first armed fault matching `path`, if any; else rolls the random profile's dice. */
  claim(path: string): InjectedFault | null {
    const fault = this.faults.find((candidate) => path.startsWith(candidate.pathPrefix));
    if (!fault) return this.claimRandom(path);
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((candidate) => candidate !== fault);
    return { ...fault };
  }

  list(): InjectedFault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /** Returns how many armed faults were dropped (the random profile is left alone: see clearRandom). */
  clear(): number {
    const cleared = this.faults.length;
    this.faults = [];
    return cleared;
  }

  setRandom(profile: RandomFaultProfile): void {
    this.random = { profile: { ...profile, pathPrefixes: [...profile.pathPrefixes] }, next: seededRandom(profile.seed), counts: { serverErrors: 0, tooManyRequests: 0, latency: 0 } };
  }

  getRandom(): { profile: RandomFaultProfile | null; injected: RandomFaultCounts } {
    return {
      profile: this.random ? { ...this.random.profile, pathPrefixes: [...this.random.profile.pathPrefixes] } : null,
      injected: this.random ? { ...this.random.counts } : { serverErrors: 0, tooManyRequests: 0, latency: 0 },
    };
  }

  /** Turns the random profile off; answers what it injected. */
  clearRandom(): RandomFaultCounts {
    const counts = this.getRandom().injected;
    this.random = null;
    return counts;
  }

  private claimRandom(path: string): InjectedFault | null {
    const random = this.random;
    if (!random || !random.profile.pathPrefixes.some((prefix) => path.startsWith(prefix))) return null;
    const { profile, counts } = random;
    const roll = random.next();
    const base = { id: 'flt_random', pathPrefix: path, count: 1, remaining: 0, createdAt: new Date().toISOString(), retryAfterSeconds: null, delayMs: 0 };
    if (roll < profile.serverErrorRate) {
      counts.serverErrors += 1;
      return { ...base, status: 503 };
    }
    if (roll < profile.serverErrorRate + profile.tooManyRequestsRate) {
      counts.tooManyRequests += 1;
      return { ...base, status: 429, retryAfterSeconds: profile.retryAfterSeconds };
    }
    if (roll < profile.serverErrorRate + profile.tooManyRequestsRate + profile.latencyRate) {
      counts.latency += 1;
      return { ...base, status: null, delayMs: Math.round(random.next() * profile.maxLatencyMs) };
    }
    return null;
  }
}
