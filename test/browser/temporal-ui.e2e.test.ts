/**
 * The Temporal UI of `npm start` in real Chromium: the dev server's own UI (Temporal CLI v1.5.1,
 * UI 2.42), pointed by `npm start` at its loopback codec with `--ui-codec-endpoint`. After a
 * finished API-token reauthorization, a finished OAuth reauthorization and a token refresh asked
 * for through the API, each run's page shows its input and result decoded — naming the integration
 * and its provider —, every event of its history opened shows decoded payloads with credentials
 * `[redacted]`, nothing on the page is still `binary/encrypted`, and no token, code or key used
 * along the way is anywhere in the page's text or HTML. The same page with the codec endpoint taken
 * out of the UI's settings shows ciphertext: that is what these assertions tell apart.
 * Screenshots of the decoded UI go to docs/screenshots/ (README, Operators) with UPDATE_SCREENSHOTS=1.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { KeyRing, resolveKeySpecs } from '../../libs/crypto/key-ring';
import { credentialAad } from '../../libs/db/credential-store';
import { embeddedPostgresUrl } from '../../libs/dev/embedded-postgres';
import { freePort } from '../../libs/temporal/dev-server';
import { configureOAuthApp, crmAccount, oauthRoundTrip, type Shape } from '../support/oauth';
import { descendants, npmStartDataDir } from '../support/npm-start';
import { ROOT } from '../support/paths';
import { api, sandboxAccount, sandboxToken, waitFor, type TestSystem } from '../support/system';

import { launchBrowser, newContext, SCREENSHOTS } from './support';

// Its runs carry fresh ids and times, so the README's pictures are only rewritten when asked for
// (UPDATE_SCREENSHOTS=1); otherwise they go to a scratch directory and the checkout stays as it is.
const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS ? SCREENSHOTS : fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-ui-shots-'));

/** `binary/encrypted`, the encoding of a payload the UI could not decode, as the UI shows metadata: base64. */
const ENCRYPTED = ['binary/encrypted', Buffer.from('binary/encrypted').toString('base64').replace(/=+$/, '')];

interface NpmStart {
  child: ChildProcess;
  output: () => string;
  dataDir: string;
  apiUrl: string;
  sandboxUrl: string;
  uiUrl: string;
  temporalAddress: string;
  pgPort: number;
}

/** `npm start` (what it runs after building) on free ports, with its own data directory, embedded everything. */
async function npmStart(): Promise<NpmStart> {
  const dataDir = npmStartDataDir('temporal-ui-test-');
  const ports = { api: await freePort(), crm: await freePort(), temporal: await freePort(), ui: await freePort(), pg: await freePort() };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(ports.api),
    SANDBOX_CRM_PORT: String(ports.crm),
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    EMBEDDED_POSTGRES_PORT: String(ports.pg),
    LOG_FORMAT: 'json',
  };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'BOOTSTRAP_API_KEYS', 'OPERATOR_API_KEYS', 'CREDENTIALS_KEYS', 'PAYLOAD_CODEC_KEYS', 'SANDBOX_CRM_URL', 'PUBLIC_URL', 'CODEC_CORS_ORIGINS']) {
    delete env[k];
  }
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'start.js')], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 240_000;
  while (!output.includes('Reauthorization engine is up.')) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    child,
    output: () => output,
    dataDir,
    // PUBLIC_URL's default: the OAuth redirect URI registered at the CRM must be exactly this.
    apiUrl: `http://localhost:${ports.api}`,
    sandboxUrl: `http://127.0.0.1:${ports.crm}`,
    uiUrl: `http://localhost:${ports.ui}`,
    temporalAddress: `127.0.0.1:${ports.temporal}`,
    pgPort: ports.pg,
  };
}

async function stopNpmStart(s: NpmStart): Promise<void> {
  const tree = descendants(s.child.pid!);
  const exited = new Promise((resolve) => (s.child.exitCode !== null ? resolve(undefined) : s.child.once('exit', resolve)));
  s.child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
  clearTimeout(timer);
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(s.dataDir, { recursive: true, force: true });
}

interface Run {
  workflowId: string;
  runId: string;
}

describe('Temporal UI of npm start (browser)', () => {
  let start: NpmStart;
  let sys: TestSystem;
  let temporal: Client;
  let connection: Connection;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  /** Everything secret this test handled: tokens, codes, keys, link tokens. */
  const secrets = new Set<string>();
  let tokenIntegrationId: string;
  let oauthIntegrationId: string;
  let tokenReauth: Run;
  let oauthReauth: Run;
  let refresh: Run;

  const runsOf = async (query: string): Promise<Run[]> => {
    const runs: Run[] = [];
    for await (const w of temporal.workflow.list({ query })) runs.push({ workflowId: w.workflowId, runId: w.runId });
    return runs;
  };

  /** The secrets of every credential version of an integration, as Postgres keeps them sealed. */
  const credentialSecrets = async (integrationId: string): Promise<string[]> => {
    const ring = new KeyRing(resolveKeySpecs({ dataDir: start.dataDir }).credentialsKeys);
    const pg = new PgClient({ connectionString: embeddedPostgresUrl(start.pgPort) });
    await pg.connect();
    try {
      const rows = (await pg.query('SELECT id, key_id, ciphertext FROM credential_versions WHERE integration_id = $1', [integrationId])).rows;
      return rows.flatMap((row) => {
        const secret = ring.openJson<Record<string, string | undefined>>({ keyId: row.key_id, data: row.ciphertext }, credentialAad(integrationId, row.id));
        return [secret.apiToken, secret.accessToken, secret.refreshToken].filter((s): s is string => typeof s === 'string');
      });
    } finally {
      await pg.end();
    }
  };

  beforeAll(async () => {
    [start, browser] = await Promise.all([npmStart(), launchBrowser()]);
    const devKey = fs.readFileSync(path.join(start.dataDir, 'dev-api-key'), 'utf8').trim();
    const operatorKey = fs.readFileSync(path.join(start.dataDir, 'dev-operator-key'), 'utf8').trim();
    secrets.add(devKey).add(operatorKey);
    // The helpers of test/support speak to a system by its URLs and tenant key only.
    sys = { apiUrl: start.apiUrl, sandboxUrl: start.sandboxUrl, keyA: devKey } as TestSystem;
    connection = await Connection.connect({ address: start.temporalAddress });
    temporal = new Client({ connection });

    // 1. A finished API-token reauthorization, a wrong token refused on the way.
    const acct = await sandboxAccount(sys, 'Acme Inc');
    secrets.add(acct.token);
    const created = await api(sys, 'POST', '/v1/integrations', {
      key: devKey,
      body: { provider: 'sandbox', displayName: 'Acme CRM', config: { syncContacts: true }, credentials: { apiToken: acct.token } },
    });
    assert.equal(created.status, 201, created.text);
    tokenIntegrationId = created.body.id;
    const started = await api(sys, 'POST', `/v1/integrations/${tokenIntegrationId}/reauthorizations`, { key: devKey, body: { reason: 'token rotation' } });
    assert.equal(started.status, 201, started.text);
    secrets.add(new URL(started.body.linkUrl).pathname.split('/').pop()!);
    const wrongToken = `sbx_wrong_${'q'.repeat(24)}`;
    secrets.add(wrongToken);
    const rejected = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: devKey, body: { apiToken: wrongToken } });
    assert.equal(rejected.status, 422, rejected.text);
    const newToken = await sandboxToken(sys, acct.accountId);
    secrets.add(newToken);
    const accepted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: devKey, body: { apiToken: newToken } });
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal(accepted.body.outcome, 'succeeded', accepted.text);

    // 2. An OAuth integration (HubSpot shape): connected through consent, then re-authorized with another scope.
    const shape: Shape = 'hubspot';
    const app = await configureOAuthApp(sys, shape);
    secrets.add(app.clientSecret);
    const user = await crmAccount(sys, 'Globex');
    const oauthCreated = await api(sys, 'POST', '/v1/integrations', { key: devKey, body: { provider: shape, displayName: 'Globex HubSpot' } });
    assert.equal(oauthCreated.status, 201, oauthCreated.text);
    oauthIntegrationId = oauthCreated.body.id;
    for (const scopes of [[], ['crm.objects.tickets.read']]) {
      const trip = await oauthRoundTrip(sys, oauthIntegrationId, user.userId, { reauth: { scopes } });
      assert.equal(trip.status.outcome, 'succeeded', JSON.stringify(trip.status));
      const callback = new URL(trip.redirectTo);
      for (const p of ['code', 'state']) if (callback.searchParams.get(p)) secrets.add(callback.searchParams.get(p)!);
      secrets.add(new URL(trip.started.linkUrl).pathname.split('/').pop()!);
    }

    // 3. A token refresh asked for through the API: the refresh loop rotates the tokens (version 3).
    const asked = await api(sys, 'POST', `/v1/integrations/${oauthIntegrationId}/refresh`, { key: devKey });
    assert.equal(asked.status, 202, asked.text);
    await waitFor(
      'the refreshed credentials',
      async () => (await api(sys, 'GET', `/v1/integrations/${oauthIntegrationId}`, { key: devKey })).body?.credentials?.version === 3,
      60_000,
    );

    for (const s of [...(await credentialSecrets(tokenIntegrationId)), ...(await credentialSecrets(oauthIntegrationId))]) secrets.add(s);
    assert.ok(secrets.size >= 14, `the secrets of this test (${secrets.size})`);

    // The runs, from Temporal's visibility (what the UI lists too).
    await waitFor('visibility of the runs', async () => (await runsOf(`IntegrationId = "${oauthIntegrationId}" AND WorkflowType = "reauthorization"`)).length === 2, 30_000);
    [tokenReauth] = await runsOf(`IntegrationId = "${tokenIntegrationId}" AND WorkflowType = "reauthorization"`);
    // The list is newest first: the second OAuth run is the re-authorization proper.
    [oauthReauth] = await runsOf(`IntegrationId = "${oauthIntegrationId}" AND WorkflowType = "reauthorization"`);
    // The refresh loop carries no search attributes: it is found by its id.
    [refresh] = await runsOf(`WorkflowId = "refresh:${oauthIntegrationId}"`);
    for (const r of [tokenReauth, oauthReauth, refresh]) assert.ok(r?.runId, 'run found');

    ctx = await newContext(browser);
    page = await ctx.newPage();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await connection?.close().catch(() => undefined);
    if (start) await stopNpmStart(start);
  });

  const runUrl = (r: Run, tab: string) => `${start.uiUrl}/namespaces/default/workflows/${encodeURIComponent(r.workflowId)}/${r.runId}/${tab}`;

  /**
   * The page's visible text and its HTML, its frames' included: the UI renders summaries and
   * details as Markdown in iframes (through strings: the tests compile without the DOM lib).
   */
  const contents = async (p: Page) => {
    const texts: string[] = [];
    const htmls: string[] = [];
    for (const frame of p.frames()) {
      const [text, html] = await Promise.all([
        frame.evaluate('document.body ? document.body.innerText : ""').then((t) => t as string, () => ''),
        frame.content().catch(() => ''),
      ]);
      texts.push(text);
      htmls.push(html, frame.url());
    }
    return { text: texts.join('\n'), html: htmls.join('\n') };
  };

  /**
   * Waits until the page's text shows every one of `needles` (decoded payloads arrive
   * asynchronously; the UI's own client-side navigations may replace the document meanwhile).
   */
  const waitForText = async (p: Page, needles: string[], what: string) => {
    const deadline = Date.now() + 60_000;
    let text = '';
    for (;;) {
      text = (await contents(p)).text;
      if (needles.every((n) => text.includes(n))) return;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`${what}: the page never showed ${JSON.stringify(needles.filter((n) => !text.includes(n)))} (${p.url()})\n${text.slice(0, 4000)}`);
  };

  /** Counts the codec requests in flight, so that assertions wait for the last decoded answer. */
  const codecTraffic = (p: Page) => {
    let inFlight = 0;
    let total = 0;
    const isCodec = (url: string) => /\/(decode|encode)$/.test(new URL(url).pathname) && !url.startsWith(start.uiUrl);
    p.on('request', (r) => {
      if (isCodec(r.url())) {
        inFlight++;
        total++;
      }
    });
    const done = (r: { url(): string }) => {
      if (isCodec(r.url())) inFlight--;
    };
    p.on('requestfinished', done);
    p.on('requestfailed', done);
    return {
      total: () => total,
      async settled() {
        await waitFor('the codec requests to finish', async () => inFlight === 0, 30_000);
        // A last batch may follow a render; give it the chance to start, then wait again.
        await p.waitForTimeout(1000);
        await waitFor('the codec requests to finish', async () => inFlight === 0, 30_000);
      },
    };
  };

  /**
   * Opens a run's history, waits for its decoded input, opens every event of the history, waits for
   * the decoded details `expected`, then checks the page holds no ciphertext and no secret.
   */
  async function checkHistory(r: Run, decodedInput: string[], expected: string[]): Promise<string> {
    const traffic = codecTraffic(page);
    await page.goto(runUrl(r, 'history'), { waitUntil: 'load' });
    await waitForText(page, decodedInput, `${r.workflowId} input`);
    // Every event of the history, opened (a row's click toggles its details).
    await page.locator('tr[data-testid="event-summary-row"]').first().waitFor();
    const rows = await page.locator('tr[data-testid="event-summary-row"]').count();
    assert.ok(rows > 10, `${r.workflowId}: the history shows its events (${rows})`);
    await page.evaluate(`document.querySelectorAll('tr[data-testid="event-summary-row"]').forEach((row) => row.click())`);
    await waitFor('every event opened', async () => (await page.locator('tr[data-testid="event-summary-row-expanded"]').count()) === rows, 30_000);
    await waitForText(page, expected, `${r.workflowId} events`);
    await traffic.settled();
    assert.ok(traffic.total() > 3, `${r.workflowId}: the UI decoded through the codec (${traffic.total()} requests)`);

    const { text, html } = await contents(page);
    for (const needle of ENCRYPTED) {
      assert.equal(text.includes(needle), false, `${r.workflowId}: "${needle}" in the page text`);
      assert.equal(html.includes(needle), false, `${r.workflowId}: "${needle}" in the page HTML`);
    }
    for (const s of secrets) {
      assert.equal(text.includes(s), false, `${r.workflowId}: a secret (${s.slice(0, 6)}…) in the page text`);
      assert.equal(html.includes(s), false, `${r.workflowId}: a secret (${s.slice(0, 6)}…) in the page HTML`);
    }
    return text;
  }

  /** The run's Summary and Current Details (the "User Metadata" tab), decoded. */
  async function checkUserMetadata(r: Run, expected: string[]): Promise<void> {
    await page.goto(runUrl(r, 'user-metadata'), { waitUntil: 'load' });
    await waitForText(page, expected, `${r.workflowId} summary and details`);
    const { text, html } = await contents(page);
    for (const needle of [...ENCRYPTED, ...secrets]) assert.equal(text.includes(needle) || html.includes(needle), false, `${r.workflowId} metadata: ${needle.slice(0, 6)}…`);
  }

  test('the UI of npm start decodes through the loopback codec of npm start', async () => {
    const settings = (await (await fetch(`${start.uiUrl}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    const endpoint = /decodes through (http:\/\/127\.0\.0\.1:\d+)/.exec(start.output())?.[1];
    assert.ok(endpoint, 'npm start names its UI codec');
    assert.equal(settings.Codec?.Endpoint, endpoint, JSON.stringify(settings.Codec));
  });

  test('a finished API-token reauthorization: input and result decoded, submitted tokens [redacted], no ciphertext, no secret', async () => {
    const text = await checkHistory(
      tokenReauth,
      [`"integrationId": "${tokenIntegrationId}"`, '"provider": "sandbox"', '"authType": "api_token"', '"outcome": "succeeded"', '"credentialVersion": 2'],
      // The submitApiToken updates (the refused and the accepted one) and the validation activity's input.
      ['"apiToken": "[redacted]"', 'submitApiToken', 'validateApiToken'],
    );
    assert.ok(text.split('"apiToken": "[redacted]"').length - 1 >= 2, 'both submitted tokens are shown redacted');
    await checkUserMetadata(tokenReauth, ['Re-authorize Sandbox CRM integration', 'Acme CRM', '(API token)', 'Succeeded: credential version 2']);
  });

  test('a finished OAuth reauthorization: input and result decoded, the callback code [redacted], no ciphertext, no secret', async () => {
    await checkHistory(
      oauthReauth,
      [`"integrationId": "${oauthIntegrationId}"`, '"provider": "hubspot"', '"authType": "oauth2"', '"crm.objects.tickets.read"', '"outcome": "succeeded"', '"credentialVersion": 2'],
      ['oauthCallback', '"code": "[redacted]"', '"stateHash"'],
    );
    await checkUserMetadata(oauthReauth, ['Re-authorize HubSpot integration', 'Globex HubSpot', '(OAuth)', 'Succeeded: credential version 2']);
    await page.goto(runUrl(oauthReauth, 'history'), { waitUntil: 'load' });
    await waitForText(page, ['"provider": "hubspot"', '"outcome": "succeeded"'], 'OAuth reauthorization');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'temporal-ui-reauthorization.png') });
  });

  test('a token refresh: the refresh loop shows its decoded input, the plan naming the provider and the refresh result', async () => {
    await checkHistory(
      refresh,
      [`"integrationId": "${oauthIntegrationId}"`],
      ['loadRefreshPlan', '"provider": "hubspot"', '"authType": "oauth2"', 'refreshCredentials', '"outcome": "refreshed"', '"version": 3'],
    );
    await checkUserMetadata(refresh, ['Keep the credentials of HubSpot integration', 'Globex HubSpot', 'fresh and checked', 'Refreshing in']);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'temporal-ui-refresh-details.png') });
  });

  test('the list of one integration runs, and the same page without the codec endpoint shows only ciphertext', async () => {
    // The list of every run, with the engine's search attributes as columns (the table's column
    // settings, kept in localStorage): the UI of this CLI shows summaries on a run's page only.
    const listCtx = await browser.newContext({ viewport: { width: 1440, height: 720 }, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' });
    const columns = ['Status', 'Workflow ID', 'CrmProvider', 'ReauthPhase', 'ReauthOutcome', 'Start'];
    await listCtx.addInitScript(
      `localStorage.setItem('namespace-workflow-table-columns', ${JSON.stringify(JSON.stringify({ default: columns.map((label, i) => ({ label, pinned: i < 2 })) }))})`,
    );
    const list = await listCtx.newPage();
    await list.goto(`${start.uiUrl}/namespaces/default/workflows`, { waitUntil: 'load' });
    await waitForText(list, [`reauth:${oauthIntegrationId}`, `reauth:${tokenIntegrationId}`, `refresh:${oauthIntegrationId}`, `connect:${tokenIntegrationId}`, 'succeeded', 'hubspot'], 'the workflow list');
    await list.getByRole('button', { name: 'Collapse saved views' }).click();
    await list.screenshot({ path: path.join(SCREENSHOT_DIR, 'temporal-ui-workflows.png') });
    // Filtered by one integration: its reauthorizations (the refresh loop and connect carry no search attributes).
    await list.goto(`${start.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`IntegrationId = "${oauthIntegrationId}"`)}`, { waitUntil: 'load' });
    await waitFor('the filtered list', async () => (await list.locator('a', { hasText: `reauth:${oauthIntegrationId}` }).count()) === 2, 30_000);
    assert.equal(await list.locator('a', { hasText: `reauth:${tokenIntegrationId}` }).count(), 0, 'the filter keeps other integrations out');
    await listCtx.close();

    // Control: the UI as the dev server serves it without `--ui-codec-endpoint` (its settings without a codec).
    const bareCtx = await newContext(browser);
    const bare = await bareCtx.newPage();
    await bare.route('**/api/v1/settings*', async (route) => {
      const response = await route.fetch();
      const settings = (await response.json()) as Record<string, unknown>;
      await route.fulfill({ response, json: { ...settings, Codec: {} } });
    });
    await bare.goto(runUrl(tokenReauth, 'history'), { waitUntil: 'load' });
    await waitForText(bare, ['Input', ENCRYPTED[1]], 'the history without a codec');
    const { text } = await contents(bare);
    assert.equal(text.includes(`"integrationId": "${tokenIntegrationId}"`), false, 'without the codec the input is not readable');
    await bareCtx.close();
  });
});
