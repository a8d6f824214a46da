/** When a refresh token stops working by itself: the CRM's stated limit, the provider's idle window, the earlier of both. */
import { reauthRecommendedAt, refreshTokenExpiry } from '../../libs/domain/refresh-token-expiry';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');
const DAY = 86_400;
const iso = (ms: number) => new Date(ms).toISOString();
const base = { now: NOW, hasRefreshToken: true, statedExpiresAt: null, previousStatedExpiresAt: null, refreshTokenChanged: true, idleSeconds: undefined };

describe('refreshTokenExpiry', () => {
  test('nothing known: no expiry; no refresh token: nothing can expire', () => {
    expect(refreshTokenExpiry(base)).toEqual({ expiresAt: null, statedExpiresAt: null });
    expect(refreshTokenExpiry({ ...base, hasRefreshToken: false, statedExpiresAt: iso(NOW + 1000), idleSeconds: 60 * DAY })).toEqual({ expiresAt: null, statedExpiresAt: null });
  });

  test('an idle window (Pipedrive 60 days) counts from now, every time tokens are stored', () => {
    expect(refreshTokenExpiry({ ...base, idleSeconds: 60 * DAY }).expiresAt).toBe(iso(NOW + 60 * DAY * 1000));
    expect(refreshTokenExpiry({ ...base, idleSeconds: 60 * DAY, refreshTokenChanged: false, now: NOW + DAY * 1000 }).expiresAt).toBe(iso(NOW + 61 * DAY * 1000));
  });

  test('a stated limit is kept by a refresh that hands out no new refresh token, dropped by one that does', () => {
    const stated = iso(NOW + 3600_000);
    expect(refreshTokenExpiry({ ...base, statedExpiresAt: stated })).toEqual({ expiresAt: stated, statedExpiresAt: stated });
    expect(refreshTokenExpiry({ ...base, previousStatedExpiresAt: stated, refreshTokenChanged: false })).toEqual({ expiresAt: stated, statedExpiresAt: stated });
    expect(refreshTokenExpiry({ ...base, previousStatedExpiresAt: stated, refreshTokenChanged: true })).toEqual({ expiresAt: null, statedExpiresAt: null });
  });

  test('both: the earlier one counts; the stated one is kept apart for the next refresh', () => {
    const stated = iso(NOW + 90 * DAY * 1000);
    expect(refreshTokenExpiry({ ...base, statedExpiresAt: stated, idleSeconds: 60 * DAY })).toEqual({ expiresAt: iso(NOW + 60 * DAY * 1000), statedExpiresAt: stated });
    const soon = iso(NOW + DAY * 1000);
    expect(refreshTokenExpiry({ ...base, statedExpiresAt: soon, idleSeconds: 60 * DAY }).expiresAt).toBe(soon);
  });

  test('the recommendation is due the configured time before the expiry', () => {
    expect(reauthRecommendedAt(iso(NOW + 10 * DAY * 1000), 7 * DAY)).toBe(NOW + 3 * DAY * 1000);
  });
});
