/**
 * OAuth re-authorization end to end against the sandbox CRM's emulations of HubSpot, Salesforce,
 * Pipedrive and Zoho: real Temporal, Postgres, worker and API processes, HTTP all the way.
 */
import assert from 'node:assert/strict';
import {
  beginAttempt,
  configureOAuthApp,
  connectedOAuthIntegration,
  consent,
  continueToCrm,
  crmAccount,
  followCallback,
  oauthRoundTrip,
  sandboxStats,
  type Shape,
  snapshot,
  startReauth,
} from './support/oauth';
import { api, sandboxFault, startSystem, waitFor, type TestSystem } from './support/system';

const SHAPES: Shape[] = ['hubspot', 'salesforce', 'pipedrive', 'zoho'];

describe('OAuth reauthorization', () => {
  let sys: TestSystem;
  const apps: Partial<Record<Shape, { clientId: string; clientSecret: string }>> = {};
  beforeAll(async () => {
    sys = await startSystem();
    for (const shape of SHAPES) apps[shape] = await configureOAuthApp(sys, shape);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  for (const shape of SHAPES) {
    test(`${shape}: full reauthorization through the consent page and callback swaps to version 2 of the same account`, async () => {
      const acct = await crmAccount(sys, `Acme ${shape}`);
      const config = { syncContacts: true, fieldMappings: { email: 'Email' } };
      const integration = await connectedOAuthIntegration(sys, shape, acct.userId, config);
      assert.equal(integration.status, 'active');
      assert.equal(integration.credentials.version, 1);

      const { started, attempt, page, status } = await oauthRoundTrip(sys, integration.id, acct.userId);
      assert.equal(started.authType, 'oauth2');
      assert.ok(started.authorizeUrl.startsWith(sys.sandboxUrl), started.authorizeUrl);
      assert.equal(attempt.authorizeUrl, started.authorizeUrl, 'the link continues to the attempt the API reported');
      const authorize = new URL(started.authorizeUrl);
      assert.equal(authorize.searchParams.get('redirect_uri'), `${sys.apiUrl}/oauth/callback`);
      assert.ok(authorize.searchParams.get('state')!.length >= 22);
      if (shape === 'hubspot' || shape === 'salesforce') assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(page.status, 200, page.html.slice(0, 500));
      assert.match(page.html, /Connection successful/);
      assert.equal(status.outcome, 'succeeded', JSON.stringify(status));

      const after = (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body;
      assert.equal(after.credentials.version, 2);
      assert.equal(after.credentials.accountId, integration.credentials.accountId);
      assert.deepEqual(after.config, config);
      assert.equal(after.status, 'active');
      // Secrets never come back in any answer.
      assert.equal(JSON.stringify(after).includes('sbx_at_'), false);
    });
  }

  test('the connect page explains and continues to the CRM consent page, where a person clicks Allow', async () => {
    const acct = await crmAccount(sys, 'Page Co');
    const integration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const started = await startReauth(sys, integration.id);
    const connect = await fetch(started.linkUrl);
    const html = await connect.text();
    assert.equal(connect.status, 200);
    assert.match(html, /HubSpot/);
    assert.match(html, /Continue to HubSpot/);
    assert.equal(html.includes(started.linkToken), true, 'the continue button links to this link');
    const cont = await fetch(`${sys.apiUrl}/connect/${started.linkToken}/authorize`, { redirect: 'manual' });
    assert.equal(cont.status, 302);
    const authorizeUrl = cont.headers.get('location')!;
    assert.equal(authorizeUrl, started.authorizeUrl);
    // What the browser keeps for the way back: the attempt cookie, sent only to the callback.
    const setCookie = cont.headers.getSetCookie().find((c) => c.startsWith(`oauth_attempt_${started.id}=`));
    assert.ok(setCookie, `the continue step binds the attempt to this browser: ${cont.headers.getSetCookie()}`);
    const cookie = setCookie.split(';')[0];

    // The CRM's consent page, as a browser would see it; submit its form with "Allow".
    const consentPage = await (await fetch(authorizeUrl)).text();
    assert.match(consentPage, /Allow/);
    const form = /<form[^>]*action="([^"]+)"/.exec(consentPage);
    assert.ok(form, 'consent page has a form');
    const fields = new URLSearchParams();
    for (const m of consentPage.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields.append(m[1], m[2]);
    for (const m of consentPage.matchAll(/<input[^>]*type="checkbox"[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*checked/g)) fields.append(m[1], m[2]);
    fields.set('user_id', acct.userId);
    fields.set('decision', 'allow');
    const action = new URL(form[1].replace(/&amp;/g, '&'), authorizeUrl);
    const submitted = await fetch(action, { method: 'POST', body: fields, redirect: 'manual' });
    assert.equal(submitted.status, 302);
    const back = await followCallback(submitted.headers.get('location')!, cookie);
    assert.match(back.html, /Connection successful/);
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
    assert.equal(status.outcome, 'succeeded');
    // The link is single-use once completed.
    const reused = await fetch(started.linkUrl);
    assert.match(await reused.text(), /Connection successful/);
  });

  test('extended scopes are requested, granted and recorded', async () => {
    const acct = await crmAccount(sys, 'Scopes Inc');
    const integration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const extra = 'crm.objects.tickets.read';
    assert.equal(integration.credentials.scopes.includes(extra), false);
    const { started, status } = await oauthRoundTrip(sys, integration.id, acct.userId, { reauth: { scopes: [extra], reason: 'new feature needs tickets' } });
    assert.ok(new URL(started.authorizeUrl).searchParams.get('scope')!.split(' ').includes(extra));
    assert.equal(status.outcome, 'succeeded');
    const after = (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body;
    assert.ok(after.credentials.scopes.includes(extra), JSON.stringify(after.credentials));
    assert.ok(after.requiredScopes.includes(extra));
  });

  test('Zoho: an account in the EU data center exchanges its code at the EU accounts server', async () => {
    const acct = await crmAccount(sys, 'Zoho EU GmbH', 'eu');
    await fetch(`${sys.sandboxUrl}/admin/stats`, { method: 'DELETE' });
    const integration = await connectedOAuthIntegration(sys, 'zoho', acct.userId);
    assert.equal(integration.credentials.region, 'eu');
    const { redirectTo, status } = await oauthRoundTrip(sys, integration.id, acct.userId, { reauth: { region: 'eu' } });
    const back = new URL(redirectTo);
    assert.equal(back.searchParams.get('location'), 'eu');
    assert.equal(back.searchParams.get('accounts-server'), `${sys.sandboxUrl}/zoho/eu/accounts`);
    assert.equal(status.outcome, 'succeeded', JSON.stringify(status));
    const stats = await sandboxStats(sys);
    assert.equal(stats['POST /zoho/eu/accounts/oauth/v2/token'], 2);
    assert.equal(stats['POST /zoho/us/accounts/oauth/v2/token'] ?? 0, 0);
    const after = (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body;
    assert.equal(after.credentials.region, 'eu');
    assert.equal(after.credentials.version, 2);
  });

  test('the user grants fewer scopes: missing_scopes, nothing changed, the link still works', async () => {
    const acct = await crmAccount(sys, 'Stingy Ltd');
    const integration = await connectedOAuthIntegration(sys, 'salesforce', acct.userId);
    const before = await snapshot(sys, integration.id);
    const { started, page, status } = await oauthRoundTrip(sys, integration.id, acct.userId, { grantScopes: ['api'] });
    assert.equal(page.status, 422);
    assert.match(page.html, /fewer permissions/);
    assert.equal(status.outcome, null);
    assert.equal(status.error.code, 'missing_scopes');
    assert.match(status.error.message, /refresh_token/);
    assert.deepEqual(await snapshot(sys, integration.id), before);
    // Same reauthorization, new attempt: this time the person approves everything.
    const again = await startReauth(sys, integration.id);
    assert.equal(again.id, started.id);
    assert.notEqual(again.authorizeUrl, started.authorizeUrl, 'a new attempt has a new state');
    const next = await beginAttempt(again.linkUrl);
    assert.equal(next.authorizeUrl, again.authorizeUrl);
    const page2 = await followCallback(await consent(sys, next.authorizeUrl, acct.userId), next);
    assert.match(page2.html, /Connection successful/);
  });

  test('a different CRM account: account_mismatch, nothing changed; allowAccountChange permits it', async () => {
    const acct = await crmAccount(sys, 'Right Account');
    const other = await crmAccount(sys, 'Wrong Account');
    const integration = await connectedOAuthIntegration(sys, 'pipedrive', acct.userId);
    const before = await snapshot(sys, integration.id);
    const { status } = await oauthRoundTrip(sys, integration.id, other.userId);
    assert.equal(status.error.code, 'account_mismatch');
    assert.equal(status.outcome, null);
    assert.deepEqual(await snapshot(sys, integration.id), before);
    await api(sys, 'POST', `/v1/reauthorizations/${status.id}/cancel`, { key: sys.keyA, body: {} });
    const moved = await oauthRoundTrip(sys, integration.id, other.userId, { reauth: { allowAccountChange: true } });
    assert.equal(moved.status.outcome, 'succeeded');
    const after = (await api(sys, 'GET', `/v1/integrations/${integration.id}`, { key: sys.keyA })).body;
    assert.notEqual(after.credentials.accountId, integration.credentials.accountId);
  });

  test('a code already redeemed elsewhere: invalid_grant, the reauthorization fails, nothing changed', async () => {
    const acct = await crmAccount(sys, 'Replay Corp');
    const integration = await connectedOAuthIntegration(sys, 'pipedrive', acct.userId);
    const before = await snapshot(sys, integration.id);
    const started = await startReauth(sys, integration.id);
    const attempt = await beginAttempt(started.linkUrl);
    const redirectTo = await consent(sys, attempt.authorizeUrl, acct.userId);
    // Someone redeems the code first (Pipedrive uses no PKCE): the engine's exchange then gets invalid_grant.
    const code = new URL(redirectTo).searchParams.get('code')!;
    const app = apps.pipedrive!;
    const stolen = await fetch(`${sys.sandboxUrl}/pipedrive/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${sys.apiUrl}/oauth/callback` }),
    });
    assert.equal(stolen.status, 200);
    const page = await followCallback(redirectTo, attempt);
    assert.ok(page.status >= 400);
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
    assert.equal(status.outcome, 'failed');
    assert.equal(status.error.code, 'invalid_grant');
    assert.deepEqual(await snapshot(sys, integration.id), before);
    // The callback replayed: the state is spent, nothing reaches the workflow or the CRM.
    const statsBefore = await sandboxStats(sys);
    const replay = await followCallback(redirectTo, attempt);
    assert.equal(replay.status, 400);
    assert.deepEqual(await sandboxStats(sys), statsBefore);
  });

  test('forged, reused and foreign state are refused without touching the workflow', async () => {
    const acct = await crmAccount(sys, 'State Co');
    const integration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const started = await startReauth(sys, integration.id);
    const attempt = await beginAttempt(started.linkUrl);
    const redirectTo = new URL(await consent(sys, attempt.authorizeUrl, acct.userId));
    const history = async () => (await sys.client.workflow.getHandle(started.workflowId).fetchHistory()).events!.length;
    const eventsBefore = await history();

    // Each refused with and without the attempt cookie of this browser.
    const forged = new URL(redirectTo);
    forged.searchParams.set('state', 'forged-state-value-1234567890');
    assert.equal((await followCallback(forged.toString(), attempt)).status, 400);
    assert.equal((await followCallback(forged.toString())).status, 400);
    const missing = new URL(redirectTo);
    missing.searchParams.delete('state');
    assert.equal((await followCallback(missing.toString(), attempt)).status, 400);
    assert.equal((await followCallback(missing.toString())).status, 400);
    // Foreign: the state of another (finished) reauthorization, even with that one's cookie too.
    const otherAcct = await crmAccount(sys, 'Other State Co');
    const other = await connectedOAuthIntegration(sys, 'hubspot', otherAcct.userId);
    const otherRun = await oauthRoundTrip(sys, other.id, otherAcct.userId);
    const foreign = new URL(redirectTo);
    foreign.searchParams.set('state', new URL(otherRun.redirectTo).searchParams.get('state')!);
    assert.equal((await followCallback(foreign.toString(), attempt)).status, 400);
    assert.equal((await followCallback(foreign.toString(), `${attempt.cookie}; ${otherRun.attempt.cookie}`)).status, 400);
    assert.equal((await followCallback(foreign.toString())).status, 400);
    // The genuine callback, but not from the browser that began the attempt.
    assert.equal((await followCallback(redirectTo.toString())).status, 400);

    assert.equal(await history(), eventsBefore, 'no signal reached the workflow');
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
    assert.equal(status.phase, 'awaiting_user');
    assert.equal(status.error, null);
    // The genuine callback still works afterwards; used again, it is refused.
    assert.match((await followCallback(redirectTo.toString(), attempt)).html, /Connection successful/);
    assert.equal((await followCallback(redirectTo.toString(), attempt)).status, 400);
  });

  test('a double click on the callback swaps once', async () => {
    const acct = await crmAccount(sys, 'Double Click');
    const integration = await connectedOAuthIntegration(sys, 'salesforce', acct.userId);
    const started = await startReauth(sys, integration.id);
    const attempt = await beginAttempt(started.linkUrl);
    const redirectTo = await consent(sys, attempt.authorizeUrl, acct.userId);
    const pages = await Promise.all([followCallback(redirectTo, attempt), followCallback(redirectTo, attempt), followCallback(redirectTo, attempt)]);
    assert.ok(pages.some((p) => /Connection successful/.test(p.html)));
    for (const p of pages) assert.ok(p.status < 500, `no page is a server error (${p.status})`);
    const status = await waitFor('done', async () => {
      const r = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
      return r.outcome ? r : undefined;
    });
    assert.equal(status.outcome, 'succeeded');
    const swaps = await sys.pg.query(`SELECT count(*)::int AS n FROM audit_events WHERE integration_id = $1 AND type = 'credentials.swapped'`, [integration.id]);
    assert.equal(swaps.rows[0].n, 2, 'the first connect and this reauthorization: one swap each');
    const versions = await sys.pg.query(`SELECT version FROM credential_versions WHERE integration_id = $1 AND version IS NOT NULL ORDER BY version`, [integration.id]);
    assert.deepEqual(versions.rows.map((r) => r.version), [1, 2]);
  });

  test('access_denied on the consent page is shown and recorded; the same link then succeeds', async () => {
    const acct = await crmAccount(sys, 'Denied Inc');
    const integration = await connectedOAuthIntegration(sys, 'zoho', acct.userId);
    const { started, attempt, page, status } = await oauthRoundTrip(sys, integration.id, acct.userId, { decision: 'deny' });
    assert.equal(page.status, 403);
    assert.match(page.html, /denied/i);
    // "Try again" works in this browser (its attempt cookie), without the link token on the page.
    const tryAgain = /<a class="button" href="([^"]+)">Try again<\/a>/.exec(page.html);
    assert.ok(tryAgain, 'the page offers to try again');
    assert.equal(tryAgain[1], `/oauth/callback/retry/${started.id}`);
    assert.equal(page.html.includes(started.linkToken), false, 'no link token on a result page');
    assert.equal(status.outcome, null);
    assert.equal(status.error.code, 'access_denied');
    const connect = await (await fetch(started.linkUrl)).text();
    assert.match(connect, /denied/i, 'the connect page shows what went wrong');
    const again = await startReauth(sys, integration.id);
    assert.equal(again.id, started.id);
    const retry = await continueToCrm(new URL(tryAgain[1], sys.apiUrl).toString(), attempt.cookie);
    assert.equal(retry.authorizeUrl, again.authorizeUrl, 'try again continues to the new attempt');
    assert.match((await followCallback(await consent(sys, retry.authorizeUrl, acct.userId), retry)).html, /Connection successful/);
  });

  test('an unanswered OAuth link expires', async () => {
    const acct = await crmAccount(sys, 'Slow Co');
    const integration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const started = await startReauth(sys, integration.id, { expiresInSeconds: 10 });
    const attempt = await beginAttempt(started.linkUrl);
    const status = await waitFor(
      'expiry',
      async () => {
        const r = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
        return r.outcome ? r : undefined;
      },
      30_000,
    );
    assert.equal(status.outcome, 'expired');
    const connect = await fetch(started.linkUrl);
    assert.equal(connect.status, 410);
    const late = await followCallback(await consent(sys, attempt.authorizeUrl, acct.userId), attempt);
    assert.equal(late.status, 400);
  });

  test('worker killed between the code exchange and the swap: resumes, exchanges once, swaps once', async () => {
    const acct = await crmAccount(sys, 'Crash Co');
    const integration = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const started = await startReauth(sys, integration.id);
    const attempt = await beginAttempt(started.linkUrl);
    const redirectTo = await consent(sys, attempt.authorizeUrl, acct.userId);
    await fetch(`${sys.sandboxUrl}/admin/stats`, { method: 'DELETE' });
    // Validation (token info) answers slowly, so the kill lands after the exchange, before the swap.
    await sandboxFault(sys, { pathPrefix: '/hubspot/oauth/v1/access-tokens', delayMs: 4000, count: 1 });
    const pagePromise = followCallback(redirectTo, attempt);
    await waitFor('pending credentials stored', async () => {
      const r = await sys.pg.query(`SELECT 1 FROM credential_versions WHERE reauthorization_id = $1 AND state = 'pending'`, [started.id]);
      return r.rowCount === 1;
    });
    await sys.killWorker();
    await sys.startWorker();
    await pagePromise;
    const status = await waitFor(
      'completion after restart',
      async () => {
        const r = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
        return r.outcome ? r : undefined;
      },
      60_000,
    );
    assert.equal(status.outcome, 'succeeded');
    const stats = await sandboxStats(sys);
    assert.equal(stats['POST /hubspot/oauth/v1/token'], 1, 'the code was redeemed exactly once');
    const versions = await sys.pg.query(`SELECT version, state FROM credential_versions WHERE integration_id = $1 ORDER BY version`, [integration.id]);
    assert.deepEqual(versions.rows, [
      { version: 1, state: 'superseded' },
      { version: 2, state: 'active' },
    ]);
  });

  test('POST /v1/link-tokens returns a shareable link for an integrated account (Truto-style)', async () => {
    const acct = await crmAccount(sys, 'Link Co');
    const integration = await connectedOAuthIntegration(sys, 'pipedrive', acct.userId);
    const r = await api(sys, 'POST', '/v1/link-tokens', { key: sys.keyA, body: { integrated_account_id: integration.id } });
    assert.equal(r.status, 201);
    assert.match(r.body.link_url, new RegExp(`/connect/${r.body.link_token}$`));
    const again = await api(sys, 'POST', '/v1/link-tokens', { key: sys.keyA, body: { integrated_account_id: integration.id } });
    assert.equal(again.status, 200);
    assert.equal(again.body.link_token, r.body.link_token);
    const foreign = await api(sys, 'POST', '/v1/link-tokens', { key: sys.keyB, body: { integrated_account_id: integration.id } });
    assert.equal(foreign.status, 404);
  });

  test('an OAuth reauthorization needs the tenant OAuth app: clear 422 otherwise', async () => {
    const created = await api(sys, 'POST', '/v1/integrations', { key: sys.keyB, body: { provider: 'hubspot' } });
    assert.equal(created.status, 201);
    const r = await api(sys, 'POST', `/v1/integrations/${created.body.id}/reauthorizations`, { key: sys.keyB, body: {} });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'provider_not_configured');
    const providers = await api(sys, 'GET', '/v1/providers', { key: sys.keyA });
    const hubspot = providers.body.data.find((p: any) => p.key === 'hubspot');
    assert.equal(hubspot.configured, true);
    assert.equal(hubspot.oauth2.hasClientSecret, true);
    assert.equal(JSON.stringify(providers.body).includes(apps.hubspot!.clientSecret), false, 'the client secret is never returned');
  });
});
