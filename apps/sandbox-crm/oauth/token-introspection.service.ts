import { Injectable } from '@nestjs/common';
import { AccountsStore } from '../accounts/accounts.store';
import { Account, DataCenterRegion, User } from '../accounts/crm-model';
import { OAuthClientsService } from './oauth-clients.service';
import { AccessTokenRecord, AccessTokenRejection, OAuthClient, OAuthProvider, RefreshTokenRecord } from './oauth-model';
import { TokenStore } from './token-store.service';

export type AccessTokenResolution =
  | { ok: true; token: AccessTokenRecord; user: User; account: Account; client: OAuthClient }
  | { ok: false; rejection: AccessTokenRejection; token?: AccessTokenRecord };

export interface RefreshTokenDetails {
  token: RefreshTokenRecord;
  user: User;
  account: Account;
  client: OAuthClient;
}

/**
 * Whether a presented token still works, and for whom: the REST API's bearer guard and each
 * shape's who-am-I / token-info endpoints ask here.
 */
@Injectable()
export class TokenIntrospectionService {
  constructor(
    private readonly tokens: TokenStore,
    private readonly clients: OAuthClientsService,
    private readonly accounts: AccountsStore,
  ) {}

  /**
   * Resolves an access token for a resource call. `provider` limits it to tokens of that shape
   * (a HubSpot token means nothing to Pipedrive); `region` to tokens valid on that data center's
   * API domain (Zoho).
   */
  resolveAccessToken(token: string | null, expect: { provider?: OAuthProvider; region?: DataCenterRegion } = {}): AccessTokenResolution {
    if (!token) return { ok: false, rejection: 'missing' };
    const record = this.tokens.findAccessToken(token);
    if (!record || (expect.provider !== undefined && record.provider !== expect.provider)) return { ok: false, rejection: 'unknown' };
    const family = this.tokens.findFamily(record.familyId);
    const client = this.clients.find(record.clientId);
    if (record.revoked || !family || family.revoked || !client) return { ok: false, rejection: 'revoked', token: record };
    if (record.expiresAt <= Date.now()) return { ok: false, rejection: 'expired', token: record };
    const user = this.accounts.findUser(record.userId);
    const account = this.accounts.findAccount(record.accountId);
    if (!user || !account) return { ok: false, rejection: 'unknown' };
    if (user.removed) return { ok: false, rejection: 'user_removed', token: record };
    if (expect.region !== undefined && (record.region !== expect.region || account.region !== expect.region)) {
      return { ok: false, rejection: 'wrong_region', token: record };
    }
    return { ok: true, token: record, user, account, client };
  }

  /** A refresh token's details (HubSpot's refresh-token info endpoint); undefined if it no longer works. */
  resolveRefreshToken(token: string, provider: OAuthProvider): RefreshTokenDetails | undefined {
    const record = this.tokens.findRefreshToken(token);
    if (!record || record.provider !== provider || record.revoked || record.used) return undefined;
    const family = this.tokens.findFamily(record.familyId);
    const client = this.clients.find(record.clientId);
    const user = this.accounts.findUser(record.userId);
    const account = this.accounts.findAccount(record.accountId);
    if (!family || family.revoked || !client || !user || user.removed || !account) return undefined;
    return { token: record, user, account, client };
  }
}
