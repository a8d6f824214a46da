import type { ProviderConfig } from '../../../libs/db/entities';
import type { ProviderDefinition } from '../../../libs/providers/catalog';
import { toDefinition, type ProviderSettings } from '../../../libs/providers/provider-registry';
import type { PutProviderDto } from './providers.dto';

/**
 * Every field of PUT /v1/providers/:key, by whether it may change once integrations use the provider.
 * Checked against the DTO's keys, so a new DTO field does not compile until it is classified here.
 *
 * `origin` — decides where an integration's stored credentials are sent, how they are sent, or which
 * server and account they are taken to belong to. Changing one would hand the stored tokens (or the
 * refresh token with the client secret) to whatever the new value names on the next refresh, so it is
 * refused while the provider has integrations:
 *   - authType: oauth2 or api_token, i.e. which of the fields below apply at all;
 *   - clientId: the OAuth app the refresh tokens were issued to (the client secret goes with it);
 *   - authorizationUrl: where end users are sent to grant access (and the code comes from);
 *   - tokenUrl: receives the authorization code, the refresh token and the client secret;
 *   - userInfoUrl: receives the access token (who-am-I check);
 *   - tokenEndpointAuthMethod: how the client secret is sent (form body or Basic header);
 *   - pkce: whether the authorization code is bound to a verifier (turning it off is a downgrade);
 *   - issuer: which server is trusted to answer the callback (RFC 9207 mix-up defence);
 *   - accountIdClaim, accountIdField: which account the credentials are recognised as (the account
 *     check of every reauthorization compares against the stored one);
 *   - validationUrl: receives the API token;
 *   - tokenHeader, tokenPrefix: how the API token is sent (header name and value prefix).
 * `rotation` — clientSecret: a new secret of the SAME OAuth app (clientId unchanged) is a rotation and
 *   stays allowed; with a different clientId the request is refused for the clientId anyway.
 * `free` — does not affect where credentials go, so it may change at any time:
 *   - name: display name;
 *   - scopes: what the next authorization asks for (the user grants it; nothing stored is sent);
 *   - scopeSeparator: how that scope list is written in the authorize URL;
 *   - entities: which record types a re-sync imports (through the credentials' own API base URL);
 *   - packageVersion, requiredScopes: the package definition (a change re-checks every integration);
 *   - refreshTokenIdleDays: when the next stored credentials' refresh token is expected to expire.
 */
export const PROVIDER_FIELD_CLASSES = {
  authType: 'origin',
  name: 'free',
  clientId: 'origin',
  clientSecret: 'rotation',
  scopes: 'free',
  entities: 'free',
  authorizationUrl: 'origin',
  tokenUrl: 'origin',
  userInfoUrl: 'origin',
  accountIdClaim: 'origin',
  pkce: 'origin',
  scopeSeparator: 'free',
  tokenEndpointAuthMethod: 'origin',
  issuer: 'origin',
  refreshTokenIdleDays: 'free',
  validationUrl: 'origin',
  tokenHeader: 'origin',
  tokenPrefix: 'origin',
  accountIdField: 'origin',
  packageVersion: 'free',
  requiredScopes: 'free',
} as const satisfies Record<keyof PutProviderDto, 'origin' | 'rotation' | 'free'>;

type FieldClasses = typeof PROVIDER_FIELD_CLASSES;
type OriginField = { [K in keyof FieldClasses]-?: FieldClasses[K] extends 'origin' ? K : never }[keyof FieldClasses];

/**
 * The value an origin field actually takes effect with, defaults applied (toDefinition is what the
 * worker uses), so re-sending a default explicitly — tokenPrefix "" for an X-Api-Key header, say —
 * is not a change, and a change that only moves a default (a new tokenHeader changes the default
 * tokenPrefix) is one.
 */
function effectiveOrigin(field: OriginField, def: ProviderDefinition | undefined, settings: ProviderSettings): unknown {
  switch (field) {
    case 'authType':
      return def?.authType;
    case 'clientId':
      return settings.clientId;
    case 'authorizationUrl':
      return def?.oauth2?.authorizationUrl;
    case 'tokenUrl':
      return def?.oauth2?.tokenUrl;
    case 'userInfoUrl':
      return def?.oauth2?.identityUrl;
    case 'accountIdClaim':
      return def?.oauth2?.accountIdClaim;
    case 'pkce':
      return def?.oauth2?.pkce;
    case 'tokenEndpointAuthMethod':
      return def?.oauth2?.clientAuth;
    case 'issuer':
      return def?.oauth2?.issuer;
    case 'validationUrl':
      return def?.apiToken?.validationUrl;
    case 'tokenHeader':
      return def?.apiToken?.tokenHeader;
    case 'tokenPrefix':
      return def?.apiToken?.tokenPrefix;
    case 'accountIdField':
      return def?.apiToken?.accountIdField;
  }
}

const ORIGIN_FIELDS = (Object.keys(PROVIDER_FIELD_CLASSES) as Array<keyof FieldClasses>).filter(
  (f): f is OriginField => PROVIDER_FIELD_CLASSES[f] === 'origin',
);

/**
 * Origin fields whose effective value would differ between the stored provider and the one a PUT
 * would store. Catalog providers have fixed endpoints (a PUT cannot name them), so only their OAuth
 * app's clientId can move. Setting a clientId where none was stored establishes the OAuth app rather
 * than moving it: no credential can have been issued through an app that did not exist.
 */
export function changedOriginFields(
  builtIn: boolean,
  before: Pick<ProviderConfig, 'providerKey' | 'authType' | 'settings'>,
  after: Pick<ProviderConfig, 'providerKey' | 'authType' | 'settings'>,
): OriginField[] {
  const beforeSettings = before.settings as ProviderSettings;
  const afterSettings = after.settings as ProviderSettings;
  const beforeDef = builtIn ? undefined : toDefinition(before as ProviderConfig);
  const afterDef = builtIn ? undefined : toDefinition(after as ProviderConfig);
  return ORIGIN_FIELDS.filter((field) => {
    if (builtIn && field !== 'clientId') return false;
    // A client id only routes credentials of an OAuth2 provider (an API-token row may carry a stray one).
    if (field === 'clientId' && (before.authType !== 'oauth2' || beforeSettings.clientId === undefined)) return false;
    const was = effectiveOrigin(field, beforeDef, beforeSettings);
    const becomes = effectiveOrigin(field, afterDef, afterSettings);
    return JSON.stringify(was) !== JSON.stringify(becomes);
  });
}

/** The 409 message: what cannot change, why, and how to move the integrations instead. */
export function providerInUseMessage(key: string, integrations: number, fields: string[]): string {
  const count = integrations === 1 ? '1 integration uses it' : `${integrations} integrations use it`;
  return (
    `Provider "${key}" cannot change ${fields.join(', ')}: ${count}, and ${fields.length === 1 ? 'this field decides' : 'these fields decide'} ` +
    'where and how their stored credentials are sent. To move them, create a provider under a new key ' +
    '(PUT /v1/providers/<new-key> with the new settings) and re-authorize the integrations onto it ' +
    '(create each integration again with the new provider and let its user connect it). ' +
    'Display name, scopes, entities and the package definition can still be changed here; ' +
    'so can the client secret of the same client id (rotation).'
  );
}
