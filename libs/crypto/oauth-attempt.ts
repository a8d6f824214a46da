import { createHash } from 'node:crypto';

/** `state` is looked up by its SHA-256 only; the value itself stays sealed with the attempt. */
export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

export function oauthAttemptAad(reauthorizationId: string): string {
  return `oauth-attempt:${reauthorizationId}`;
}

/** What is sealed on the reauthorization row for the current OAuth attempt; never leaves the server. */
export interface SealedAttempt {
  attempt: number;
  state: string;
  codeVerifier: string | null;
  authorizeUrl: string;
}
