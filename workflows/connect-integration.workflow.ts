import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { AuthType, CredentialSecret } from '../libs/domain/reauthorization';
import type { Activities } from './activity-types';
import { toReauthError } from './reauthorization.workflow';

const crm = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    maximumInterval: '5 seconds',
    maximumAttempts: 4,
    nonRetryableErrorTypes: ['invalid_credentials', 'account_mismatch', 'missing_scopes', 'invalid_grant', 'unknown_provider'],
  },
});
const db = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumInterval: '30 seconds' } });

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

/**
 * Creating an integration that comes with credentials: validate them against the CRM, then insert
 * the integration and its first credential version in one transaction. Id `connect:<integrationId>`.
 * An invalid credential leaves nothing behind.
 */
export async function connectIntegration(input: ConnectIntegrationInput): Promise<{ version: number }> {
  let identity;
  try {
    identity = await crm.validateInitialCredentials({ tenantId: input.tenantId, provider: input.provider, secret: input.secret, region: input.region });
  } catch (err) {
    const error = toReauthError(err);
    throw ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true });
  }
  const created = await db.createIntegrationWithCredentials({
    integrationId: input.integrationId,
    tenantId: input.tenantId,
    provider: input.provider,
    authType: input.authType,
    displayName: input.displayName,
    region: input.region,
    config: input.config,
    requiredScopes: input.requiredScopes,
    credentials: {
      secret: input.secret,
      identity: { ...identity, scopes: identity.scopes.length ? identity.scopes : (input.scopes ?? []) },
      expiresAt: input.expiresAt,
      region: input.region,
      baseUrl: null,
    },
  });
  // From now on the integration's credentials are kept fresh and checked.
  await db.credentialsChanged({ tenantId: input.tenantId, integrationId: input.integrationId });
  return created;
}
