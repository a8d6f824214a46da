import type { AuthType, CredentialSecret } from '../domain/reauthorization';

/**
 * The `connectIntegration` workflow (id `connect:<integrationId>`): validates the credentials an
 * integration is created with, then creates it. The implementation lives in `workflows/`.
 */
export const CONNECT_INTEGRATION_WORKFLOW = 'connectIntegration';

export interface ConnectIntegrationInput {
  integrationId: string;
  tenantId: string;
  provider: string;
  authType: AuthType;
  displayName: string;
  region: string | null;
  config: Record<string, unknown>;
  requiredScopes: string[];
  secret: CredentialSecret;
  expiresAt: string | null;
  /** Scopes the caller says the token has, when the CRM cannot tell. */
  scopes?: string[];
}
export type ConnectIntegrationWorkflow = (input: ConnectIntegrationInput) => Promise<{ version: number }>;
