import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from './key-ring';

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

/*
 * Browser binding of an attempt. `state` travels through the CRM, its logs and the address bar, so
 * it may leak; holding it must not be enough to answer the callback. The browser that begins an
 * attempt (`/connect/:token/authorize`) gets a cookie binding it to that attempt's state hash,
 * MACed with a key derived from the credentials key ring; the callback only counts with it.
 * One cookie per reauthorization, so several sign-ins in one browser do not evict each other.
 */

/** Sent only to the callback and the pages under it. */
export const ATTEMPT_COOKIE_PATH = '/oauth/callback';
const ATTEMPT_COOKIE_PREFIX = 'oauth_attempt_';
const MAC_PURPOSE = 'oauth-attempt-cookie';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STATE_HASH = /^[0-9a-f]{64}$/;

/** This browser began the attempt whose state hashes to `stateHash`, of this reauthorization. */
export interface AttemptBinding {
  reauthorizationId: string;
  stateHash: string;
}

export function attemptCookieName(reauthorizationId: string): string {
  return `${ATTEMPT_COOKIE_PREFIX}${reauthorizationId}`;
}

/** The reauthorization a cookie name is about, if it is an attempt cookie at all. */
export function reauthorizationIdOfCookie(name: string): string | undefined {
  if (!name.startsWith(ATTEMPT_COOKIE_PREFIX)) return undefined;
  const id = name.slice(ATTEMPT_COOKIE_PREFIX.length);
  return UUID.test(id) ? id : undefined;
}

function bindingMac(key: Buffer, binding: AttemptBinding): Buffer {
  return createHmac('sha256', key).update(`${MAC_PURPOSE}\n${binding.reauthorizationId}\n${binding.stateHash}`).digest();
}

/** The cookie value: `<key id, base64url>.<state hash>.<MAC, base64url>` (the key id lets a rotated ring still verify it). */
export function signAttemptBinding(ring: KeyRing, binding: AttemptBinding): string {
  const kid = ring.primaryKeyId;
  const mac = bindingMac(ring.derivedKey(MAC_PURPOSE, kid)!, binding);
  return `${Buffer.from(kid).toString('base64url')}.${binding.stateHash}.${mac.toString('base64url')}`;
}

/** The binding a cookie value proves for `reauthorizationId`, or undefined if it is not one we made for it. */
export function verifyAttemptBinding(ring: KeyRing, reauthorizationId: string, value: string): AttemptBinding | undefined {
  const parts = value.split('.');
  if (parts.length !== 3 || !UUID.test(reauthorizationId)) return undefined;
  const [kidPart, stateHash, macPart] = parts;
  if (!STATE_HASH.test(stateHash)) return undefined;
  const key = ring.derivedKey(MAC_PURPOSE, Buffer.from(kidPart, 'base64url').toString('utf8'));
  if (!key) return undefined;
  const binding = { reauthorizationId, stateHash };
  const expected = bindingMac(key, binding);
  const given = Buffer.from(macPart, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected) ? binding : undefined;
}
