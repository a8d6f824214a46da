/**
 * The lost refresh answer: the CRM rotated the refresh token (the old one is spent), and the worker
 * died before our commit of the new one. The retried refresh can only present the old token again.
 * With a CRM that has a reuse grace period it gets a valid answer and the rotation is kept; without
 * one, the CRM takes the reuse for theft and revokes the grant — what remains, and how it shows.
 */
import assert from 'node:assert/strict';
import { activityExecutions } from './support/activity-history';
import { diagnostic } from './support/diagnostic';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount } from './support/oauth';
import { api, startSystem, waitFor, type TestSystem } from './support/system';

async function sandboxAdmin(sys: TestSystem, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${sys.sandboxUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return res.json();
}

async function inspect(sys: TestSystem, refreshToken: string): Promise<{ state: string; liveRefreshToken: string | null }> {
  return sandboxAdmin(sys, 'POST', '/admin/oauth/refresh-tokens/inspect', { refreshToken });
}

async function integration(sys: TestSystem, id: string): Promise<any> {
  return (await api(sys, 'GET', `/v1/integrations/${id}`, { key: sys.keyA })).body;
}

describe('the lost refresh answer (the CRM rotated the token, the worker died before our commit)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ extraEnv: { REFRESH_JITTER_SECONDS: '0', REFRESH_SPREAD_PERCENT: '0', HEALTH_CHECK_INTERVAL_SECONDS: '3600' } });
    // Rotating refresh tokens; access tokens that live an hour, so only the refresh asked for below happens.
    await configureOAuthApp(sys, 'hubspot', { extra: { rotateRefreshTokens: true, accessTokenTtlSeconds: 3600 } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  /**
   * Asks for a refresh and kills the worker after the CRM answered, before the new version is
   * committed: a deferred trigger holds the commit (sleeps, then fails it, so it never lands), the
   * worker is SIGKILLed while it waits for that commit, then started again. Temporal retries the
   * refresh once the attempt's start-to-close timeout has passed.
   */
  async function refreshAndLoseTheAnswer(integrationId: string): Promise<void> {
    const trigger = `lose_refresh_${integrationId.replace(/\W/g, '_')}`;
    await sys.pg.query(`
      CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.integration_id = ${sys.pg.escapeLiteral(integrationId)} AND NEW.metadata ? 'refreshId' THEN
          PERFORM pg_sleep(4);
          RAISE EXCEPTION 'test: this refresh never commits';
        END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER ${trigger} AFTER INSERT ON credential_versions
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${trigger}();`);
    try {
      const asked = await api(sys, 'POST', `/v1/integrations/${integrationId}/refresh`, { key: sys.keyA });
      assert.equal(asked.status, 202, asked.text);
      await waitFor(
        'the refreshed version committing (held by the trigger)',
        async () => (await sys.pg.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`)).rowCount === 1,
        30_000,
      );
      await sys.killWorker();
    } finally {
      // Waits for the held transaction to fail, then removes the trap before the retry.
      await sys.pg.query(`DROP TRIGGER IF EXISTS ${trigger} ON credential_versions; DROP FUNCTION IF EXISTS ${trigger}();`);
    }
    await sys.startWorker();
  }

  test('within the CRM’s reuse grace period the retried refresh gets a valid answer: the rotation is not lost', async () => {
    await sandboxAdmin(sys, 'POST', '/admin/oauth/settings', { refreshTokenReuseGraceSeconds: 300 });
    await sandboxAdmin(sys, 'DELETE', '/admin/oauth/stats');
    const acct = await crmAccount(sys, 'Grace Co');
    const i = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const before = await sys.readActiveSecret(i.id);
    const fromVersion = (await integration(sys, i.id)).credentials.version;

    await refreshAndLoseTheAnswer(i.id);
    // The CRM has rotated: the stored token is spent there, and our version did not move.
    assert.equal((await inspect(sys, before.refreshToken!)).state, 'rotated');
    assert.equal((await integration(sys, i.id)).credentials.version, fromVersion);

    const after = await waitFor('the retried refresh', async () => {
      const now = await integration(sys, i.id);
      return now.credentials.version > fromVersion ? now : undefined;
    }, 120_000);
    assert.equal(after.status, 'active');
    assert.equal(after.credentials.version, fromVersion + 1, 'one refresh, one new version');
    const stored = await sys.readActiveSecret(i.id);
    assert.notEqual(stored.refreshToken, before.refreshToken);
    const crm = await inspect(sys, stored.refreshToken!);
    assert.equal(crm.state, 'live', 'the stored refresh token is the one the CRM holds live');
    assert.equal(crm.liveRefreshToken, stored.refreshToken);
    const stats = await sandboxAdmin(sys, 'GET', '/admin/oauth/stats');
    assert.equal(stats.graceReuses, 1, 'the retry presented the rotated-away token once, within the grace period');
    assert.equal(stats.reuseDetections, 0);

    const refreshes = await activityExecutions(sys.client, `refresh:${i.id}`, 'refreshCredentials');
    const last = refreshes[refreshes.length - 1]!;
    assert.equal(last.status, 'completed');
    assert.ok((last.attempt ?? 0) >= 2, `the refresh was retried after the kill (attempt ${last.attempt})`);
    diagnostic(`refreshCredentials closed on attempt ${last.attempt}: ${JSON.stringify(last.result)}`);
  });

  test('without a grace period the same loss ends the grant: blocked, refresh_token_revoked, one alert (what remains)', async () => {
    await sandboxAdmin(sys, 'POST', '/admin/oauth/settings', { refreshTokenReuseGraceSeconds: 0 });
    const acct = await crmAccount(sys, 'No Grace Co');
    const i = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const before = await sys.readActiveSecret(i.id);

    await refreshAndLoseTheAnswer(i.id);
    const blocked = await waitFor('blocked', async () => {
      const now = await integration(sys, i.id);
      return now.status === 'blocked' ? now : undefined;
    }, 120_000);
    assert.equal(blocked.statusReason, 'refresh_token_revoked');
    assert.match(blocked.statusMessage, /re-authoriz/i);
    assert.equal((await inspect(sys, before.refreshToken!)).state, 'revoked', 'the CRM revoked the grant on the reuse');
    const alerts = (await api(sys, 'GET', '/v1/alerts', { key: sys.keyA })).body.data.filter((a: any) => a.integrationId === i.id);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].code, 'refresh_token_revoked');
    assert.ok(
      sys.logs.some((line) => line.includes(`refresh of ${i.id} refused on attempt`) && line.includes('may have been lost')),
      'the worker says that an earlier answer may have been lost',
    );
  });
});
