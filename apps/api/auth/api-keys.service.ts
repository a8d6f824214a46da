import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { parseBootstrapApiKeys } from '../../../libs/config/bootstrap-api-keys';
import type { AppConfig } from '../../../libs/config/config';
import { ApiKey, AuditEvent, Tenant } from '../../../libs/db/entities';
import type { AuditActor } from '../../../libs/domain/audit';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { ApiError, isUuid } from '../common/api-error';

/** Live API keys per tenant: enough for every environment and service, few enough that per-key limits mean something. */
export const MAX_LIVE_API_KEYS = 25;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `rk_${randomBytes(24).toString('base64url')}`;
}

/** What listings show of a key: enough to tell keys apart, far too little to use one. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, 6);
}

/** Parses `BOOTSTRAP_API_KEYS="tenantA:keyA,tenantB:keyB"` (the rule lives with the settings, which check it at start). */
export const parseBootstrapKeys = parseBootstrapApiKeys;

/** `lastUsedAt` is kept to this resolution, so that using a key costs no write per request. */
const LAST_USED_RESOLUTION_SECONDS = 60;

/** A key as its tenant sees it in listings: never the key, never its hash. */
export interface ApiKeyView {
  id: string;
  name: string | null;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** The answer to creating a key: the only time the key itself is shown. */
export interface CreatedApiKey {
  id: string;
  name: string | null;
  prefix: string;
  key: string;
  createdAt: Date;
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);
  /** When this process last wrote `last_used_at` of each key (by hash), in ms since the epoch. */
  private readonly usageNoted = new Map<string, number>();

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

  /**
   * Creates the tenant (by name) and registers the key for it; idempotent across restarts. A key
   * that was deleted (revoked) stays revoked: it is not brought back by a restart.
   */
  async ensureKey(tenantName: string, key: string): Promise<string> {
    return this.ds.transaction(async (tx) => {
      await tx.createQueryBuilder().insert().into(Tenant).values({ name: tenantName }).orIgnore().execute();
      const tenant = await tx.findOneByOrFail(Tenant, { name: tenantName });
      const inserted = await tx
        .createQueryBuilder()
        .insert()
        .into(ApiKey)
        .values({ tenantId: tenant.id, keyHash: hashApiKey(key), prefix: apiKeyPrefix(key) })
        .orIgnore()
        .execute();
      if (inserted.identifiers.length && inserted.identifiers[0]) this.logger.log(`API key ${apiKeyPrefix(key)}… registered for tenant "${tenantName}"`);
      return tenant.id;
    });
  }

  /** The tenant of a live key, else null. Read on every request: a deleted key is refused at once. */
  async tenantForKey(key: string): Promise<string | null> {
    const row = await this.ds.getRepository(ApiKey).findOne({ where: { keyHash: hashApiKey(key), revokedAt: IsNull() } });
    return row?.tenantId ?? null;
  }

  /**
   * Records that a key authenticated a request, to the minute: this process writes at most once a
   * minute per key, and the UPDATE's condition keeps several API processes to about that as well.
   * A failed write costs the request nothing (the next minute writes again).
   */
  async noteUse(keyHash: string): Promise<void> {
    const now = Date.now();
    const noted = this.usageNoted.get(keyHash);
    if (noted !== undefined && now - noted < LAST_USED_RESOLUTION_SECONDS * 1000) return;
    this.usageNoted.set(keyHash, now);
    try {
      await this.ds.query(
        `UPDATE api_keys SET last_used_at = now()
          WHERE key_hash = $1 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= now() - make_interval(secs => $2))`,
        [keyHash, LAST_USED_RESOLUTION_SECONDS],
      );
    } catch (err) {
      this.usageNoted.delete(keyHash);
      this.logger.warn(`could not record the use of an API key: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The tenant's live keys, oldest first. */
  async list(tenantId: string): Promise<ApiKeyView[]> {
    const rows = await this.ds.getRepository(ApiKey).find({ where: { tenantId, revokedAt: IsNull() }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((row) => ({ id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt }));
  }

  /** A new key for the tenant; only its hash is stored, so this answer is the only place it appears. */
  async create(tenantId: string, name: string | null, actor: AuditActor): Promise<CreatedApiKey> {
    const key = generateApiKey();
    return this.ds.transaction(async (tx) => {
      // The tenant's live keys locked, as for revoke: each key has its own rate-limit budget, so the
      // number of live keys is bounded too (and two creations at once cannot both pass the check).
      const live = await tx
        .getRepository(ApiKey)
        .createQueryBuilder('k')
        .setLock('pessimistic_write')
        .where('k.tenant_id = :tenantId AND k.revoked_at IS NULL', { tenantId })
        .getMany(); // rows, not count(*): Postgres locks no rows for an aggregate
      if (live.length >= MAX_LIVE_API_KEYS) {
        throw ApiError.conflict('too_many_api_keys', `A tenant can hold at most ${MAX_LIVE_API_KEYS} live API keys; delete one first.`);
      }
      const row = await tx.save(tx.create(ApiKey, { tenantId, keyHash: hashApiKey(key), prefix: apiKeyPrefix(key), name, revokedAt: null, lastUsedAt: null }));
      await tx.save(
        tx.create(AuditEvent, {
          tenantId,
          integrationId: null,
          type: 'api_key.created',
          data: { apiKeyId: row.id, prefix: row.prefix, name },
          actorKind: actor.kind,
          actorId: actor.id ?? null,
        }),
      );
      this.logger.log(`API key ${row.prefix}… created for tenant ${tenantId}`);
      return { id: row.id, name: row.name, prefix: row.prefix, key, createdAt: row.createdAt };
    });
  }

  /**
   * Revokes one of the tenant's live keys (the row stays, for the audit trail). Another tenant's
   * key, an unknown or an already deleted one is a 404; the tenant's last live key is refused with
   * 409 `last_api_key`, since nothing could then create another.
   */
  async revoke(tenantId: string, id: string, actor: AuditActor): Promise<void> {
    if (!isUuid(id)) throw ApiError.notFound('API key');
    const keyId = id.toLowerCase();
    await this.ds.transaction(async (tx) => {
      // Every live key of the tenant locked: two deletions at once cannot both see "another key is left".
      const live = await tx
        .getRepository(ApiKey)
        .createQueryBuilder('k')
        .setLock('pessimistic_write')
        .where('k.tenant_id = :tenantId AND k.revoked_at IS NULL', { tenantId })
        .getMany();
      const target = live.find((k) => k.id === keyId);
      if (!target) throw ApiError.notFound('API key');
      if (live.length === 1) {
        throw ApiError.conflict('last_api_key', "This is the tenant's last API key; create another one before deleting it");
      }
      await tx.update(ApiKey, { id: keyId }, { revokedAt: () => 'now()' });
      await tx.save(
        tx.create(AuditEvent, {
          tenantId,
          integrationId: null,
          type: 'api_key.deleted',
          data: { apiKeyId: keyId, prefix: target.prefix, name: target.name },
          actorKind: actor.kind,
          actorId: actor.id ?? null,
        }),
      );
    });
    this.logger.log(`API key ${keyId} deleted for tenant ${tenantId}`);
  }
}
