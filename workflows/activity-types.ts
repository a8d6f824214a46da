import type {
  AuthType,
  CrmIdentity,
  CredentialSecret,
  NewCredentials,
  ReauthError,
  ReauthorizationInput,
  ReauthOutcome,
  ReauthPhase,
} from '../libs/domain/reauthorization';

/**
 * The activity contract as the workflows see it. Implementations live in `activities/` and are
 * wired with DI by the worker; workflows only import these types.
 */
export interface IntegrationSnapshot {
  integrationId: string;
  tenantId: string;
  provider: string;
  authType: AuthType;
  credentialVersion: number | null;
  accountId: string | null;
  /** Scopes the new credentials must hold: the integration's, the app's and this reauthorization's extra ones. */
  requiredScopes: string[];
}

export interface Activities {
  beginReauthorization(input: ReauthorizationInput & { expiresAt: string }): Promise<IntegrationSnapshot>;
  recordReauthorizationProgress(args: {
    reauthorizationId: string;
    phase: ReauthPhase;
    outcome?: ReauthOutcome | null;
    error?: ReauthError | null;
    attempts?: number;
  }): Promise<void>;
  validateApiToken(args: {
    tenantId: string;
    integrationId: string;
    provider: string;
    apiToken: string;
    expectedAccountId: string | null;
  }): Promise<CrmIdentity>;
  swapCredentials(args: {
    tenantId: string;
    integrationId: string;
    reauthorizationId: string;
    credentials?: NewCredentials;
    pendingCredentialId?: string;
    addRequiredScopes?: string[];
  }): Promise<{ version: number; alreadySwapped: boolean }>;
  prepareAuthorizationAttempt(args: { reauthorizationId: string; attempt: number }): Promise<{ attempt: number; stateHash: string }>;
  exchangeAuthorizationCode(args: {
    reauthorizationId: string;
    attempt: number;
    code: string;
    callbackParams: Record<string, string>;
  }): Promise<{ pendingCredentialId: string; grantedScopes: string[] | null; region: string | null }>;
  validatePendingCredentials(args: { pendingCredentialId: string; expectedAccountId: string | null; requiredScopes: string[] }): Promise<CrmIdentity>;
  createIntegrationWithCredentials(args: {
    integrationId: string;
    tenantId: string;
    provider: string;
    authType: AuthType;
    displayName: string;
    region: string | null;
    config: Record<string, unknown>;
    requiredScopes: string[];
    credentials: NewCredentials;
  }): Promise<{ version: number }>;
  validateInitialCredentials(args: {
    tenantId: string;
    provider: string;
    secret: CredentialSecret;
    region?: string | null;
  }): Promise<CrmIdentity>;
}
