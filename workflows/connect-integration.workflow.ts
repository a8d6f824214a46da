import { setCurrentDetails } from '@temporalio/workflow';
import type { ConnectIntegrationInput } from '../libs/contracts';
import type { CrmIdentity } from '../libs/domain/reauthorization';
import { bookkeeping, crmWhileUserWaits } from './activity-proxies';
import { reauthFailure, toReauthError } from './failures';

/**
 * Creating an integration that comes with credentials (id `connect:<integrationId>`): validate them
 * against the CRM, then insert the integration and its first credential version in one transaction,
 * then start keeping them fresh. An invalid credential leaves nothing behind.
 */
export async function connectIntegration(input: ConnectIntegrationInput): Promise<{ version: number }> {
  setCurrentDetails('Validating the credentials with the CRM');
  const identity = await validateWithCrm(input);
  setCurrentDetails('Storing the integration and its first credential version');
  const created = await bookkeeping.createIntegrationWithCredentials({
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
      // Scopes the caller vouched for count only when the CRM cannot tell.
      identity: { ...identity, scopes: identity.scopes.length ? identity.scopes : (input.scopes ?? []) },
      expiresAt: input.expiresAt,
      region: input.region,
      baseUrl: null,
    },
  });
  await bookkeeping.credentialsChanged({ tenantId: input.tenantId, integrationId: input.integrationId });
  setCurrentDetails(`Connected: credential version ${created.version}`);
  return created;
}

/** Who-am-I with the new credentials; a refusal becomes the failure the API answers with (422/503). */
async function validateWithCrm(input: ConnectIntegrationInput): Promise<CrmIdentity> {
  try {
    return await crmWhileUserWaits.validateInitialCredentials({ tenantId: input.tenantId, provider: input.provider, secret: input.secret, region: input.region });
  } catch (err) {
    const error = toReauthError(err);
    setCurrentDetails(`Refused: ${error.code} — nothing was stored`);
    throw reauthFailure(error);
  }
}
