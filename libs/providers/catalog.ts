import type { AuthType } from '../domain/reauthorization';

/**
 * How to check an API token against a CRM: GET `validationUrl` with `tokenHeader: tokenPrefix+token`;
 * 2xx means valid and `accountIdField` (a dotted path into the JSON answer) names the CRM account.
 * The same shape serves catalog providers and custom providers declared with PUT /v1/providers/:key.
 */
export interface ApiTokenValidation {
  validationUrl: string;
  tokenHeader: string;
  tokenPrefix: string;
  accountIdField: string;
  userIdField?: string;
  scopesField?: string;
}

export interface ProviderDefinition {
  key: string;
  name: string;
  authType: AuthType;
  custom: boolean;
  entities: string[];
  apiToken?: ApiTokenValidation;
}

export interface CatalogUrls {
  sandboxCrmUrl: string;
}

/**
 * Built-in providers. Base URLs come from configuration, so the same definitions reach the sandbox
 * CRM in dev/test and the real CRM in production.
 */
export function builtInProviders(urls: CatalogUrls): ProviderDefinition[] {
  return [
    {
      key: 'sandbox',
      name: 'Sandbox CRM',
      authType: 'api_token',
      custom: false,
      entities: ['contacts', 'companies', 'deals', 'users'],
      apiToken: {
        validationUrl: `${urls.sandboxCrmUrl}/api/v1/me`,
        tokenHeader: 'Authorization',
        tokenPrefix: 'Bearer ',
        accountIdField: 'account.id',
        userIdField: 'user.id',
        scopesField: 'scopes',
      },
    },
  ];
}

export function findBuiltInProvider(urls: CatalogUrls, key: string): ProviderDefinition | undefined {
  return builtInProviders(urls).find((p) => p.key === key);
}
