import assert from 'node:assert/strict';
import { scrubUrl } from '../../libs/nest/logger';
import { classifyRefreshError, statusMessage } from '../../libs/domain/status';
import { parseRetryAfter } from '../../libs/providers/errors';
import { nextRunAt, refreshMarginMs } from '../../libs/domain/refresh-schedule';
import type { RefreshPlan } from '../../libs/domain/refresh';

const base: RefreshPlan = {
  exists: true,
  tenantId: 't',
  provider: 'hubspot',
  authType: 'oauth2',
  status: 'active',
  statusReason: null,
  credentialVersion: 1,
  expiresAt: null,
  issuedAt: '2026-01-01T00:00:00.000Z',
  refreshable: true,
  lastCheckedAt: null,
  marginSeconds: 300,
  jitterSeconds: 30,
  healthCheckIntervalSeconds: 3600,
};
const at = (iso: string) => Date.parse(iso);

describe('refresh scheduling', () => {
  test('an hour-long token is refreshed the configured margin (minus jitter) before expiry', () => {
    const plan = { ...base, expiresAt: '2026-01-01T01:00:00.000Z' };
    assert.equal(refreshMarginMs(plan), 300_000);
    assert.equal(nextRunAt(plan, at(base.issuedAt), 0), at('2026-01-01T00:55:00.000Z'));
    assert.equal(nextRunAt(plan, at(base.issuedAt), 1), at('2026-01-01T00:54:30.000Z'));
  });

  test('a 30-second token is refreshed a few seconds before expiry, not in a hot loop', () => {
    const plan = { ...base, expiresAt: '2026-01-01T00:00:30.000Z', jitterSeconds: 0 };
    assert.equal(refreshMarginMs(plan), 6000);
    assert.equal(nextRunAt(plan, at(base.issuedAt), 0), at('2026-01-01T00:00:24.000Z'));
  });

  test('a token that arrives nearly expired still waits a tenth of its lifetime', () => {
    const plan = { ...base, expiresAt: '2026-01-01T00:00:01.000Z' };
    assert.ok(nextRunAt(plan, at(base.issuedAt), 0) >= at(base.issuedAt) + 1000);
  });

  test('credentials that do not expire are health-checked on the interval', () => {
    const plan = { ...base, refreshable: false, lastCheckedAt: '2026-01-01T00:00:00.000Z', jitterSeconds: 0 };
    assert.equal(nextRunAt(plan, at(base.issuedAt), 0), at('2026-01-01T01:00:00.000Z'));
  });

  test('jitter spreads a fleet expiring together over a window', () => {
    const plan = { ...base, expiresAt: '2026-01-01T01:00:00.000Z' };
    const times = new Set(Array.from({ length: 50 }, (_, k) => nextRunAt(plan, 0, k / 50)));
    assert.equal(times.size, 50);
  });

  test('the spread puts an hour-long token anywhere in the quarter hour before the margin', () => {
    const plan = { ...base, expiresAt: '2026-01-01T01:00:00.000Z', spreadPercent: 25 };
    assert.equal(nextRunAt(plan, at(base.issuedAt), 0), at('2026-01-01T00:55:00.000Z'), 'at the margin at the latest');
    assert.equal(nextRunAt(plan, at(base.issuedAt), 1), at('2026-01-01T00:40:00.000Z'), 'margin + 15 min at the earliest');
    assert.equal(nextRunAt(plan, at(base.issuedAt), 0.5), at('2026-01-01T00:47:30.000Z'));
  });

  test('a spread narrower than the jitter leaves the jitter; no spread is what plans recorded before it get', () => {
    const short = { ...base, expiresAt: '2026-01-01T00:10:00.000Z', spreadPercent: 1 }; // 6 s spread, 30 s jitter
    assert.equal(nextRunAt(short, at(base.issuedAt), 1), nextRunAt({ ...short, spreadPercent: 0 }, at(base.issuedAt), 1));
    const old = { ...base, expiresAt: '2026-01-01T01:00:00.000Z' }; // no spreadPercent
    assert.equal(nextRunAt(old, at(base.issuedAt), 1), at('2026-01-01T00:54:30.000Z'));
  });

  test('even the widest spread never refreshes sooner than a tenth of the lifetime, nor after the margin', () => {
    for (const lifetimeSeconds of [2, 30, 600, 3600, 86_400]) {
      const expiresAt = new Date(at(base.issuedAt) + lifetimeSeconds * 1000).toISOString();
      const plan = { ...base, expiresAt, spreadPercent: 50 };
      for (const random of [0, 0.25, 0.5, 0.999]) {
        const due = nextRunAt(plan, at(base.issuedAt), random);
        const earliest = at(base.issuedAt) + Math.max(1000, (lifetimeSeconds * 1000) / 10);
        assert.ok(due >= earliest, `${lifetimeSeconds} s, ${random}`);
        assert.ok(due <= Math.max(earliest, at(expiresAt) - refreshMarginMs(plan)), `${lifetimeSeconds} s, ${random}`);
      }
    }
  });
});

describe('classifyRefreshError', () => {
  test('invalid_grant is a revoked refresh token unless the CRM says the user is gone', () => {
    assert.deepEqual(classifyRefreshError({ kind: 'invalid_grant', description: 'refresh token revoked' }), { status: 'blocked', reason: 'refresh_token_revoked' });
    assert.deepEqual(classifyRefreshError({ kind: 'invalid_grant', description: 'inactive user' }), { status: 'blocked', reason: 'authorizing_user_removed' });
    assert.deepEqual(classifyRefreshError({ kind: 'invalid_grant', description: 'The user who authorized this refresh token has been removed' }), {
      status: 'blocked',
      reason: 'authorizing_user_removed',
    });
    assert.deepEqual(classifyRefreshError({ kind: 'user_removed' }), { status: 'blocked', reason: 'authorizing_user_removed' });
    assert.deepEqual(classifyRefreshError({ kind: 'invalid_credentials' }), { status: 'blocked', reason: 'invalid_credentials' });
  });

  test('transient faults do not change the status', () => {
    assert.equal(classifyRefreshError({ kind: 'transient' }), null);
    assert.equal(classifyRefreshError({ kind: 'bad_response' }), null);
  });

  test('every reason has a banner message that says what to do', () => {
    for (const reason of ['refresh_token_revoked', 'authorizing_user_removed', 'invalid_credentials']) {
      assert.match(statusMessage('blocked', reason, 'HubSpot')!, /re-authoriz/i);
    }
    assert.match(statusMessage('degraded', 'package_update', 'HubSpot')!, /keeps working/);
    assert.equal(statusMessage('active', null, 'HubSpot'), null);
  });
});

describe('hardening of parsers', () => {
  test('Retry-After: digits or an HTTP-date only', () => {
    assert.equal(parseRetryAfter('2'), 2);
    assert.equal(parseRetryAfter(' 7 '), 7);
    for (const bad of [' ', '-5', '1e3', '0x10', '1.5', 'soon']) assert.equal(parseRetryAfter(bad), undefined, bad);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')), 2);
  });

  test('scrubUrl redacts link tokens and secrets whatever the case or encoding', () => {
    assert.equal(scrubUrl('/CONNECT/abc'), '/connect/[redacted]');
    assert.equal(scrubUrl('/oauth/callback?%63ode=S&x=1'), '/oauth/callback?%63ode=[redacted]&x=1');
    assert.equal(scrubUrl('/oauth/callback?code[]=S'), '/oauth/callback?code[]=[redacted]');
    assert.equal(scrubUrl('/x?Access_Token=S#f'), '/x?Access_Token=[redacted]#f');
  });
});
