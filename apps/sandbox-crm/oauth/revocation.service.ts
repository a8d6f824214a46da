import { Injectable } from '@nestjs/common';
import { notFound } from '../common/sandbox-error';
import { AccessTokenRecord, OAuthProvider } from './oauth-model';
import { OAuthStatsService } from './oauth-stats.service';
import { TokenStore } from './token-store.service';

export interface Revocation {
  kind: 'access_token' | 'refresh_token';
  /** Tokens that were live until now (0 when revoking an already revoked token). */
  tokensRevoked: number;
}

/** Ends tokens early: on request (RFC 7009-style endpoints, admin), or when a grant detects reuse. */
@Injectable()
export class RevocationService {
  constructor(
    private readonly tokens: TokenStore,
    private readonly stats: OAuthStatsService,
  ) {}

  /** A provider's revocation endpoint was called: like {@link revoke}, counted when it ended something live. */
  revokeOnRequest(token: string, provider: OAuthProvider): Revocation | null {
    const result = this.revoke(token, { provider });
    if (result && result.tokensRevoked > 0) this.stats.count('revocations');
    return result;
  }

  /**
   * Revokes one token. A refresh token takes its whole family (every access and refresh token
   * from the same authorization) with it; an access token goes alone. Returns null if unknown
   * (or, with `provider`, issued by another provider shape).
   */
  revoke(token: string, options: { provider?: OAuthProvider } = {}): Revocation | null {
    const refresh = this.tokens.findRefreshToken(token);
    if (refresh && (options.provider === undefined || refresh.provider === options.provider)) {
      return { kind: 'refresh_token', tokensRevoked: this.revokeFamily(refresh.familyId) };
    }
    const access = this.tokens.findAccessToken(token);
    if (access && (options.provider === undefined || access.provider === options.provider)) {
      const wasLive = !access.revoked;
      access.revoked = true;
      return { kind: 'access_token', tokensRevoked: wasLive ? 1 : 0 };
    }
    return null;
  }

  /** Revokes every token of a family; returns how many were still live. */
  revokeFamily(familyId: string): number {
    const family = this.tokens.findFamily(familyId);
    if (!family) return 0;
    family.revoked = true;
    const records = [
      ...family.accessTokens.map((token) => this.tokens.findAccessToken(token)),
      ...family.refreshTokens.map((token) => this.tokens.findRefreshToken(token)),
    ];
    let count = 0;
    for (const record of records) {
      if (record && !record.revoked) {
        record.revoked = true;
        count += 1;
      }
    }
    return count;
  }

  /** Forces an access token to be expired now (saves tests from sleeping through a TTL). */
  expireAccessToken(token: string): AccessTokenRecord {
    const record = this.tokens.findAccessToken(token);
    if (!record) throw notFound('token_not_found', 'No such OAuth access token');
    record.expiresAt = Math.min(record.expiresAt, Date.now());
    return record;
  }
}
