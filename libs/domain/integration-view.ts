import type { CredentialVersion, Integration, Reauthorization } from '../db/entities';
import { statusMessage } from './status';

/**
 * The public integration object — the API answer and the webhook payload alike —
 * plus `statusMessage`, the inline banner text. Built from columns that hold no secret.
 */
export function integrationView(i: Integration, cred: CredentialVersion | null, openReauth: Reauthorization | null, providerName: string) {
  return {
    id: i.id,
    provider: i.provider,
    authType: i.authType,
    displayName: i.displayName,
    status: i.status,
    statusReason: i.statusReason,
    config: i.config,
    requiredScopes: i.requiredScopes,
    region: i.region,
    credentials: cred
      ? {
          version: cred.version,
          accountId: cred.accountId,
          scopes: cred.scopes,
          expiresAt: cred.expiresAt ? cred.expiresAt.toISOString() : null,
          // When the refresh token stops working by itself (idle window or CRM policy); null: not known to.
          refreshTokenExpiresAt: cred.refreshTokenExpiresAt ? cred.refreshTokenExpiresAt.toISOString() : null,
          region: cred.region,
        }
      : null,
    reauthorization: openReauth ? { id: openReauth.id, phase: openReauth.phase } : null,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
    // What is wrong and what to do (null when all is well).
    statusMessage: statusMessage(i.status, i.statusReason, providerName),
  };
}

export type IntegrationView = ReturnType<typeof integrationView>;
