import { randomBytes, randomInt } from 'node:crypto';

/** A prefixed random id, e.g. `acct_3f9c2a71be04`. Random (not sequential) so ids never collide across resets. */
export function randomId(prefix: string, bytes = 6): string {
  return prefix + randomBytes(bytes).toString('hex');
}

/** `sbx_` + 32 hex chars: recognisable as a sandbox token in logs, unguessable like a real one. */
export function newApiToken(): string {
  return 'sbx_' + randomBytes(16).toString('hex');
}

/**
 * Random 8-digit numbers, never the same twice in this process. Real CRMs expose numeric ids
 * (HubSpot portal ids, Pipedrive company/user ids); random rather than sequential so they look
 * like real ones and no test can come to depend on their order.
 */
export class UniqueNumberSource {
  private readonly issued = new Set<number>();

  next(): number {
    for (;;) {
      const candidate = randomInt(10_000_000, 100_000_000);
      if (!this.issued.has(candidate)) {
        this.issued.add(candidate);
        return candidate;
      }
    }
  }
}
