/**
 * The `revokeGrant` workflow (id `revoke-grant:<credentialId>`): revokes, at the CRM, the grant a
 * superseded credential version came from. Started as an abandoned child by a reauthorization
 * after its swap, so neither waits on the CRM. Its input names the credential row only: the
 * refresh token is read from the credential store inside the activity.
 */
export const REVOKE_GRANT_WORKFLOW = 'revokeGrant';

export function revokeGrantWorkflowId(credentialId: string): string {
  return `revoke-grant:${credentialId}`;
}

export interface RevokeGrantInput {
  tenantId: string;
  integrationId: string;
  provider: string;
  /** The superseded credential version (row id) whose grant is revoked. */
  credentialId: string;
}

/** `revoked` / `not_live`: no longer honoured by the CRM; `not_revocable`: nothing to revoke; `gone`: the row no longer exists; `failed`: recorded in the audit trail. */
export type RevokeGrantResult = 'revoked' | 'not_live' | 'not_revocable' | 'gone' | 'failed';
