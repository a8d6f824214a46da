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

/** How the CRM tells who an access token belongs to. Each is a real API shape (see oauth-identity.ts). */
export type IdentityKind = 'hubspot_token_info' | 'salesforce_userinfo' | 'pipedrive_users_me' | 'zoho_org' | 'userinfo';

export interface Region {
  /** Zoho: the data center's accounts server (authorization server for that region). */
  accountsServer: string;
  apiDomain: string;
}

export interface OAuth2Definition {
  authorizationUrl: string;
  /** Token endpoint; for region-aware providers the region's accounts server decides instead. */
  tokenUrl: string;
  issuer?: string;
  scopeSeparator: ' ' | ',';
  pkce: boolean;
  clientAuth: 'client_secret_post' | 'client_secret_basic';
  defaultScopes: string[];
  extraAuthorizationParams?: Record<string, string>;
  identity: IdentityKind;
  /** HubSpot: token-info base; Salesforce/custom: userinfo URL. */
  identityUrl?: string;
  /** Custom providers: dotted path of the account id in the userinfo answer (default `sub`). */
  accountIdClaim?: string;
  /** Where API calls go when the token response does not say (Pipedrive's `api_domain`). */
  defaultApiBaseUrl?: string;
  /** Token responses may name an API host; only these prefixes are trusted (no SSRF by token response). */
  trustedApiPrefixes?: string[];
  regions?: Record<string, Region>;
  defaultRegion?: string;
  /** Authorization header prefix on API calls. */
  tokenHeaderPrefix: string;
  /**
   * How a grant is revoked once superseded (no pile-up of live grants at the CRM); absent: the CRM
   * offers no revocation and the grant is left to expire. For region-aware providers the URL is
   * relative to the region's accounts server.
   */
  revocation?: GrantRevocation;
  /** When a refresh token stops working by itself (see {@link RefreshTokenPolicy}). */
  refreshTokenPolicy?: RefreshTokenPolicy;
}

/**
 * Each CRM's way of revoking a refresh token (and the grant it belongs to):
 * - `hubspot_delete`: `DELETE <url>/<token>` (HubSpot `/oauth/v1/refresh-tokens/:token`);
 * - `form_post`: `POST <url>` with `token=<token>` form-encoded (Salesforce `/services/oauth2/revoke`,
 *   RFC 7009), with the app's client credentials when `clientAuth` says so (Pipedrive);
 * - `query_post`: `POST <url>?token=<token>` (Zoho `/oauth/v2/token/revoke`).
 */
export interface GrantRevocation {
  kind: 'hubspot_delete' | 'form_post' | 'query_post';
  url: string;
  clientAuth?: 'client_secret_basic';
}

/**
 * When a refresh token expires without being revoked: after `idleSeconds` without use (Pipedrive:
 * 60 days; Microsoft: 90 days) — each refresh that uses it starts the window again — and, for every
 * provider, whenever a token response says so (`refresh_token_expires_in`, e.g. a Salesforce org's
 * refresh token policy). The earlier of the two is recorded as the credential's `refreshTokenExpiresAt`.
 */
export interface RefreshTokenPolicy {
  idleSeconds?: number;
}

const DAY_SECONDS = 86_400;

export interface ProviderDefinition {
  key: string;
  name: string;
  authType: AuthType;
  custom: boolean;
  entities: string[];
  apiToken?: ApiTokenValidation;
  oauth2?: OAuth2Definition;
}

export interface CatalogUrls {
  sandboxCrmUrl: string;
  /** `sandbox` (default): every catalog provider points at the sandbox CRM's emulation of it. */
  crmMode?: 'sandbox' | 'production';
}

const ZOHO_REGIONS_PRODUCTION: Record<string, Region> = {
  us: { accountsServer: 'https://accounts.zoho.com', apiDomain: 'https://www.zohoapis.com' },
  eu: { accountsServer: 'https://accounts.zoho.eu', apiDomain: 'https://www.zohoapis.eu' },
  in: { accountsServer: 'https://accounts.zoho.in', apiDomain: 'https://www.zohoapis.in' },
  au: { accountsServer: 'https://accounts.zoho.com.au', apiDomain: 'https://www.zohoapis.com.au' },
  jp: { accountsServer: 'https://accounts.zoho.jp', apiDomain: 'https://www.zohoapis.jp' },
};

function zohoRegions(urls: CatalogUrls): Record<string, Region> {
  if (urls.crmMode === 'production') return ZOHO_REGIONS_PRODUCTION;
  const b = urls.sandboxCrmUrl;
  return Object.fromEntries(
    Object.keys(ZOHO_REGIONS_PRODUCTION).map((r) => [r, { accountsServer: `${b}/zoho/${r}/accounts`, apiDomain: `${b}/zoho/${r}/api` }]),
  );
}

/**
 * Built-in providers, shaped after the real APIs. Base URLs come from configuration, so the same
 * definitions reach the sandbox CRM in dev/test and the real CRM in production.
 */
export function builtInProviders(urls: CatalogUrls): ProviderDefinition[] {
  const prod = urls.crmMode === 'production';
  const b = urls.sandboxCrmUrl;
  const zoho = zohoRegions(urls);
  const crmEntities = ['contacts', 'companies', 'deals', 'users'];
  return [
    {
      key: 'sandbox',
      name: 'Sandbox CRM',
      authType: 'api_token',
      custom: false,
      entities: crmEntities,
      apiToken: {
        validationUrl: `${b}/api/v1/me`,
        tokenHeader: 'Authorization',
        tokenPrefix: 'Bearer ',
        accountIdField: 'account.id',
        userIdField: 'user.id',
        scopesField: 'scopes',
      },
    },
    {
      key: 'hubspot',
      name: 'HubSpot',
      authType: 'oauth2',
      custom: false,
      entities: crmEntities,
      oauth2: {
        authorizationUrl: prod ? 'https://app.hubspot.com/oauth/authorize' : `${b}/hubspot/oauth/authorize`,
        tokenUrl: prod ? 'https://api.hubapi.com/oauth/v1/token' : `${b}/hubspot/oauth/v1/token`,
        scopeSeparator: ' ',
        pkce: true,
        clientAuth: 'client_secret_post',
        defaultScopes: ['oauth', 'crm.objects.contacts.read', 'crm.objects.companies.read', 'crm.objects.deals.read'],
        identity: 'hubspot_token_info',
        identityUrl: prod ? 'https://api.hubapi.com/oauth/v1/access-tokens' : `${b}/hubspot/oauth/v1/access-tokens`,
        defaultApiBaseUrl: prod ? 'https://api.hubapi.com' : `${b}/hubspot`,
        tokenHeaderPrefix: 'Bearer ',
        revocation: { kind: 'hubspot_delete', url: prod ? 'https://api.hubapi.com/oauth/v1/refresh-tokens' : `${b}/hubspot/oauth/v1/refresh-tokens` },
      },
    },
    {
      key: 'salesforce',
      name: 'Salesforce',
      authType: 'oauth2',
      custom: false,
      entities: ['contacts', 'companies', 'deals', 'users'],
      oauth2: {
        authorizationUrl: prod ? 'https://login.salesforce.com/services/oauth2/authorize' : `${b}/salesforce/services/oauth2/authorize`,
        tokenUrl: prod ? 'https://login.salesforce.com/services/oauth2/token' : `${b}/salesforce/services/oauth2/token`,
        scopeSeparator: ' ',
        pkce: true,
        clientAuth: 'client_secret_post',
        defaultScopes: ['api', 'refresh_token'],
        identity: 'salesforce_userinfo',
        identityUrl: prod ? 'https://login.salesforce.com/services/oauth2/userinfo' : `${b}/salesforce/services/oauth2/userinfo`,
        trustedApiPrefixes: prod ? ['https://'] : [`${b}/salesforce`],
        tokenHeaderPrefix: 'Bearer ',
        revocation: { kind: 'form_post', url: prod ? 'https://login.salesforce.com/services/oauth2/revoke' : `${b}/salesforce/services/oauth2/revoke` },
      },
    },
    {
      key: 'pipedrive',
      name: 'Pipedrive',
      authType: 'oauth2',
      custom: false,
      entities: ['contacts', 'companies', 'deals', 'users'],
      oauth2: {
        authorizationUrl: prod ? 'https://oauth.pipedrive.com/oauth/authorize' : `${b}/pipedrive/oauth/authorize`,
        tokenUrl: prod ? 'https://oauth.pipedrive.com/oauth/token' : `${b}/pipedrive/oauth/token`,
        scopeSeparator: ',',
        pkce: false,
        clientAuth: 'client_secret_basic',
        defaultScopes: ['base', 'contacts:read', 'deals:read'],
        identity: 'pipedrive_users_me',
        defaultApiBaseUrl: prod ? 'https://api.pipedrive.com' : `${b}/pipedrive`,
        trustedApiPrefixes: prod ? ['https://api.pipedrive.com', 'https://'] : [`${b}/pipedrive`],
        tokenHeaderPrefix: 'Bearer ',
        revocation: { kind: 'form_post', url: prod ? 'https://oauth.pipedrive.com/oauth/revoke' : `${b}/pipedrive/oauth/revoke`, clientAuth: 'client_secret_basic' },
        // Pipedrive: a refresh token unused for 60 days expires.
        refreshTokenPolicy: { idleSeconds: 60 * DAY_SECONDS },
      },
    },
    {
      key: 'zoho',
      name: 'Zoho CRM',
      authType: 'oauth2',
      custom: false,
      entities: ['contacts', 'companies', 'deals', 'users'],
      oauth2: {
        authorizationUrl: `${zoho.us.accountsServer}/oauth/v2/auth`,
        tokenUrl: `${zoho.us.accountsServer}/oauth/v2/token`,
        scopeSeparator: ',',
        pkce: false,
        clientAuth: 'client_secret_post',
        defaultScopes: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ', 'ZohoCRM.org.READ'],
        extraAuthorizationParams: { access_type: 'offline', prompt: 'consent' },
        identity: 'zoho_org',
        regions: zoho,
        defaultRegion: 'us',
        tokenHeaderPrefix: 'Zoho-oauthtoken ',
        revocation: { kind: 'query_post', url: '/oauth/v2/token/revoke' },
      },
    },
  ];
}
