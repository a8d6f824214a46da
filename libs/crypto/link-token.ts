import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, URL-safe. Only the SHA-256 is searchable in the database. */
export function generateLinkToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** AAD of a reauthorization's sealed link token: the ciphertext only opens on its own row. */
export function linkTokenAad(reauthorizationId: string): string {
  return `link:${reauthorizationId}`;
}
