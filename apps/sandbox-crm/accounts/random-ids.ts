import { randomBytes } from 'node:crypto';

/** A prefixed random id, e.g. `acct_3f9c2a71be04`. Random (not sequential) so ids never collide across resets. */
export function randomId(prefix: string, bytes = 6): string {
  return prefix + randomBytes(bytes).toString('hex');
}

/** `sbx_` + 32 hex chars: recognisable as a sandbox token in logs, unguessable like a real one. */
export function newApiToken(): string {
  return 'sbx_' + randomBytes(16).toString('hex');
}
