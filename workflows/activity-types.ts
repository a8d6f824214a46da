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
    credentials: NewCredentials;
  }): Promise<{ version: number; alreadySwapped: boolean }>;
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
  }): Promise<CrmIdentity>;
}
