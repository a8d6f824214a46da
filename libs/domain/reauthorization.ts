/**
 * Domain vocabulary shared by the API, workflows and activities. Pure types and constants only:
 * the workflow bundle imports this file, so it must stay free of Node APIs and I/O.
 */
export type AuthType = 'api_token' | 'oauth2';

export type ReauthPhase = 'awaiting_user' | 'exchanging' | 'validating' | 'swapping' | 'completed';
export type ReauthOutcome = 'succeeded' | 'failed' | 'expired' | 'cancelled';

/** Error codes a reauthorization reports, each with a message a person can act on. */
export type ReauthErrorCode =
  | 'invalid_credentials'
  | 'account_mismatch'
  | 'missing_scopes'
  | 'invalid_grant'
  | 'access_denied'
  | 'expired'
  | 'crm_unavailable'
  | 'cancelled'
  | 'reauthorization_closed';

/** Failures of the user's input: the attempt is rejected, the reauthorization stays open for a retry. */
export const RETRYABLE_BY_USER: ReadonlySet<string> = new Set([
  'invalid_credentials',
  'account_mismatch',
  'missing_scopes',
  'access_denied',
  'crm_unavailable',
]);

export interface ReauthError {
  code: ReauthErrorCode | string;
  message: string;
}

export interface ReauthorizationInput {
  reauthorizationId: string;
  tenantId: string;
  integrationId: string;
  provider: string;
  authType: AuthType;
  fullResync: boolean;
  scopes: string[];
  region: string | null;
  reason: string | null;
  expiresInSeconds: number;
  allowAccountChange: boolean;
}

/** What the `status` query and the updates answer: never a secret. */
export interface ReauthorizationStatus {
  id: string;
  integrationId: string;
  phase: ReauthPhase;
  outcome: ReauthOutcome | null;
  error: ReauthError | null;
  attempts: number;
  expiresAt: string | null;
  credentialVersion: number | null;
  resyncId: string | null;
}

/** Identity of a CRM credential as confirmed by the CRM's who-am-I call. */
export interface CrmIdentity {
  accountId: string;
  userId: string | null;
  scopes: string[];
}

/** The secret part of a credential version; only ever handled encrypted (at rest and in history). */
export interface CredentialSecret {
  apiToken?: string;
  accessToken?: string;
  refreshToken?: string;
}

export interface NewCredentials {
  secret: CredentialSecret;
  identity: CrmIdentity;
  expiresAt: string | null;
  region: string | null;
  baseUrl: string | null;
  /** When the refresh token stops working by itself, if known. */
  refreshTokenExpiresAt?: string | null;
}

/** The integration as a reauthorization starts on it (what `beginReauthorization` hands the workflow; no secret). */
export interface IntegrationSnapshot {
  integrationId: string;
  tenantId: string;
  provider: string;
  /** The provider's display name (e.g. `HubSpot`), for what the workflow tells operators; absent in older histories. */
  providerName?: string;
  authType: AuthType;
  credentialVersion: number | null;
  accountId: string | null;
  /** Scopes the new credentials must hold: the integration's, the app's and this reauthorization's extra ones. */
  requiredScopes: string[];
}

export const REAUTH_WORKFLOW_PREFIX = 'reauth:';
export const CONNECT_WORKFLOW_PREFIX = 'connect:';

export function reauthWorkflowId(integrationId: string): string {
  return `${REAUTH_WORKFLOW_PREFIX}${integrationId}`;
}

export const ERROR_MESSAGES: Record<string, string> = {
  invalid_credentials: 'The CRM rejected these credentials. Check that the token is correct and still active, then try again.',
  account_mismatch:
    'These credentials belong to a different CRM account than the one this integration is connected to. Sign in to the original account, or start a reauthorization that allows an account change.',
  missing_scopes: 'The CRM granted fewer permissions than the integration needs. Approve all requested permissions and try again.',
  invalid_grant: 'The CRM refused the authorization code or refresh token (expired, used or revoked). Start the connection again.',
  access_denied: 'Access was denied on the CRM consent screen. Open the link again and choose Allow.',
  expired: 'The reauthorization link expired before it was completed. Start a new reauthorization.',
  crm_unavailable: 'The CRM could not be reached to validate the credentials. Nothing was changed; try again in a few minutes.',
  cancelled: 'The reauthorization was cancelled.',
  reauthorization_closed: 'This reauthorization is already finished. Start a new one.',
  provider_not_configured: 'No OAuth app is configured for this CRM. An admin must add its client id and secret first.',
  provider_misconfigured: 'The CRM refused our OAuth app credentials (client id/secret). An admin must fix the provider settings.',
  url_not_allowed: "One of the provider's URLs is not allowed (egress policy). An admin must fix the provider settings.",
  invalid_account_id: 'The CRM answer does not name a usable account id. An admin must check the provider settings (accountIdField or accountIdClaim).',
};
