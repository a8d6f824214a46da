import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config';
import { KeyRing } from '../crypto/key-ring';
import { ProviderConfig } from '../db/entities';
import { APP_CONFIG, CREDENTIALS_KEY_RING } from '../nest/tokens';
import { builtInProviders, type ProviderDefinition } from './catalog';
import type { OAuthApp } from './oauth-client';

/** Settings of a provider_configs row (non-secret; the client secret is sealed separately). */
export interface ProviderSettings {
  name?: string;
  clientId?: string;
  scopes?: string[];
  entities?: string[];
  // custom oauth2
  authorizationUrl?: string;
  tokenUrl?: string;
  userInfoUrl?: string;
  accountIdClaim?: string;
  pkce?: boolean;
  scopeSeparator?: ' ' | ',';
  tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  issuer?: string;
  refreshTokenIdleDays?: number;
  // custom api_token
  validationUrl?: string;
  tokenHeader?: string;
  tokenPrefix?: string;
  accountIdField?: string;
  /** Raising it with more requiredScopes marks existing integrations degraded (package update). */
  packageVersion?: number;
  requiredScopes?: string[];
}

export function clientSecretAad(tenantId: string, key: string): string {
  return `provider:${tenantId}:${key}`;
}

/** Resolves a provider key for a tenant: the built-in catalog first, then the tenant's custom providers. */
@Injectable()
export class ProviderRegistry {
  constructor(
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
  ) {}

  catalog(): ProviderDefinition[] {
    return builtInProviders({ sandboxCrmUrl: this.cfg.sandboxCrmUrl, crmMode: this.cfg.crmMode });
  }

  isBuiltIn(key: string): boolean {
    return this.catalog().some((p) => p.key === key);
  }

  async configs(tenantId: string): Promise<ProviderConfig[]> {
    return this.ds.getRepository(ProviderConfig).find({ where: { tenantId }, order: { providerKey: 'ASC' } });
  }

  async list(tenantId: string): Promise<Array<ProviderDefinition & { configured: boolean }>> {
    const configs = await this.configs(tenantId);
    const builtIn = this.catalog().map((p) => ({ ...p, configured: p.authType === 'api_token' || configs.some((c) => c.providerKey === p.key) }));
    const custom = configs.filter((c) => !this.isBuiltIn(c.providerKey)).map((c) => ({ ...toDefinition(c), configured: true }));
    return [...builtIn, ...custom];
  }

  /**
   * The provider `key` as tenant `tenantId` sees it. Inside a transaction, pass its manager: a read
   * through the pool while the transaction holds a connection deadlocks the pool as soon as as many
   * such transactions run at once as it has connections (20 concurrent reauthorization starts on a
   * pool of 10 did).
   */
  async resolve(tenantId: string, key: string, manager: EntityManager = this.ds.manager): Promise<ProviderDefinition | undefined> {
    const builtIn = this.catalog().find((p) => p.key === key);
    const config = await manager.getRepository(ProviderConfig).findOne({ where: { tenantId, providerKey: key } });
    if (builtIn) {
      if (builtIn.oauth2 && config?.settings && Array.isArray((config.settings as ProviderSettings).scopes)) {
        return { ...builtIn, oauth2: { ...builtIn.oauth2, defaultScopes: (config.settings as ProviderSettings).scopes! } };
      }
      return builtIn;
    }
    return config ? toDefinition(config) : undefined;
  }

  /** The tenant's OAuth app (client id and decrypted secret) for a provider, if configured. */
  async oauthApp(tenantId: string, key: string): Promise<OAuthApp | undefined> {
    const config = await this.ds.getRepository(ProviderConfig).findOne({ where: { tenantId, providerKey: key } });
    const s = config?.settings as ProviderSettings | undefined;
    if (!config || !s?.clientId || !config.secretCiphertext || !config.secretKeyId) return undefined;
    const clientSecret = this.ring.openJson<string>({ keyId: config.secretKeyId, data: config.secretCiphertext }, clientSecretAad(tenantId, key));
    return { clientId: s.clientId, clientSecret, scopes: s.scopes };
  }

  /** Scopes an integration of this provider must hold, per the tenant's package definition. */
  async packageRequirements(tenantId: string, key: string): Promise<{ packageVersion: number; requiredScopes: string[] }> {
    const config = await this.ds.getRepository(ProviderConfig).findOne({ where: { tenantId, providerKey: key } });
    const s = (config?.settings ?? {}) as ProviderSettings;
    return { packageVersion: s.packageVersion ?? 1, requiredScopes: s.requiredScopes ?? [] };
  }
}

export function toDefinition(c: ProviderConfig): ProviderDefinition {
  const s = c.settings as ProviderSettings;
  const base = {
    key: c.providerKey,
    name: s.name ?? c.providerKey,
    custom: true,
    entities: s.entities ?? ['contacts', 'companies', 'deals'],
  };
  if (c.authType === 'oauth2') {
    return {
      ...base,
      authType: 'oauth2',
      oauth2: {
        authorizationUrl: s.authorizationUrl!,
        tokenUrl: s.tokenUrl!,
        issuer: s.issuer,
        scopeSeparator: s.scopeSeparator ?? ' ',
        pkce: s.pkce ?? true,
        clientAuth: s.tokenEndpointAuthMethod ?? 'client_secret_post',
        defaultScopes: s.scopes ?? [],
        identity: 'userinfo',
        identityUrl: s.userInfoUrl,
        accountIdClaim: s.accountIdClaim ?? 'sub',
        tokenHeaderPrefix: 'Bearer ',
        ...(s.refreshTokenIdleDays ? { refreshTokenPolicy: { idleSeconds: s.refreshTokenIdleDays * 86_400 } } : {}),
      },
    };
  }
  return {
    ...base,
    authType: 'api_token',
    apiToken: {
      validationUrl: s.validationUrl!,
      tokenHeader: s.tokenHeader ?? 'Authorization',
      tokenPrefix: s.tokenPrefix ?? (s.tokenHeader && s.tokenHeader.toLowerCase() !== 'authorization' ? '' : 'Bearer '),
      accountIdField: s.accountIdField ?? 'id',
    },
  };
}
