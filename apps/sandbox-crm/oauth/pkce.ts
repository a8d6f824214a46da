import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../common/constant-time-equal';

/*
 * PKCE (RFC 7636), S256 only: the authorization request carries a challenge, the code exchange
 * the verifier it was derived from.
 */

/** RFC 7636 §4.1 code_verifier. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** base64url (no padding) of a SHA-256 hash. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function isS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

/** Whether `verifier` is well-formed and hashes to `challenge`. */
export function verifierMatchesChallenge(verifier: string, challenge: string): boolean {
  return VERIFIER.test(verifier) && constantTimeEqual(s256(verifier), challenge);
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
