import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from '@temporalio/client';
import { DataSource, Not, IsNull } from 'typeorm';
import type { AppConfig } from '../../../libs/config/config';
import type { KeyRing } from '../../../libs/crypto/key-ring';
import { Integration, ProviderConfig } from '../../../libs/db/entities';
import { APP_CONFIG, CREDENTIALS_KEY_RING, EGRESS } from '../../../libs/nest/tokens';
import type { ProcessEgress } from '../../../libs/providers/provider-egress';
import type { ProviderDefinition } from '../../../libs/providers/catalog';
import { clientSecretAad, ProviderRegistry, type ProviderSettings } from '../../../libs/providers/provider-registry';
import { ApiError } from '../common/api-error';
import { changedOriginFields, providerInUseMessage } from './provider-in-use';
import { assertProviderUrlsAllowed } from './provider-urls';
import type { PutProviderDto } from './providers.dto';
import { signalTokenRefresh } from '../../../libs/temporal/token-refresh-signal';

const KEY_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Provider catalog and the tenant's provider settings. Client secrets are sealed and never returned. */
@Injectable()
export class ProvidersService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CREDENTIALS_KEY_RING) private readonly ring: KeyRing,
    private readonly registry: ProviderRegistry,
    private readonly temporal: Client,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
    @Inject(EGRESS) private readonly egress: ProcessEgress,
  ) {}

  /**
   * A new package version may require more scopes: every connected integration of the provider is
   * checked right away (its refresh workflow runs a health check), so lacking ones turn `degraded`.
   */
  private async recheckIntegrations(tenantId: string, key: string): Promise<number> {
    const integrations = await this.ds.getRepository(Integration).find({ where: { tenantId, provider: key, credentialVersion: Not(IsNull()) } });
    for (const i of integrations) {
      await signalTokenRefresh(this.temporal, this.cfg.taskQueue, { tenantId, integrationId: i.id }, 'refreshNow');
    }
    return integrations.length;
  }

  view(p: ProviderDefinition & { configured?: boolean }, config?: ProviderConfig | null) {
    const s = (config?.settings ?? {}) as ProviderSettings;
    return {
      key: p.key,
      name: p.name,
      authType: p.authType,
      custom: p.custom,
      entities: p.entities,
      configured: p.configured ?? Boolean(config),
      oauth2: p.oauth2
        ? {
            authorizationUrl: p.oauth2.authorizationUrl,
            tokenUrl: p.oauth2.tokenUrl,
            userInfoUrl: p.oauth2.identity === 'userinfo' ? p.oauth2.identityUrl : undefined,
            pkce: p.oauth2.pkce,
            scopes: p.oauth2.defaultScopes,
            regions: p.oauth2.regions ? Object.keys(p.oauth2.regions) : undefined,
            clientId: s.clientId ?? null,
            hasClientSecret: Boolean(config?.secretCiphertext),
          }
        : undefined,
      apiToken: p.apiToken ? { validationUrl: p.apiToken.validationUrl, tokenHeader: p.apiToken.tokenHeader, accountIdField: p.apiToken.accountIdField } : undefined,
      packageVersion: s.packageVersion ?? 1,
      requiredScopes: s.requiredScopes ?? [],
    };
  }

  async list(tenantId: string) {
    const [defs, configs] = await Promise.all([this.registry.list(tenantId), this.registry.configs(tenantId)]);
    return defs.map((d) => this.view(d, configs.find((c) => c.providerKey === d.key)));
  }

  /**
   * Upserts the provider settings. The provider row is locked while the request is checked against
   * it and its integrations are counted, so two PUTs cannot both pass the check on a stale read.
   * Refusals (400, 409) throw before anything is written.
   */
  async put(tenantId: string, key: string, dto: PutProviderDto) {
    if (!KEY_RE.test(key)) throw ApiError.badRequest('validation_error', 'provider key must be lowercase letters, digits, "-" or "_" (max 64)');
    const builtIn = this.registry.catalog().find((p) => p.key === key);
    // Before the row is locked: checking a name may wait on DNS. (Catalog providers' URLs are fixed: 400 below.)
    if (!builtIn) await assertProviderUrlsAllowed(this.egress.tenantUrls, dto);
    const { existing, prev, saved } = await this.ds.transaction(async (tx) => {
      const repo = tx.getRepository(ProviderConfig);
      const existing = await repo.findOne({ where: { tenantId, providerKey: key }, lock: { mode: 'pessimistic_write' } });
      const prev = (existing?.settings ?? {}) as ProviderSettings;
      let authType: 'oauth2' | 'api_token';

      if (builtIn) {
        if (dto.authType && dto.authType !== builtIn.authType) {
          throw ApiError.badRequest('validation_error', `"${key}" is a catalog provider (${builtIn.authType}); its authType cannot be changed`);
        }
        for (const f of ['authorizationUrl', 'tokenUrl', 'userInfoUrl', 'validationUrl'] as const) {
          if (dto[f]) throw ApiError.badRequest('validation_error', `"${key}" is a catalog provider; ${f} is fixed`);
        }
        authType = builtIn.authType;
      } else {
        authType = dto.authType ?? (existing?.authType as 'oauth2' | 'api_token' | undefined) ?? (undefined as never);
        if (!authType) throw ApiError.badRequest('validation_error', `unknown provider "${key}": a custom provider needs authType "oauth2" or "api_token"`);
      }
      const merged: ProviderSettings = { ...prev };
      for (const [k, v] of Object.entries(dto)) {
        if (v !== undefined && k !== 'clientSecret' && k !== 'authType') (merged as Record<string, unknown>)[k] = v;
      }
      if (authType === 'oauth2') {
        const missing = (builtIn ? ['clientId'] : ['clientId', 'authorizationUrl', 'tokenUrl', 'userInfoUrl']).filter((f) => !(merged as Record<string, unknown>)[f]);
        if (!dto.clientSecret && !existing?.secretCiphertext) missing.push('clientSecret');
        if (missing.length) throw ApiError.badRequest('validation_error', `missing ${missing.join(', ')} for an OAuth2 provider`);
      } else if (!builtIn) {
        const missing = ['validationUrl', 'accountIdField'].filter((f) => !(merged as Record<string, unknown>)[f]);
        if (missing.length) throw ApiError.badRequest('validation_error', `missing ${missing.join(', ')} for an API-token provider`);
      }
      if (existing) {
        // A provider in use keeps its origin: see PROVIDER_FIELD_CLASSES for what may still change.
        const changed = changedOriginFields(Boolean(builtIn), existing, { providerKey: key, authType, settings: merged as never });
        if (changed.length) {
          const integrations = await tx.getRepository(Integration).count({ where: { tenantId, provider: key } });
          if (integrations > 0) throw ApiError.conflict('provider_in_use', providerInUseMessage(key, integrations, changed));
        }
      }
      const sealed = dto.clientSecret ? this.ring.sealJson(dto.clientSecret, clientSecretAad(tenantId, key)) : null;
      await repo
        .createQueryBuilder()
        .insert()
        .into(ProviderConfig)
        .values({
          tenantId,
          providerKey: key,
          authType,
          settings: merged as never,
          secretKeyId: sealed?.keyId ?? existing?.secretKeyId ?? null,
          secretCiphertext: sealed?.data ?? existing?.secretCiphertext ?? null,
        })
        .orUpdate(['auth_type', 'settings', 'secret_key_id', 'secret_ciphertext', 'updated_at'], ['tenant_id', 'provider_key'])
        .execute();
      return { existing, prev, saved: await repo.findOneOrFail({ where: { tenantId, providerKey: key } }) };
    });
    const packageChanged =
      (dto.packageVersion !== undefined && dto.packageVersion !== prev.packageVersion) ||
      (dto.requiredScopes !== undefined && JSON.stringify(dto.requiredScopes) !== JSON.stringify(prev.requiredScopes ?? []));
    if (packageChanged) await this.recheckIntegrations(tenantId, key);
    const def = await this.registry.resolve(tenantId, key);
    return { created: !existing, body: this.view({ ...def!, configured: true }, saved) };
  }
}
