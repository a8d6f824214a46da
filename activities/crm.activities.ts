import { ApplicationFailure } from '@temporalio/common';
import { type CrmIdentity, type CredentialSecret, ERROR_MESSAGES } from '../libs/domain/reauthorization';
import { whoAmIWithApiToken } from '../libs/providers/api-token-client';
import type { ProviderDefinition } from '../libs/providers/catalog';
import { CrmError } from '../libs/providers/errors';
import { whoAmIWithAccessToken } from '../libs/providers/oauth-client';
import type { ActivityDeps } from './deps';

/**
 * Turns a CRM error into an activity failure: the user's fault is final (non-retryable), a CRM
 * hiccup is retried by Temporal, after the CRM's own Retry-After when it gave one.
 */
export function crmFailure(err: unknown): ApplicationFailure {
  if (err instanceof CrmError) {
    switch (err.kind) {
      case 'invalid_credentials':
        return ApplicationFailure.create({ type: 'invalid_credentials', message: ERROR_MESSAGES.invalid_credentials, nonRetryable: true });
      case 'user_removed':
        return ApplicationFailure.create({
          type: 'invalid_credentials',
          message: 'The CRM user these credentials belong to has been removed or deactivated. Use credentials of an active user.',
          nonRetryable: true,
        });
      case 'bad_response':
        return ApplicationFailure.create({
          type: 'invalid_credentials',
          message: `The CRM did not confirm these credentials (${err.message}).`,
          nonRetryable: true,
        });
      case 'invalid_grant':
        return ApplicationFailure.create({ type: 'invalid_grant', message: ERROR_MESSAGES.invalid_grant, nonRetryable: true });
      case 'invalid_client':
        return ApplicationFailure.create({ type: 'provider_misconfigured', message: ERROR_MESSAGES.provider_misconfigured, nonRetryable: true });
      case 'url_not_allowed':
        // Refused again on every retry: final. The message names which of the provider's URLs.
        return ApplicationFailure.create({ type: 'url_not_allowed', message: err.message, nonRetryable: true });
      case 'invalid_account_id':
        return ApplicationFailure.create({ type: 'invalid_account_id', message: err.message, nonRetryable: true });
      case 'transient':
        return ApplicationFailure.create({
          type: 'crm_unavailable',
          message: err.message,
          nonRetryable: false,
          nextRetryDelay: err.retryAfterSeconds !== undefined ? `${err.retryAfterSeconds} seconds` : undefined,
        });
    }
  }
  return ApplicationFailure.create({ type: 'crm_unavailable', message: (err as Error)?.message ?? 'CRM call failed' });
}

/** A provider that takes API tokens, with their validation settings. */
type ApiTokenProvider = ProviderDefinition & { apiToken: NonNullable<ProviderDefinition['apiToken']> };

/** Calls to the CRM: who-am-I checks of new credentials. Read-only on the CRM, safe to retry. */
export function createCrmActivities({ providers, egress }: Pick<ActivityDeps, 'providers' | 'egress'>) {
  async function apiTokenProvider(tenantId: string, key: string): Promise<ApiTokenProvider> {
    const provider = await providers.resolve(tenantId, key);
    if (!provider || provider.authType !== 'api_token' || !provider.apiToken) {
      throw ApplicationFailure.create({ type: 'unknown_provider', message: `provider "${key}" does not take API tokens`, nonRetryable: true });
    }
    return provider as ApiTokenProvider;
  }

  return {
    async validateApiToken(args: {
      tenantId: string;
      integrationId: string;
      provider: string;
      apiToken: string;
      expectedAccountId: string | null;
    }): Promise<CrmIdentity> {
      const provider = await apiTokenProvider(args.tenantId, args.provider);
      let identity: CrmIdentity;
      try {
        identity = await whoAmIWithApiToken(egress.forProvider(provider), provider.apiToken, args.apiToken);
      } catch (err) {
        throw crmFailure(err);
      }
      if (args.expectedAccountId !== null && identity.accountId !== args.expectedAccountId) {
        throw ApplicationFailure.create({ type: 'account_mismatch', message: ERROR_MESSAGES.account_mismatch, nonRetryable: true });
      }
      return identity;
    },

    async validateInitialCredentials(args: { tenantId: string; provider: string; secret: CredentialSecret; region?: string | null }): Promise<CrmIdentity> {
      const resolved = await providers.resolve(args.tenantId, args.provider);
      if (resolved?.oauth2) {
        if (!args.secret.accessToken) {
          throw ApplicationFailure.create({ type: 'invalid_credentials', message: 'this provider takes an accessToken', nonRetryable: true });
        }
        const def = resolved.oauth2;
        const region = args.region ?? def.defaultRegion ?? null;
        try {
          return await whoAmIWithAccessToken(egress.forProvider(resolved), def, {
            accessToken: args.secret.accessToken,
            metadata: { ...(region ? { region, apiBaseUrl: def.regions?.[region]?.apiDomain } : {}) },
          });
        } catch (err) {
          throw crmFailure(err);
        }
      }
      const provider = await apiTokenProvider(args.tenantId, args.provider);
      if (!args.secret.apiToken) {
        throw ApplicationFailure.create({ type: 'invalid_credentials', message: 'this provider takes an apiToken', nonRetryable: true });
      }
      try {
        return await whoAmIWithApiToken(egress.forProvider(provider), provider.apiToken, args.secret.apiToken);
      } catch (err) {
        throw crmFailure(err);
      }
    },
  };
}
