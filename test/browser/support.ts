/**
 * Browser tests: Debian's Chromium driven by playwright-core, against the real running system
 * (startSystem) and the sandbox CRM's consent page. Screenshots go to docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount } from '../support/oauth';
import { ROOT } from '../support/paths';
import { api, waitFor, type TestSystem } from '../support/system';

export const SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Without the background-networking flags Chromium's own connections are refused on a closed network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export const VIEWPORT = { width: 1280, height: 800 };

export async function newContext(browser: Browser, opts: { clipboard?: boolean } = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' });
  if (opts.clipboard) await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
  return ctx;
}

/**
 * Records what a page complains about: uncaught errors, console errors (CSP violations show up
 * there) and failed requests of our own origins. `assertClean` fails the test if any.
 */
export function watchPage(page: Page, ownOrigins: string[]): { problems: string[]; assertClean(): void } {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // Expected answers of the API (a 422 for a wrong token, a 404/410 page) are logged by Chromium as resource errors.
    if (/Failed to load resource: the server responded with a status of (4\d\d)/.test(text)) return;
    problems.push(`console: ${text}`);
  });
  page.on('requestfailed', (req) => {
    const url = req.url();
    if (!ownOrigins.some((o) => url.startsWith(o))) return;
    const failure = req.failure()?.errorText ?? '';
    if (/ERR_ABORTED/.test(failure)) return; // navigations away, cancelled polls
    problems.push(`requestfailed: ${req.method()} ${url} ${failure}`);
  });
  return {
    problems,
    assertClean() {
      assert.deepEqual(problems, [], 'the page logged no error and broke no Content-Security-Policy rule');
    },
  };
}

/** A 1280x800 PNG of the viewport (transient toasts hidden, so the screen itself is what shows). */
export async function screenshot(page: Page, name: string, opts: { scrollTo?: string } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  if (opts.scrollTo) {
    await page.evaluate(`document.querySelector(${JSON.stringify(opts.scrollTo)}).scrollIntoView({ block: 'start' }); window.scrollBy(0, -24)`);
  }
  // Through the DOM, not an injected stylesheet: the pages' Content-Security-Policy forbids inline styles.
  await page.evaluate("document.getElementById('toast') && (document.getElementById('toast').hidden = true)");
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** The sign-in form: the key goes to sessionStorage, never to the URL. */
export async function signIn(page: Page, sys: TestSystem, key = sys.keyA): Promise<void> {
  await page.goto(`${sys.apiUrl}/console`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
  assert.equal(page.url().includes(key), false, 'the API key is not in the URL');
}

/** The id of the focused element (the tests compile without the DOM lib, hence a string expression). */
export async function activeElementId(page: Page): Promise<string | null> {
  return page.evaluate('document.activeElement ? document.activeElement.id : null') as Promise<string | null>;
}

export async function openIntegration(page: Page, sys: TestSystem, id: string): Promise<void> {
  await page.goto(`${sys.apiUrl}/console#/integrations/${id}`);
  // From another integration's page this is only a fragment change: that page (and its buttons)
  // stays until this one's data has arrived, so wait for the title of this integration.
  await page.locator(`#integration-title[data-integration-id="${id}"]`).waitFor();
}

export async function integration(sys: TestSystem, id: string): Promise<any> {
  const r = await api(sys, 'GET', `/v1/integrations/${id}`, { key: sys.keyA });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** The person at the sandbox CRM's consent page: picks the user in "Sign in as" and clicks Allow. */
export async function approveAtConsentPage(page: Page, sys: TestSystem, userId: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(sys.sandboxUrl));
  await page.getByLabel('Sign in as').selectOption(userId);
  await page.getByRole('button', { name: 'Allow' }).click();
}

/**
 * A `blocked` OAuth integration with an open alert: connected through the consent flow, then its
 * refresh token revoked in the CRM and a refresh asked for (the tokenRefresh workflow classifies
 * `invalid_grant` as blocked / refresh_token_revoked and raises the alert).
 */
export async function blockedOAuthIntegration(sys: TestSystem, shape: 'pipedrive' | 'hubspot' = 'pipedrive', name = 'Blocked Co') {
  const acct = await crmAccount(sys, name);
  const created = await connectedOAuthIntegration(sys, shape, acct.userId, { syncContacts: true, fieldMappings: { email: 'Email' } });
  const secret = await sys.readActiveSecret(created.id);
  assert.ok(secret.refreshToken, 'the OAuth integration has a refresh token');
  const revoked = await fetch(`${sys.sandboxUrl}/admin/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: secret.refreshToken }),
  });
  assert.equal(revoked.status, 200, await revoked.text());
  const refresh = await api(sys, 'POST', `/v1/integrations/${created.id}/refresh`, { key: sys.keyA });
  assert.equal(refresh.status, 202, refresh.text);
  const blocked = await waitFor('blocked', async () => {
    const i = await integration(sys, created.id);
    return i.status === 'blocked' ? i : undefined;
  });
  await waitFor('the alert', async () => {
    const alerts = (await api(sys, 'GET', '/v1/alerts', { key: sys.keyA })).body.data;
    return alerts.some((a: any) => a.integrationId === created.id);
  });
  return { acct, integration: blocked };
}

export { configureOAuthApp };
