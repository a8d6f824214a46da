import { timingSafeEqual } from 'node:crypto';

/** String equality whose duration does not depend on where the strings differ (secrets, PKCE hashes). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
