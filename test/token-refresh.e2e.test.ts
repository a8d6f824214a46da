/**
 * Keeping tokens fresh and telling people when they go bad: the tokenRefresh workflow against the
 * sandbox CRM's OAuth emulations, with real Temporal, Postgres, worker and API processes.
 */
import assert from 'node:assert/strict';
import { beginAttempt, configureOAuthApp, connectedOAuthIntegration, crmAccount, oauthRoundTrip } from './support/oauth';
import { Webhook } from 'standardwebhooks';
import { activityExecutions } from './support/activity-history';
import { api, connectedIntegration, sandboxFault, startSystem, waitFor, type TestSystem } from './support/system';
import { Receiver } from './support/webhook-receiver';
import { diagnostic } from './support/diagnostic';

async function integration(sys: TestSystem, id: string): Promise<any> {
  return (await api(sys, 'GET', `/v1/integrations/${id}`, { key: sys.keyA })).body;
}

async function versions(sys: TestSystem, id: string): Promise<Array<{ version: number; state: string; created_at: Date; expires_at: Date | null; metadata: any }>> {
  return (
    await sys.pg.query(`SELECT version, state, created_at, expires_at, metadata FROM credential_versions WHERE integration_id = $1 AND version IS NOT NULL ORDER BY version`, [id])
  ).rows;
}

describe('token refresh, status classification and alerts', () => {
  let sys: TestSystem;
  const receiver = new Receiver();
  let webhookSecret = '';
  beforeAll(async () => {
    sys = await startSystem({ extraEnv: { REFRESH_JITTER_SECONDS: '0', REFRESH_SPREAD_PERCENT: '0', HEALTH_CHECK_INTERVAL_SECONDS: '3600', WEBHOOK_RETRY_INITIAL_SECONDS: '1' } });
    await receiver.start();
    const endpoint = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url: receiver.url('/hooks') } });
    assert.equal(endpoint.status, 201, endpoint.text);
    webhookSecret = endpoint.body.secret;
    await configureOAuthApp(sys, 'hubspot', { extra: { accessTokenTtlSeconds: 10, rotateRefreshTokens: true } });
    await configureOAuthApp(sys, 'salesforce');
    await configureOAuthApp(sys, 'pipedrive');
  });
  afterAll(async () => {
    await receiver.stop();
    await sys?.stop();
  });

  test('a short-lived token is refreshed before it expires, again and again, with the rotated refresh token stored', async () => {
    const acct = await crmAccount(sys, 'Fresh Co');
    const i = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const rows = await waitFor('three refreshes', async () => {
      const v = await versions(sys, i.id);
      return v.length >= 4 ? v : undefined;
    }, 60_000);
    for (let k = 1; k < rows.length; k++) {
      const prev = rows[k - 1];
      const next = rows[k];
      // Each refresh happened before the token it replaced expired, but not absurdly early.
      assert.ok(next.created_at.getTime() < prev.expires_at!.getTime(), `version ${next.version} was refreshed before ${prev.version} expired`);
      assert.ok(prev.expires_at!.getTime() - next.created_at.getTime() < 10_000);
      assert.equal(next.metadata.rotated, true, 'the refresh token was rotated and stored');
      diagnostic(`v${next.version} refreshed ${prev.expires_at!.getTime() - next.created_at.getTime()} ms before v${prev.version} expired`);
    }
    const now = await integration(sys, i.id);
    assert.equal(now.status, 'active');
    assert.ok(now.credentials.version >= 4);
  });

  test('429 with Retry-After: 2 is honoured: no retry sooner', async () => {
    const acct = await crmAccount(sys, 'Busy Co');
    const i = await connectedOAuthIntegration(sys, 'pipedrive', acct.userId);
    const before = (await integration(sys, i.id)).credentials.version;
    await sandboxFault(sys, { pathPrefix: '/pipedrive/oauth/token', status: 429, retryAfterSeconds: 2, count: 1 });
    const t0 = Date.now();
    const r = await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA });
    assert.equal(r.status, 202);
    await waitFor('refresh after the 429', async () => (await integration(sys, i.id)).credentials.version > before, 20_000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 2000, `refreshed after ${elapsed} ms, not sooner than Retry-After`);
    const faults = (await (await fetch(`${sys.sandboxUrl}/admin/faults`)).json()) as any;
    assert.equal(faults.faults.length, 0, 'the 429 was served');
  });

  test('a revoked refresh token blocks the integration with one alert; a reauthorization makes it active again and refresh resumes', async () => {
    const acct = await crmAccount(sys, 'Revoked Co');
    const i = await connectedOAuthIntegration(sys, 'pipedrive', acct.userId);
    // Revoke the grant in the CRM, then ask for a refresh.
    await revokeAllRefreshTokensOf(sys, i.id);
    await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA });
    const blocked = await waitFor('blocked', async () => {
      const x = await integration(sys, i.id);
      return x.status === 'blocked' ? x : undefined;
    });
    assert.equal(blocked.statusReason, 'refresh_token_revoked');
    assert.match(blocked.statusMessage, /re-authoriz/i);
    // Asking again does not stack alerts.
    await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA });
    await new Promise((r) => setTimeout(r, 1500));
    const alerts = (await api(sys, 'GET', '/v1/alerts', { key: sys.keyA })).body.data.filter((a: any) => a.integrationId === i.id);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].code, 'refresh_token_revoked');
    assert.equal(alerts[0].level, 'error');
    assert.equal((await api(sys, 'GET', '/v1/alerts', { key: sys.keyB })).body.data.length, 0, 'other tenants see no alert');
    const list = (await api(sys, 'GET', '/v1/integrations', { key: sys.keyA })).body.data;
    assert.equal(list.find((x: any) => x.id === i.id).status, 'blocked');

    // Exactly one authentication_error webhook, signed per Standard Webhooks, without a secret.
    const secrets = Object.values(await sys.readActiveSecret(i.id)) as string[];
    const errors = await waitFor('authentication_error webhook', async () => {
      const r = receiver.about('/hooks', i.id, 'integrated_account:authentication_error');
      return r.length ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(receiver.about('/hooks', i.id, 'integrated_account:authentication_error').length, 1);
    const hook = errors[0];
    const verified = new Webhook(webhookSecret).verify(hook.raw, hook.headers) as any;
    assert.equal(verified.event, 'integrated_account:authentication_error');
    assert.equal(verified.payload.reason, 'refresh_token_revoked');
    assert.equal(verified.payload.integrated_account.id, i.id);
    assert.equal(verified.payload.integrated_account.status, 'blocked');
    for (const secret of secrets) assert.equal(hook.raw.includes(secret), false, 'no secret in the webhook body');

    const { status } = await oauthRoundTrip(sys, i.id, acct.userId);
    assert.equal(status.outcome, 'succeeded');
    // The recovery is announced: reauthorized, and the status is active again.
    const reauthorized = await waitFor('reauthorized webhook', async () => receiver.about('/hooks', i.id, 'integrated_account:reauthorized')[0]);
    assert.equal(reauthorized.body.payload.integrated_account.status, 'active');
    const recovered = await waitFor('status_changed to active', async () =>
      receiver.about('/hooks', i.id, 'integrated_account:status_changed').find((r) => r.body.payload.integrated_account.status === 'active'),
    );
    assert.ok(recovered);
    const healed = await integration(sys, i.id);
    assert.equal(healed.status, 'active');
    assert.equal(healed.statusReason, null);
    assert.equal((await api(sys, 'GET', '/v1/alerts', { key: sys.keyA })).body.data.filter((a: any) => a.integrationId === i.id).length, 0);
    // Refresh works again, on the new credentials.
    const v = healed.credentials.version;
    await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA });
    await waitFor('refresh on the new credentials', async () => (await integration(sys, i.id)).credentials.version > v, 20_000);
    assert.equal((await integration(sys, i.id)).status, 'active');
  });

  test('the authorizing user removed from the CRM: blocked / authorizing_user_removed (OAuth and API token)', async () => {
    const acct = await crmAccount(sys, 'Leaver Co');
    const oauth = await connectedOAuthIntegration(sys, 'salesforce', acct.userId);
    const token = await connectedIntegration(sys);
    await fetch(`${sys.sandboxUrl}/admin/users/${acct.userId}`, { method: 'DELETE' });
    await fetch(`${sys.sandboxUrl}/admin/users/${token.userId}`, { method: 'DELETE' });
    await api(sys, 'POST', `/v1/integrations/${oauth.id}/refresh`, { key: sys.keyA });
    await api(sys, 'POST', `/v1/integrations/${token.integration.id}/refresh`, { key: sys.keyA });
    for (const id of [oauth.id, token.integration.id]) {
      const x = await waitFor('blocked', async () => {
        const y = await integration(sys, id);
        return y.status === 'blocked' ? y : undefined;
      });
      assert.equal(x.statusReason, 'authorizing_user_removed', `${x.provider}: ${x.statusReason}`);
    }
  });

  test('a new package version that needs more scopes makes integrations degraded, and they keep serving', async () => {
    const acct = await crmAccount(sys, 'Package Co');
    const i = await connectedIntegration(sys);
    void acct;
    const put = await api(sys, 'PUT', '/v1/providers/sandbox', { key: sys.keyA, body: { packageVersion: 2, requiredScopes: ['crm.read', 'crm.tickets.read'] } });
    assert.ok(put.status === 200 || put.status === 201, put.text);
    const degraded = await waitFor('degraded', async () => {
      const y = await integration(sys, i.integration.id);
      return y.status === 'degraded' ? y : undefined;
    });
    assert.equal(degraded.statusReason, 'package_update');
    assert.match(degraded.statusMessage, /keeps working/);
    assert.equal(degraded.credentials.version, i.integration.credentials.version, 'credentials untouched');
    const alert = (await api(sys, 'GET', '/v1/alerts', { key: sys.keyA })).body.data.find((a: any) => a.integrationId === i.integration.id);
    assert.equal(alert.level, 'warning');
    // It still serves: its token still reads from the CRM.
    const me = await fetch(`${sys.sandboxUrl}/api/v1/me`, { headers: { authorization: `Bearer ${i.token}` } });
    assert.equal(me.status, 200);
    // Reset the package for the other tests.
    await api(sys, 'PUT', '/v1/providers/sandbox', { key: sys.keyA, body: { packageVersion: 3, requiredScopes: [] } });
    await waitFor('active again', async () => (await integration(sys, i.integration.id)).status === 'active');
  });

  test('refreshes racing reauthorizations never overwrite newer credentials (20 rounds)', async () => {
    const acct = await crmAccount(sys, 'Race Co');
    const i = await connectedOAuthIntegration(sys, 'pipedrive', acct.userId);
    /** Every 5th round forces the race instead of leaving it to timing (see below). */
    const forced = (round: number) => round % 5 === 4;
    for (let round = 0; round < 20; round++) {
      const started = await api(sys, 'POST', `/v1/integrations/${i.id}/reauthorizations`, { key: sys.keyA, body: {} });
      assert.ok(started.status === 201 && started.body.authorizeUrl, `round ${round}: start answered ${started.status} ${started.text}`);
      // The browser continues from the link (which binds the attempt to it), as a person would.
      const attempt = await beginAttempt(started.body.linkUrl);
      const redirect: any = await (
        await fetch(`${sys.sandboxUrl}/admin/oauth/authorize`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ authorizeUrl: started.body.authorizeUrl, userId: acct.userId }),
        })
      ).json();
      assert.ok(redirect.redirectTo, `round ${round}: consent answered ${JSON.stringify(redirect)}`);
      let page: Response;
      if (forced(round)) {
        // The refresh reaches the CRM's token endpoint first and is held there for 4 s; meanwhile
        // the callback's reauthorization exchanges its code (the fault is used up) and swaps. The
        // refresh then comes back with tokens of a grant that is no longer current.
        await sandboxFault(sys, { pathPrefix: '/pipedrive/oauth/token', delayMs: 4000, count: 1 });
        await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA });
        await waitFor(`round ${round}: the refresh held at the token endpoint`, async () => {
          const armed = (await (await fetch(`${sys.sandboxUrl}/admin/faults`)).json()) as { faults: unknown[] };
          return armed.faults.length === 0;
        });
        page = await fetch(redirect.redirectTo, { headers: { cookie: attempt.cookie } });
      } else {
        [page] = await Promise.all([fetch(redirect.redirectTo, { headers: { cookie: attempt.cookie } }), api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA })]);
      }
      const done = await waitFor('reauth done', async () => {
        const r = (await api(sys, 'GET', `/v1/reauthorizations/${started.body.id}`, { key: sys.keyA })).body;
        return r.outcome ? r : undefined;
      });
      assert.equal(done.outcome, 'succeeded', `round ${round}: callback page ${page.status}, reauthorization ${JSON.stringify(done)}`);
    }
    await new Promise((r) => setTimeout(r, 5000)); // the last held refresh comes back
    // Every write was a compare-and-swap on the version it started from: no gaps, no overwrite.
    const events = (
      await sys.pg.query(`SELECT type, data FROM audit_events WHERE integration_id = $1 AND type IN ('credentials.swapped','credentials.refreshed') ORDER BY created_at`, [i.id])
    ).rows;
    const swaps = events.filter((e) => e.type === 'credentials.swapped').length;
    assert.equal(swaps, 21, 'every reauthorization swapped');
    for (const e of events) assert.equal(e.data.toVersion, e.data.fromVersion + 1, `${e.type} ${JSON.stringify(e.data)} built on the version active at the time`);
    const active = (await sys.pg.query(`SELECT count(*)::int AS n FROM credential_versions WHERE integration_id = $1 AND state = 'active'`, [i.id])).rows[0].n;
    assert.equal(active, 1);
    const final = await integration(sys, i.id);
    assert.equal(final.status, 'active');

    // The race really happened: some refreshes lost to a reauthorization (outcome `superseded`,
    // their tokens dropped) — otherwise this test would prove nothing about racing.
    const refreshes = await activityExecutions(sys.client, `refresh:${i.id}`, 'refreshCredentials');
    // Every refresh went to the CRM's own rate-capped task queue, none to the main one.
    assert.deepEqual([...new Set(refreshes.map((r) => r.taskQueue))], [`${sys.taskQueue}.crm.pipedrive`]);
    const outcomes = refreshes.filter((r) => r.status === 'completed').map((r) => (r.result as { outcome: string }).outcome);
    const superseded = outcomes.filter((o) => o === 'superseded').length;
    diagnostic(`${refreshes.length} refreshes: ${outcomes.filter((o) => o === 'refreshed').length} stored, ${superseded} superseded by a reauthorization`);
    assert.ok(superseded > 0, `no refresh was superseded by a reauthorization (outcomes: ${outcomes.join(', ')})`);
  });

  test('worker killed right after a refresh was stored: the retry recognises it, nothing lost, no second rotation', async () => {
    const acct = await crmAccount(sys, 'Crashy Refresh');
    const i = await connectedOAuthIntegration(sys, 'pipedrive', acct.userId);
    const before = (await integration(sys, i.id)).credentials.version;
    await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA });
    await waitFor('refresh stored', async () => (await versions(sys, i.id)).length > before, 20_000);
    await sys.killWorker();
    await sys.startWorker();
    await new Promise((r) => setTimeout(r, 3000));
    const after = await integration(sys, i.id);
    assert.equal(after.status, 'active');
    // Refresh still works after the restart, on the stored rotated token.
    await api(sys, 'POST', `/v1/integrations/${i.id}/refresh`, { key: sys.keyA });
    await waitFor('refresh after restart', async () => (await integration(sys, i.id)).credentials.version > after.credentials.version, 30_000);
    assert.equal((await integration(sys, i.id)).status, 'active');
  });
});

/** Revokes, in the CRM, the refresh token the engine holds for the integration (and its family). */
async function revokeAllRefreshTokensOf(sys: TestSystem, integrationId: string): Promise<void> {
  const secret = await sys.readActiveSecret(integrationId);
  assert.ok(secret.refreshToken);
  const res = await fetch(`${sys.sandboxUrl}/admin/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: secret.refreshToken }),
  });
  assert.equal(res.status, 200, await res.text());
}
