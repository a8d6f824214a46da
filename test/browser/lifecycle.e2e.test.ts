/**
 * The integration page's lifecycle buttons and activity timeline in real Chromium: disable and
 * enable behind their confirmation dialog, delete behind its name check, and the audit trail
 * listing what happened (with "Load more").
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { api, connectedIntegration, startSystem, type TestSystem } from '../support/system';
import { activeElementId, integration, launchBrowser, newContext, openIntegration, screenshot, signIn, watchPage } from './support';

describe('integration lifecycle in the console (browser)', () => {
  let sys: TestSystem;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let watcher: ReturnType<typeof watchPage>;

  beforeAll(async () => {
    [sys, browser] = await Promise.all([startSystem(), launchBrowser()]);
    ctx = await newContext(browser);
    page = await ctx.newPage();
    watcher = watchPage(page, [sys.apiUrl]);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('disable, enable and delete from the integration page; the timeline shows each step', async () => {
    const { integration: created } = await connectedIntegration(sys);
    await signIn(page, sys);
    await openIntegration(page, sys, created.id);
    const timeline = page.locator('#timeline');
    await timeline.locator('[data-type="integration.created"]').waitFor();

    // Disable: the dialog says what happens; Cancel changes nothing and gives the focus back.
    const toggle = page.locator('#toggle-enabled');
    assert.equal((await toggle.innerText()).trim(), 'Disable');
    await toggle.click();
    const disableDialog = page.getByRole('dialog', { name: `Disable ${created.displayName}` });
    await disableDialog.waitFor();
    assert.match(await disableDialog.innerText(), /Refreshes and health checks stop/);
    await disableDialog.getByRole('button', { name: 'Cancel' }).click();
    await disableDialog.waitFor({ state: 'hidden' });
    assert.equal(await activeElementId(page), 'toggle-enabled');
    assert.equal((await integration(sys, created.id)).status, 'active');

    await toggle.click();
    await disableDialog.getByRole('button', { name: 'Disable integration' }).click();
    await disableDialog.waitFor({ state: 'hidden' });
    await page.locator('#integration-status .badge[data-status="disabled"]').waitFor();
    await page.locator('#banner .callout[data-status="disabled"]').waitFor();
    assert.equal((await toggle.innerText()).trim(), 'Enable');
    assert.equal(await page.locator('#reauthorize').isDisabled(), true, 're-authorizing waits until it is enabled');
    assert.equal(await page.locator('#copy-magic-link').isDisabled(), true);
    await timeline.locator('[data-type="integration.disabled"]').waitFor();
    assert.match(await timeline.locator('[data-type="integration.disabled"]').innerText(), /Disabled[\s\S]*Console/);
    await screenshot(page, 'console-integration-disabled');

    // Enable: credentials checked, active again.
    await toggle.click();
    const enableDialog = page.getByRole('dialog', { name: `Enable ${created.displayName}` });
    await enableDialog.getByRole('button', { name: 'Enable integration' }).click();
    await enableDialog.waitFor({ state: 'hidden' });
    await page.locator('#integration-status .badge[data-status="active"]').waitFor();
    assert.equal(await page.locator('#reauthorize').isDisabled(), false);
    await timeline.locator('[data-type="integration.enabled"]').waitFor();

    // Delete: the name must be typed; then back to the list, without it.
    await page.locator('#delete-integration').click();
    const deleteDialog = page.getByRole('dialog', { name: `Delete ${created.displayName}` });
    await deleteDialog.waitFor();
    await deleteDialog.getByRole('button', { name: 'Delete integration' }).click();
    await page.locator('#delete-confirm-error', { hasText: 'Type' }).waitFor();
    assert.equal((await integration(sys, created.id)).id, created.id, 'not deleted without the name');
    await screenshot(page, 'console-delete-dialog');
    await deleteDialog.getByLabel("Type the integration's name to confirm").fill(created.displayName);
    await deleteDialog.getByRole('button', { name: 'Delete integration' }).click();
    await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
    assert.equal(await page.locator(`tr[data-id="${created.id}"]`).count(), 0);
    assert.equal((await api(sys, 'GET', `/v1/integrations/${created.id}`, { key: sys.keyA })).status, 404);
    watcher.assertClean();
  });

  test('the timeline shows the last 20 events and loads older ones on demand', async () => {
    const { integration: busy } = await connectedIntegration(sys);
    // 24 more events: 12 disable/enable rounds.
    for (let n = 0; n < 12; n++) {
      assert.equal((await api(sys, 'POST', `/v1/integrations/${busy.id}/disable`, { key: sys.keyA })).status, 200);
      assert.equal((await api(sys, 'POST', `/v1/integrations/${busy.id}/enable`, { key: sys.keyA })).status, 200);
    }
    await openIntegration(page, sys, busy.id);
    const items = page.locator('#timeline .timeline-item');
    await page.locator('#timeline-more').waitFor();
    assert.equal(await items.count(), 20);
    await page.locator('#timeline-more').click();
    await page.locator('#timeline [data-type="integration.created"]').waitFor();
    const total = await items.count();
    assert.ok(total > 20, `${total} events after Load more`);
    assert.equal(await page.locator('#timeline-more').isHidden(), true, 'nothing older to load');
    const ids = (await page.evaluate("[...document.querySelectorAll('#timeline .timeline-item')].map((el) => el.getAttribute('data-id'))")) as string[];
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    watcher.assertClean();
  });
});
