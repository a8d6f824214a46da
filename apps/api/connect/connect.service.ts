import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { hashLinkToken } from '../../../libs/crypto/link-token';
import type { AppConfig } from '../../../libs/config/config';
import { hashState } from '../../../libs/crypto/oauth-attempt';
import { Integration, Reauthorization } from '../../../libs/db/entities';
import { APP_CONFIG } from '../../../libs/nest/tokens';
import { ProviderRegistry } from '../../../libs/providers/provider-registry';

/**
 * Finds reauthorizations by the secrets end customers carry (link token, OAuth state), by hash only,
 * or by id once the browser's attempt cookie has proved it began an attempt of that one.
 */
@Injectable()
export class ConnectService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(APP_CONFIG) readonly cfg: AppConfig,
    private readonly providers: ProviderRegistry,
  ) {}

  async byLinkToken(linkToken: string): Promise<{ row: Reauthorization; integration: Integration; providerName: string } | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(linkToken)) return null;
    const row = await this.ds.getRepository(Reauthorization).findOne({ where: { linkTokenHash: hashLinkToken(linkToken) } });
    return row ? this.withIntegration(row) : null;
  }

  async byState(state: string): Promise<{ row: Reauthorization; integration: Integration; providerName: string } | null> {
    if (!state || state.length > 500) return null;
    const row = await this.ds.getRepository(Reauthorization).findOne({ where: { stateHash: hashState(state) } });
    return row ? this.withIntegration(row) : null;
  }

  async byId(id: string): Promise<{ row: Reauthorization; integration: Integration; providerName: string } | null> {
    const row = await this.ds.getRepository(Reauthorization).findOne({ where: { id } });
    return row ? this.withIntegration(row) : null;
  }

  async reload(id: string): Promise<Reauthorization> {
    return this.ds.getRepository(Reauthorization).findOneByOrFail({ id });
  }

  private async withIntegration(row: Reauthorization) {
    const integration = await this.ds.getRepository(Integration).findOneByOrFail({ id: row.integrationId });
    const provider = await this.providers.resolve(row.tenantId, integration.provider);
    return { row, integration, providerName: provider?.name ?? integration.provider };
  }
}
