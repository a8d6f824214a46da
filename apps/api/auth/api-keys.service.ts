import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import type { AppConfig } from '../../../libs/config/config';
import { ApiKey, Tenant } from '../../../libs/db/entities';
import { APP_CONFIG } from '../../../libs/nest/tokens';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `rk_${randomBytes(24).toString('base64url')}`;
}

/** Parses `BOOTSTRAP_API_KEYS="tenantA:keyA,tenantB:keyB"`. */
export function parseBootstrapKeys(spec: string): Array<{ tenant: string; key: string }> {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const idx = entry.indexOf(':');
      if (idx <= 0 || idx === entry.length - 1) throw new Error('BOOTSTRAP_API_KEYS entries must look like "tenant:key"');
      const tenant = entry.slice(0, idx).trim();
      const key = entry.slice(idx + 1).trim();
      if (!tenant) throw new Error('BOOTSTRAP_API_KEYS entries must look like "tenant:key"');
      if (key.length < 16) throw new Error('bootstrap API keys must be at least 16 characters');
      return { tenant, key };
    });
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly cfg: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.cfg.bootstrapApiKeys) return;
    for (const { tenant, key } of parseBootstrapKeys(this.cfg.bootstrapApiKeys)) {
      await this.ensureKey(tenant, key);
    }
  }

  /** Creates the tenant (by name) and registers the key for it; idempotent across restarts. */
  async ensureKey(tenantName: string, key: string): Promise<string> {
    return this.ds.transaction(async (tx) => {
      await tx.createQueryBuilder().insert().into(Tenant).values({ name: tenantName }).orIgnore().execute();
      const tenant = await tx.findOneByOrFail(Tenant, { name: tenantName });
      const inserted = await tx
        .createQueryBuilder()
        .insert()
        .into(ApiKey)
        .values({ tenantId: tenant.id, keyHash: hashApiKey(key), prefix: key.slice(0, 6) })
        .orIgnore()
        .execute();
      if (inserted.identifiers.length && inserted.identifiers[0]) this.logger.log(`API key ${key.slice(0, 6)}… registered for tenant "${tenantName}"`);
      return tenant.id;
    });
  }

  async tenantForKey(key: string): Promise<string | null> {
    const row = await this.ds.getRepository(ApiKey).findOne({ where: { keyHash: hashApiKey(key), revokedAt: IsNull() } });
    return row?.tenantId ?? null;
  }
}
