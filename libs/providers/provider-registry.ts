import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { ProviderConfig } from '../db/entities';
import { APP_CONFIG } from '../nest/tokens';
import { builtInProviders, type ProviderDefinition } from './catalog';

/** Resolves a provider key for a tenant: the built-in catalog first, then the tenant's custom providers. */
@Injectable()
export class ProviderRegistry {
  constructor(
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  catalog(): ProviderDefinition[] {
    return builtInProviders({ sandboxCrmUrl: this.cfg.sandboxCrmUrl });
  }

  async list(tenantId: string): Promise<ProviderDefinition[]> {
    const custom = await this.ds.getRepository(ProviderConfig).find({ where: { tenantId }, order: { providerKey: 'ASC' } });
    const builtIn = this.catalog();
    return [...builtIn, ...custom.filter((c) => !builtIn.some((b) => b.key === c.providerKey)).map(toDefinition)];
  }

  async resolve(tenantId: string, key: string): Promise<ProviderDefinition | undefined> {
    const builtIn = this.catalog().find((p) => p.key === key);
    if (builtIn) return builtIn;
    const custom = await this.ds.getRepository(ProviderConfig).findOne({ where: { tenantId, providerKey: key } });
    return custom ? toDefinition(custom) : undefined;
  }
}

function toDefinition(c: ProviderConfig): ProviderDefinition {
  const s = c.settings as Record<string, string | undefined> & { entities?: string[] };
  return {
    key: c.providerKey,
    name: (s.name as string) ?? c.providerKey,
    authType: c.authType === 'oauth2' ? 'oauth2' : 'api_token',
    custom: true,
    entities: s.entities ?? ['contacts', 'companies', 'deals'],
    apiToken:
      c.authType === 'api_token' && s.validationUrl
        ? {
            validationUrl: s.validationUrl,
            tokenHeader: s.tokenHeader ?? 'Authorization',
            tokenPrefix: s.tokenPrefix ?? (s.tokenHeader ? '' : 'Bearer '),
            accountIdField: s.accountIdField ?? 'id',
          }
        : undefined,
  };
}
