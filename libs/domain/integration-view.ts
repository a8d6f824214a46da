import type { CredentialVersion, Integration, Reauthorization } from '../db/entities';

/** The public integration object of DESIGN §6. Built from columns that hold no secret. */
export function integrationView(i: Integration, cred: CredentialVersion | null, openReauth: Reauthorization | null) {
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
          region: cred.region,
        }
      : null,
    reauthorization: openReauth ? { id: openReauth.id, phase: openReauth.phase } : null,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  };
}

export type IntegrationView = ReturnType<typeof integrationView>;
