import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataCenterRegion } from '../accounts/crm-model';
import {
  ACCESS_TOKEN_PREFIX,
  AccessTokenRecord,
  AuthorizationCode,
  REFRESH_TOKEN_PREFIX,
  RefreshTokenRecord,
  TokenFamily,
} from './oauth-model';

/**
 * Every access and refresh token issued, grouped in families (all tokens descending from one
 * authorization code). Tokens are never deleted, only flagged, so a revoked one still answers as
 * revoked rather than unknown.
 */
@Injectable()
export class TokenStore {
  private readonly families = new Map<string, TokenFamily>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly refreshTokens = new Map<string, RefreshTokenRecord>();

  /** A new, empty family for the tokens a code exchange (or an admin-issued grant) is about to issue. */
  startFamily(code: Pick<AuthorizationCode, 'provider' | 'clientId' | 'userId' | 'accountId'>): TokenFamily {
    const family: TokenFamily = {
      id: 'fam_' + randomBytes(8).toString('hex'),
      provider: code.provider,
      clientId: code.clientId,
      userId: code.userId,
      accountId: code.accountId,
      accessTokens: [],
      refreshTokens: [],
      revoked: false,
      createdAt: Date.now(),
    };
    this.families.set(family.id, family);
    return family;
  }

  issueAccessToken(family: TokenFamily, grant: { region: DataCenterRegion; scopes: string[]; ttlSeconds: number }): AccessTokenRecord {
    const now = Date.now();
    const record: AccessTokenRecord = {
      token: ACCESS_TOKEN_PREFIX + randomBytes(24).toString('hex'),
      familyId: family.id,
      provider: family.provider,
      clientId: family.clientId,
      userId: family.userId,
      accountId: family.accountId,
      region: grant.region,
      scopes: [...grant.scopes],
      issuedAt: now,
      expiresAt: now + grant.ttlSeconds * 1000,
      revoked: false,
    };
    this.accessTokens.set(record.token, record);
    family.accessTokens.push(record.token);
    return record;
  }

  issueRefreshToken(family: TokenFamily, grant: { region: DataCenterRegion; scopes: string[]; ttlSeconds?: number | null }): RefreshTokenRecord {
    const record: RefreshTokenRecord = {
      token: REFRESH_TOKEN_PREFIX + randomBytes(24).toString('hex'),
      familyId: family.id,
      provider: family.provider,
      clientId: family.clientId,
      userId: family.userId,
      accountId: family.accountId,
      region: grant.region,
      scopes: [...grant.scopes],
      issuedAt: Date.now(),
      used: false,
      revoked: false,
      expiresAt: grant.ttlSeconds ? Date.now() + grant.ttlSeconds * 1000 : null,
    };
    this.refreshTokens.set(record.token, record);
    family.refreshTokens.push(record.token);
    return record;
  }

  /** The families of one user's grants to one app, oldest first (Map order is insertion order). */
  familiesOf(filter: { provider?: string; clientId?: string; userId?: string }): TokenFamily[] {
    return [...this.families.values()].filter(
      (f) =>
        (filter.provider === undefined || f.provider === filter.provider) &&
        (filter.clientId === undefined || f.clientId === filter.clientId) &&
        (filter.userId === undefined || f.userId === filter.userId),
    );
  }

  /** The refresh tokens of a family that still work (not revoked, not rotated away, not expired). */
  liveRefreshTokens(family: TokenFamily, now = Date.now()): RefreshTokenRecord[] {
    if (family.revoked) return [];
    return family.refreshTokens
      .map((token) => this.refreshTokens.get(token))
      .filter((r): r is RefreshTokenRecord => r !== undefined && !r.revoked && !r.used && (r.expiresAt === null || r.expiresAt > now));
  }

  findFamily(familyId: string): TokenFamily | undefined {
    return this.families.get(familyId);
  }

  findAccessToken(token: string): AccessTokenRecord | undefined {
    return this.accessTokens.get(token);
  }

  findRefreshToken(token: string): RefreshTokenRecord | undefined {
    return this.refreshTokens.get(token);
  }

  /**
   * The refresh token a client of `familyId` must hold now: the newest one neither rotated away nor
   * revoked (null once the family is revoked or has none).
   */
  liveRefreshToken(familyId: string): RefreshTokenRecord | null {
    const family = this.families.get(familyId);
    if (!family || family.revoked) return null;
    for (let i = family.refreshTokens.length - 1; i >= 0; i--) {
      const record = this.refreshTokens.get(family.refreshTokens[i]!);
      if (record && !record.used && !record.revoked) return record;
    }
    return null;
  }

  reset(): void {
    this.families.clear();
    this.accessTokens.clear();
    this.refreshTokens.clear();
  }
}
