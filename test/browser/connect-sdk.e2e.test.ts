/**
 * What end customers see, in real Chromium: the magic link (copied from the console) completed in
 * a fresh browser with an API token and through OAuth consent, the used / unknown / cancelled /
 * expired link pages, and the embeddable link SDK reporting to a host page on another origin.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { connectedOAuthIntegration, crmAccount, startReauth } from '../support/oauth';
import { api, connectedIntegration, sandboxToken, startSystem, type TestSystem } from '../support/system';
import { approveAtConsentPage, configureOAuthApp, integration, launchBrowser, newContext, openIntegration, screenshot, signIn, watchPage } from './support';

/** A product's own page, on another origin, that embeds the link SDK from the API. */
/**
 * Resolves when `popup` closes. Call it before the step that closes the popup: the whole journey
 * (submit, result page, message, close) can be over before that step's promise resolves, and a
 * close already past is no event to wait for. On a timeout, says what the popup shows instead.
 */
function whenClosed(popup: Page): Promise<void> {
  return popup.waitForEvent('close', { timeout: 30_000 }).then(
    () => undefined,
    async (err: Error) => {
      const shows = popup.isClosed() ? '(closed)' : await popup.innerText('body').catch((e: Error) => `(unreadable: ${e.message})`);
      throw new Error(`${err.message}\nthe popup shows: ${shows.replace(/\s+/g, ' ').slice(0, 600)}`);
    },
  );
}

function hostPage(apiUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme App · Settings</title>
<script src="${apiUrl}/sdk/reauth-link.js"></script>
<style>body{font:16px system-ui;margin:3rem} button{font:inherit;padding:.6rem 1rem}</style>
</head><body>
<h1>Acme App — CRM settings</h1>
<button id="reconnect">Reconnect CRM</button>
<ol id="events"></ol>
<script>
  window.events = [];
  function record(kind, data) {
    window.events.push({ kind: kind, data: data });
    var li = document.createElement('li');
    li.textContent = kind + ' ' + JSON.stringify(data || null);
    li.className = kind;
    document.getElementById('events').appendChild(li);
  }
  document.getElementById('reconnect').addEventListener('click', function () {
    var link = new URLSearchParams(location.search).get('link');
    ReauthLink.open({
      linkUrl: link,
      onSuccess: function (r) { record('success', r); },
      onError: function (e) { record('error', e); },
      onClose: function () { record('close'); },
    });
  });
</script>
</body></html>`;
}

describe('connect pages and link SDK (browser)', () => {
  let sys: TestSystem;
  let browser: Browser;
  let host: Server;
  let hostUrl: string;

  beforeAll(async () => {
    [sys, browser] = await Promise.all([startSystem(), launchBrowser()]);
    await configureOAuthApp(sys, 'hubspot');
    host = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(hostPage(sys.apiUrl));
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    // "localhost" vs the API's "127.0.0.1", and another port: a different origin in every respect.
    hostUrl = `http://localhost:${(host.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    host?.close();
    await sys?.stop();
  });

  async function customerPage(): Promise<{ ctx: BrowserContext; page: Page; watcher: ReturnType<typeof watchPage> }> {
    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    return { ctx, page, watcher: watchPage(page, [sys.apiUrl]) };
  }

  test('magic link: copied in the console, completed by the customer in a fresh browser (API token)', async () => {
    const { accountId, integration: created } = await connectedIntegration(sys);
    // An admin copies the link from the console.
    const adminCtx = await newContext(browser, { clipboard: true });
    const admin = await adminCtx.newPage();
    const adminWatch = watchPage(admin, [sys.apiUrl]);
    await signIn(admin, sys);
    await openIntegration(admin, sys, created.id);
    await admin.getByRole('button', { name: 'Copy magic link' }).click();
    const field = admin.getByLabel('Link for the CRM account owner');
    await field.waitFor();
    const linkUrl = await field.inputValue();
    assert.match(linkUrl, new RegExp(`^${sys.apiUrl}/connect/[A-Za-z0-9_-]{20,}$`));
    assert.equal(await field.getAttribute('readonly'), '', 'read-only field');
    assert.equal(await admin.evaluate('navigator.clipboard.readText()'), linkUrl, 'the link is on the clipboard');
    await admin.locator('#magic-link-status', { hasText: 'Copied' }).waitFor();
    await admin.locator('#integration-status .badge[data-status="reauthorizing"]').waitFor();
    await admin.locator('#reauth-progress section[data-outcome="open"]').waitFor();
    await screenshot(admin, 'console-magic-link');
    // A second click reuses the same open reauthorization (and link).
    await admin.getByRole('button', { name: 'Copy magic link' }).click();
    await admin.locator('#magic-link-status', { hasText: 'Copied' }).waitFor();
    assert.equal(await field.inputValue(), linkUrl);

    // The customer: another browser, no console session, no API key.
    const { ctx, page, watcher } = await customerPage();
    const first = await page.goto(linkUrl);
    assert.equal(first?.status(), 200);
    await page.getByRole('heading', { name: `Reconnect ${created.displayName}` }).waitFor();
    assert.match(await page.locator('main').innerText(), /keeps running the whole time/);
    await screenshot(page, 'connect-page');
    const token = page.getByLabel('New Sandbox CRM API token');
    await token.fill('sbx_not_a_real_token');
    await page.getByRole('button', { name: 'Verify and connect' }).click();
    await page.locator('#connect-error').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /rejected these credentials/);
    assert.equal(await page.getByLabel('New Sandbox CRM API token').getAttribute('aria-invalid'), 'true');
    assert.equal((await integration(sys, created.id)).credentials.version, created.credentials.version, 'nothing changed');
    await screenshot(page, 'connect-token-error');

    await page.getByLabel('New Sandbox CRM API token').fill(await sandboxToken(sys, accountId));
    await page.getByRole('button', { name: 'Verify and connect' }).click();
    await page.getByRole('heading', { name: 'Connection successful' }).waitFor();
    assert.match(await page.locator('main').innerText(), /You can close this tab/);
    assert.equal(await page.getByRole('link', { name: 'Back to the console' }).isVisible(), false, 'no console link for a customer');
    await screenshot(page, 'connect-success');
    assert.equal((await integration(sys, created.id)).credentials.version, created.credentials.version + 1);

    // The used link shows the result, not the form.
    const again = await page.goto(linkUrl);
    assert.equal(again?.status(), 200);
    await page.getByRole('heading', { name: 'Connection successful' }).waitFor();
    assert.equal(await page.getByLabel('New Sandbox CRM API token').count(), 0);

    // The admin's page follows along: the customer's success shows up without a reload.
    await admin.locator('#reauth-progress section[data-outcome="succeeded"]').waitFor({ timeout: 15_000 });
    await admin.locator('[data-fact="version"]', { hasText: String(created.credentials.version + 1) }).waitFor({ timeout: 15_000 });
    watcher.assertClean();
    adminWatch.assertClean();
    await ctx.close();
    await adminCtx.close();
  });

  test('magic link: OAuth continue, consent at the CRM, success; unknown, cancelled and expired links', async () => {
    const acct = await crmAccount(sys, 'Umbrella Corp');
    const oauth = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const expiring = await connectedIntegration(sys);
    const soon = await startReauth(sys, expiring.integration.id, { expiresInSeconds: 10 });
    const started = await startReauth(sys, oauth.id);

    const { ctx, page, watcher } = await customerPage();
    await page.goto(started.linkUrl);
    const cont = page.getByRole('link', { name: 'Continue to HubSpot' });
    await cont.waitFor();
    await screenshot(page, 'connect-page-oauth');
    await cont.click();
    await approveAtConsentPage(page, sys, acct.userId);
    await page.getByRole('heading', { name: 'Connection successful' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/oauth/callback');
    assert.equal(await page.evaluate('document.cookie'), '', 'the attempt cookie is HttpOnly: no script on the page reads it');
    const status = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
    assert.equal(status.outcome, 'succeeded');
    assert.equal((await integration(sys, oauth.id)).credentials.version, oauth.credentials.version + 1);

    // The same callback URL in another browser (one that never began this sign-in) counts for nothing.
    const elsewhere = await customerPage();
    const foreign = await elsewhere.page.goto(page.url());
    assert.equal(foreign?.status(), 400);
    await elsewhere.page.getByText('This sign-in link was not started in this browser').waitFor();
    elsewhere.watcher.assertClean();
    await elsewhere.ctx.close();

    // Unknown link.
    const unknown = await page.goto(`${sys.apiUrl}/connect/${'x'.repeat(43)}`);
    assert.equal(unknown?.status(), 404);
    await page.getByRole('heading', { name: 'Link not found' }).waitFor();

    // Cancelled by the admin.
    const other = await connectedIntegration(sys);
    const cancelled = await startReauth(sys, other.integration.id);
    await api(sys, 'POST', `/v1/reauthorizations/${cancelled.id}/cancel`, { key: sys.keyA, body: {} });
    const gone = await page.goto(cancelled.linkUrl);
    assert.equal(gone?.status(), 410);
    await page.getByRole('heading', { name: 'This link was cancelled' }).waitFor();

    // Expired (10 s after it was issued).
    const wait = Date.parse(soon.expiresAt) + 1500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let expired = await page.goto(soon.linkUrl);
    for (let n = 0; expired?.status() !== 410 && n < 20; n++) {
      await new Promise((r) => setTimeout(r, 500));
      expired = await page.goto(soon.linkUrl);
    }
    assert.equal(expired?.status(), 410);
    await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
    await screenshot(page, 'connect-expired');
    watcher.assertClean();
    await ctx.close();
  });

  test('link SDK: the popup reports success to its host page on another origin; forged messages are ignored', async () => {
    const { accountId, integration: created } = await connectedIntegration(sys);
    const link = await api(sys, 'POST', '/v1/link-tokens', { key: sys.keyA, body: { integrated_account_id: created.id } });
    assert.equal(link.status, 201, link.text);

    const { ctx, page, watcher } = await customerPage();
    await page.goto(`${hostUrl}/settings?link=${encodeURIComponent(link.body.link_url)}`);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Reconnect CRM' }).click()]);
    const popupWatch = watchPage(popup, [sys.apiUrl]);
    await popup.getByRole('heading', { name: `Reconnect ${created.displayName}` }).waitFor();
    // The heading is server-rendered; connect.js clears the hash once it runs, which on a loaded
    // machine can be a moment later. Wait for that (bounded), then check.
    await popup.waitForFunction("window.location.hash === ''", undefined, { timeout: 10_000 }).catch(() => undefined);
    assert.equal(new URL(popup.url()).hash, '', 'the origin hint is taken off the address bar');

    // Forgeries: the right shape but the wrong origin (the host itself) or not from the popup.
    await page.evaluate(`window.postMessage({ type: 'reauth-link:success', reauthorizationId: 'forged', integrationId: 'forged' }, '*')`);
    await page.evaluate(`(() => { const f = document.createElement('iframe'); f.srcdoc = "<script>parent.postMessage({type:'reauth-link:success',reauthorizationId:'framed'}, '*')<\\/script>"; document.body.appendChild(f); })()`);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await page.evaluate('window.events'), [], 'forged messages do not count');

    await popup.setViewportSize({ width: 520, height: 720 });
    await screenshot(popup, 'sdk-popup');
    await popup.getByLabel('New Sandbox CRM API token').fill(await sandboxToken(sys, accountId));
    const closed = whenClosed(popup); // the SDK closes its popup on success
    await popup.getByRole('button', { name: 'Verify and connect' }).click();
    await closed;
    await page.locator('#events li.success').waitFor();
    const events = (await page.evaluate('window.events')) as Array<{ kind: string; data: any }>;
    assert.deepEqual(events, [{ kind: 'success', data: { reauthorizationId: link.body.reauthorization_id, integrationId: created.id } }]);
    assert.equal((await integration(sys, created.id)).credentials.version, created.credentials.version + 1);
    popupWatch.assertClean();

    // A link that does not exist: the popup's page reports an error.
    await page.goto(`${hostUrl}/settings?link=${encodeURIComponent(`${sys.apiUrl}/connect/${'y'.repeat(43)}`)}`);
    const [bad] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Reconnect CRM' }).click()]);
    await bad.getByRole('heading', { name: 'Link not found' }).waitFor();
    await page.locator('#events li.error').waitFor();
    const error = ((await page.evaluate('window.events')) as Array<{ kind: string; data: any }>)[0];
    assert.equal(error.data.code, 'link_not_found');
    await bad.close();

    // A link of another origin is refused before any popup opens.
    await page.goto(`${hostUrl}/settings?link=${encodeURIComponent('https://evil.example/connect/abcdefghijklmnopqrstuvwxyz')}`);
    await page.getByRole('button', { name: 'Reconnect CRM' }).click();
    await page.locator('#events li.error').waitFor();
    assert.equal(((await page.evaluate('window.events')) as Array<{ data: any }>)[0].data.code, 'invalid_link');
    watcher.assertClean();
    await ctx.close();
  });

  test('link SDK: OAuth in the popup — a refusal, "Try again" from the result page, consent, success reported to the host page', async () => {
    const acct = await crmAccount(sys, 'Popup OAuth Co');
    const oauth = await connectedOAuthIntegration(sys, 'hubspot', acct.userId);
    const link = await api(sys, 'POST', '/v1/link-tokens', { key: sys.keyA, body: { integrated_account_id: oauth.id } });
    assert.equal(link.status, 201, link.text);

    const { ctx, page, watcher } = await customerPage();
    await page.goto(`${hostUrl}/settings?link=${encodeURIComponent(link.body.link_url)}`);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Reconnect CRM' }).click()]);
    const popupWatch = watchPage(popup, [sys.apiUrl]);
    await popup.getByRole('link', { name: 'Continue to HubSpot' }).click();
    await popup.waitForURL((url) => url.href.startsWith(sys.sandboxUrl));
    await popup.getByLabel('Sign in as').selectOption(acct.userId);
    await popup.getByRole('button', { name: 'Deny' }).click();
    await popup.getByRole('heading', { name: 'The connection was not completed' }).waitFor();
    assert.equal((await popup.content()).includes(link.body.link_token), false, 'no link token on the result page');
    assert.deepEqual(await page.evaluate('window.events'), [], 'a refused attempt is not final: the host hears nothing yet');

    // "Try again" goes back to the CRM in this popup (its attempt cookie), then the consent succeeds.
    await popup.getByRole('link', { name: 'Try again' }).click();
    const closed = whenClosed(popup);
    await approveAtConsentPage(popup, sys, acct.userId);
    await closed;
    await page.locator('#events li.success').waitFor();
    const events = (await page.evaluate('window.events')) as Array<{ kind: string; data: any }>;
    assert.deepEqual(events, [{ kind: 'success', data: { reauthorizationId: link.body.reauthorization_id, integrationId: oauth.id } }]);
    assert.equal((await integration(sys, oauth.id)).credentials.version, oauth.credentials.version + 1);
    popupWatch.assertClean();
    watcher.assertClean();
    await ctx.close();
  });
});
