/**
 * The admin console in real Chromium against the real system: a blocked OAuth integration healed
 * through the CRM's consent page, an API-token re-authorization with a wrong then a right token,
 * and an opt-in full re-sync followed live to completion.
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { sandboxAccountWithRecords, sandboxIntegration } from '../support/resync';
import { api, connectedIntegration, sandboxFault, sandboxToken, startSystem, waitFor, type TestSystem } from '../support/system';
import {
  activeElementId,
  approveAtConsentPage,
  blockedOAuthIntegration,
  configureOAuthApp,
  integration,
  launchBrowser,
  newContext,
  openIntegration,
  screenshot,
  signIn,
  watchPage,
} from './support';

describe('admin console (browser)', () => {
  let sys: TestSystem;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let watcher: ReturnType<typeof watchPage>;

  beforeAll(async () => {
    [sys, browser] = await Promise.all([startSystem({ extraEnv: { REFRESH_JITTER_SECONDS: '0', HEALTH_CHECK_INTERVAL_SECONDS: '3600' } }), launchBrowser()]);
    await configureOAuthApp(sys, 'pipedrive');
    ctx = await newContext(browser);
    page = await ctx.newPage();
    watcher = watchPage(page, [sys.apiUrl]);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('a blocked integration: banner and alert, the dialog, OAuth consent in the CRM, back to an active integration and no alert', async () => {
    const { acct, integration: blocked } = await blockedOAuthIntegration(sys, 'pipedrive', 'Northwind Traders');
    // Neighbours in the list: an active API-token integration and one never connected.
    const active = await connectedIntegration(sys);
    const pending = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider: 'hubspot', displayName: 'Initech HubSpot' } });
    assert.equal(pending.status, 201, pending.text);
    await signIn(page, sys);
    await page.locator(`tr[data-id="${active.integration.id}"] .badge[data-status="active"]`).waitFor();
    await page.locator(`tr[data-id="${pending.body.id}"] .badge[data-status="pending"]`).waitFor();

    // The list: a status word per row (not colour alone) and the global alert bar.
    const row = page.locator(`tr[data-id="${blocked.id}"]`);
    await row.locator('.badge[data-status="blocked"]').waitFor();
    assert.equal((await row.locator('.badge[data-status="blocked"]').innerText()).trim(), 'Blocked');
    const bar = page.locator('#alert-bar');
    await bar.waitFor({ state: 'visible' });
    assert.match(await bar.innerText(), /1 integration needs attention/);
    assert.match(await bar.innerText(), /Acme pipedrive/);
    assert.equal(await bar.getAttribute('aria-label'), 'Alerts');
    await screenshot(page, 'console-integrations');

    // The integration page: banner with the status message and what to do, credential facts, settings.
    await row.getByRole('link', { name: blocked.displayName }).click();
    const banner = page.locator('#banner .callout');
    await banner.waitFor();
    assert.equal(await banner.getAttribute('data-status'), 'blocked');
    assert.match(await banner.innerText(), /Syncing is paused/);
    assert.ok((await banner.innerText()).includes(blocked.statusMessage), 'the banner shows statusMessage');
    assert.match(await banner.innerText(), /What to do/);
    assert.equal(await page.locator('[data-fact="accountId"]').innerText(), blocked.credentials.accountId);
    assert.equal(await page.locator('[data-fact="version"]').innerText(), String(blocked.credentials.version));
    for (const scope of blocked.credentials.scopes) assert.match(await page.locator('[data-fact="scopes"]').innerText(), new RegExp(scope));
    assert.deepEqual(JSON.parse(await page.locator('#sync-settings').innerText()), blocked.config);
    const html = await page.content();
    assert.equal(html.includes('sbx_'), false, 'no secret on the page');
    await screenshot(page, 'console-integration-blocked');

    // The dialog: labelled, focus moves in, Escape closes and focus returns to the button.
    const opener = page.getByRole('button', { name: 'Re-authorize integration' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: `Re-authorize ${blocked.displayName}` });
    await dialog.waitFor();
    assert.equal(await page.evaluate("Boolean(document.activeElement && document.activeElement.closest('dialog[open]'))"), true, 'focus is inside the dialog');
    assert.match(await dialog.innerText(), /stays active/);
    assert.match(await dialog.innerText(), /No re-sync happens unless/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await activeElementId(page), 'reauthorize', 'focus is back on the button');

    await page.keyboard.press('Enter'); // the focused button opens it again
    await dialog.waitFor();
    const resync = dialog.getByLabel('Trigger a full entity re-sync after re-authorization');
    const warning = page.locator('#reauth-resync-warning');
    assert.equal(await warning.isVisible(), false);
    await resync.check();
    await warning.waitFor({ state: 'visible' });
    assert.match(await warning.innerText(), /re-imports every record/i);
    assert.match(await warning.innerText(), /take a while/);
    await screenshot(page, 'console-reauthorize-dialog');
    await resync.uncheck();
    await warning.waitFor({ state: 'hidden' });

    // OAuth: the browser goes to the CRM's consent page; a person picks the user and clicks Allow.
    await dialog.getByRole('button', { name: 'Continue to Pipedrive' }).click();
    await approveAtConsentPage(page, sys, acct.userId);
    await page.waitForURL((url) => url.pathname === '/oauth/callback');
    await page.getByRole('heading', { name: 'Connection successful' }).waitFor();
    const back = page.getByRole('link', { name: 'Back to the console' });
    await back.waitFor({ state: 'visible' });
    await screenshot(page, 'oauth-callback-success');
    await back.click();

    // Back in the console: active, version 2, the alert gone, the progress says it succeeded.
    await page.locator('#integration-status .badge[data-status="active"]').waitFor();
    await page.locator('#reauth-progress section[data-outcome="succeeded"]').waitFor();
    assert.equal(await page.locator('#banner .callout').count(), 0, 'no banner on an active integration');
    await page.locator('#alert-bar').waitFor({ state: 'hidden', timeout: 15_000 });
    assert.equal(await page.locator('[data-fact="version"]').innerText(), String(blocked.credentials.version + 1));
    await screenshot(page, 'console-reauthorized');

    const healed = await integration(sys, blocked.id);
    assert.equal(healed.status, 'active');
    assert.equal(healed.credentials.accountId, blocked.credentials.accountId);
    assert.equal((await api(sys, 'GET', '/v1/alerts', { key: sys.keyA })).body.data.length, 0);
    assert.equal(sys.logs.some((line) => line.includes(sys.keyA)), false, 'the API key never reached a log line');
    watcher.assertClean();
  });

  test('API token: a wrong token is refused inline and changes nothing; the right one re-authorizes', async () => {
    const { accountId, integration: created } = await connectedIntegration(sys);
    await openIntegration(page, sys, created.id);
    const opener = page.getByRole('button', { name: 'Re-authorize integration' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: `Re-authorize ${created.displayName}` });
    await dialog.waitFor();
    assert.equal(await activeElementId(page), 'reauth-token', 'focus starts in the token field');
    assert.equal(await page.locator('#reauth-oauth-fields').isVisible(), false);

    // Empty: checked on the client.
    await dialog.getByRole('button', { name: 'Verify and re-authorize' }).click();
    assert.match(await page.locator('#reauth-token-error').innerText(), /Paste the new API token/);

    // Wrong: the API's 422 message inline, the dialog stays open, nothing changed.
    const token = dialog.getByLabel('New Sandbox CRM API token');
    await token.fill('sbx_definitely_wrong_token');
    await dialog.getByRole('button', { name: 'Verify and re-authorize' }).click();
    const error = page.locator('#reauth-token-error');
    await error.waitFor({ state: 'visible' });
    await page.locator('#reauth-token-error', { hasText: 'rejected' }).waitFor();
    assert.match(await error.innerText(), /The CRM rejected these credentials/);
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.equal(await token.getAttribute('aria-invalid'), 'true');
    assert.equal(await dialog.isVisible(), true);
    await screenshot(page, 'console-token-error');
    const unchanged = await integration(sys, created.id);
    assert.equal(unchanged.credentials.version, created.credentials.version);
    assert.equal(unchanged.status, 'active');
    assert.equal(await page.locator('[data-fact="version"]').innerText(), String(created.credentials.version));

    // Right: validated, swapped; the dialog closes and the page shows version 2.
    await token.fill(await sandboxToken(sys, accountId));
    await dialog.getByRole('button', { name: 'Verify and re-authorize' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('[data-fact="version"]', { hasText: String(created.credentials.version + 1) }).waitFor();
    await page.locator('#reauth-progress section[data-outcome="succeeded"]').waitFor();
    assert.equal(await activeElementId(page), 'reauthorize', 'focus is back on the button');
    const after = await integration(sys, created.id);
    assert.equal(after.credentials.version, created.credentials.version + 1);
    assert.deepEqual(after.config, created.config);
    assert.equal(after.reauthorization, null);
    watcher.assertClean();
  });

  test('opt-in full re-sync: the warning, then live progress to completion', async () => {
    const acct = await sandboxAccountWithRecords(sys, { contacts: 1600, companies: 400, deals: 400 }, 'Globex');
    const created = await sandboxIntegration(sys, acct.token);
    // A slower CRM, so the progress can be watched (8 pages of contacts at 350 ms each).
    await sandboxFault(sys, { pathPrefix: '/api/v1/contacts', delayMs: 350, count: 100 });
    await openIntegration(page, sys, created.id);
    await page.getByRole('button', { name: 'Re-authorize integration' }).click();
    const dialog = page.getByRole('dialog', { name: `Re-authorize ${created.displayName}` });
    await dialog.waitFor();
    await dialog.getByLabel('Trigger a full entity re-sync after re-authorization').check();
    await page.locator('#reauth-resync-warning').waitFor({ state: 'visible' });
    await dialog.getByLabel('New Sandbox CRM API token').fill(await sandboxToken(sys, acct.accountId));
    await dialog.getByRole('button', { name: 'Verify and re-authorize' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const section = page.locator('#resync-progress section');
    await section.waitFor({ timeout: 30_000 });
    const reauthId = (await sys.pg.query('SELECT id FROM reauthorizations WHERE integration_id = $1 ORDER BY created_at DESC LIMIT 1', [created.id])).rows[0].id;
    const reauth = await waitFor('the re-sync id', async () => {
      const r = (await api(sys, 'GET', `/v1/reauthorizations/${reauthId}`, { key: sys.keyA })).body;
      return r.resyncId ? r : undefined;
    });
    assert.equal(reauth.fullResync, true);
    if ((await section.getAttribute('data-status')) === 'running') {
      // Caught while running: counters move.
      await page.waitForFunction("Number(document.getElementById('resync-imported').textContent.replace(/\\D/g, '')) > 0", undefined, { timeout: 20_000 });
      await screenshot(page, 'console-resync-progress', { scrollTo: '#resync-progress' });
    }
    await page.locator('#resync-progress section[data-status="completed"]').waitFor({ timeout: 60_000 });
    const resync = (await api(sys, 'GET', `/v1/resyncs/${reauth.resyncId}`, { key: sys.keyA })).body;
    assert.equal(resync.status, 'completed');
    for (const e of resync.entities) {
      const row = page.locator(`#resync-progress tr[data-entity="${e.entity}"]`);
      assert.equal(await row.getAttribute('data-status'), 'completed');
      assert.equal(await row.locator('[data-count="imported"]').innerText(), e.imported.toLocaleString('en-US'));
    }
    assert.equal(await page.locator('#resync-overall').evaluate((el: any) => [el.value, el.max].join('/')), `${resync.entities.length}/${resync.entities.length}`);
    assert.equal(resync.entities.find((e: any) => e.entity === 'contacts').imported, 1600);
    await screenshot(page, 'console-resync-completed', { scrollTo: '#resync-progress' });
    watcher.assertClean();
  });
});
