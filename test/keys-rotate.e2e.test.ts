/**
 * Credential key rotation for real (`npm run keys:rotate`, scripts/rotate-keys.ts), end to end:
 *
 * 1. The system runs with CREDENTIALS_KEYS=k1 and stores one of every sealed thing: credential
 *    versions (API token and OAuth), an OAuth app's client secret, reauthorizations' link tokens and
 *    an OAuth attempt, webhook signing secrets.
 * 2. The worker is restarted with the ring `k2,k1` (new key first), as the README says, and the
 *    rotation script runs as a child process, in batches of 2, while that worker swaps credentials
 *    (OAuth refreshes) and another transaction holds one credential row (skipped, then picked up by
 *    a second scan). A ring without k1 is refused first, changing nothing.
 * 3. Every sealed row is under k2, and opens with KeyRing(k2) alone using the AAD the application
 *    itself seals with; a second run has nothing to do.
 * 4. An API and a worker with the ring `k2` only (k1 gone) serve the data written before the
 *    rotation: the open reauthorization's link and authorize URL, an API-token reauthorization, a
 *    webhook signed with the stored secret, an OAuth refresh with the stored client secret.
 *
 * test/support/system.ts cannot restart its API with another environment, so the k2-only API is a
 * second API process on its own port, next to the system's (k1) one, which is not used after step 1
 * for anything that opens a secret. The system's worker is killed and replaced (step 2, step 4).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { Webhook } from 'standardwebhooks';
import { KeyRing } from '../libs/crypto/key-ring';
import { hashLinkToken, linkTokenAad } from '../libs/crypto/link-token';
import { oauthAttemptAad, type SealedAttempt } from '../libs/crypto/oauth-attempt';
import { credentialAad } from '../libs/db/credential-store';
import { SEALED_COLUMNS } from '../libs/db/sealed-columns';
import { spawnService, waitForHttp, type ServiceProcess } from '../libs/dev/service-process';
import { webhookSecretAad } from '../libs/domain/webhooks';
import { clientSecretAad } from '../libs/providers/provider-registry';
import { freePort } from '../libs/temporal/dev-server';
import { configureOAuthApp, connectedOAuthIntegration, crmAccount, startReauth } from './support/oauth';
import { DIST, ROOT } from './support/paths';
import { api, connectedIntegration, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';
import { TEST_PEER_ALLOWLIST } from './support/test-network';
import { Receiver } from './support/webhook-receiver';

const K1 = KeyRing.generateSpec('k1');
const K2 = KeyRing.generateSpec('k2');
// Shared by the system's processes and the ones this test starts: Temporal payloads stay readable.
const CODEC_KEYS = process.env.TEST_PAYLOAD_CODEC_KEYS || KeyRing.generateSpec('codec-rotate');

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('npm run keys:rotate', () => {
  let sys: TestSystem;
  let receiver: Receiver;
  const started: ServiceProcess[] = [];
  const ownLogs: string[] = [];

  beforeAll(async () => {
    sys = await startSystem({ extraEnv: { CREDENTIALS_KEYS: K1, PAYLOAD_CODEC_KEYS: CODEC_KEYS, EGRESS_ALLOWLIST: '127.0.0.1' } });
    receiver = await new Receiver().start();
  });
  afterAll(async () => {
    for (const s of started.reverse()) await s.stop(5000).catch(() => undefined);
    await receiver?.stop();
    await sys?.stop();
  });

  /** The environment of the system's own processes (see test/support/system.ts), with another key ring. */
  function appEnv(credentialKeys: string, port = Number(new URL(sys.apiUrl).port)): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PORT: String(port),
      PUBLIC_URL: sys.apiUrl,
      SANDBOX_CRM_URL: sys.sandboxUrl,
      TEMPORAL_ADDRESS: sys.temporalAddress,
      TEMPORAL_TASK_QUEUE: sys.taskQueue,
      DATABASE_URL: sys.databaseUrl,
      CREDENTIALS_KEYS: credentialKeys,
      PAYLOAD_CODEC_KEYS: CODEC_KEYS,
      BOOTSTRAP_API_KEYS: `tenant-a:${sys.keyA},tenant-b:${sys.keyB}`,
      // As system.ts does: the receiver's address (test-network.ts), plus what this test adds.
      EGRESS_ALLOWLIST: `${TEST_PEER_ALLOWLIST},127.0.0.1`,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DATA_DIR: path.join(ROOT, '.data', `test-${process.pid}`),
      API_SHUTDOWN_DELAY_SECONDS: '0',
      WORKER_SHUTDOWN_GRACE_SECONDS: '0',
    };
  }

  function launch(name: string, script: string, env: NodeJS.ProcessEnv): ServiceProcess {
    const svc = spawnService(name, path.join(DIST, script), env, (n, line) => {
      ownLogs.push(`[${n}] ${line}`);
      if (process.env.TEST_VERBOSE) console.log(`[${n}] ${line}`);
    });
    started.push(svc);
    return svc;
  }

  async function startWorker(name: string, credentialKeys: string): Promise<ServiceProcess> {
    const before = ownLogs.length;
    const worker = launch(name, 'apps/worker/main.js', appEnv(credentialKeys));
    await waitFor(`${name} polling`, async () => ownLogs.slice(before).some((l) => l.startsWith(`[${name}]`) && l.includes('worker polling task queue')), 60_000);
    return worker;
  }

  async function stopProcess(svc: ServiceProcess): Promise<void> {
    await svc.stop(5000);
    started.splice(started.indexOf(svc), 1);
  }

  /** Runs the rotation script; `output()` is what it printed so far. */
  function startRotation(credentialKeys: string, args: string[] = []): { done: Promise<ScriptRun>; output(): string } {
    const child = spawn(process.execPath, [path.join(DIST, 'scripts', 'rotate-keys.js'), ...args], {
      env: { ...process.env, DATABASE_URL: sys.databaseUrl, CREDENTIALS_KEYS: credentialKeys, DATA_DIR: path.join(ROOT, '.data', `test-${process.pid}`) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const done = new Promise<ScriptRun>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    return { done, output: () => stdout };
  }

  const rotate = (credentialKeys: string, args: string[] = []) => startRotation(credentialKeys, args).done;

  /** One refresh of the OAuth integration through the system's API, waited for: a credential swap. */
  async function swapOAuthCredentials(integrationId: string): Promise<void> {
    const version = (await sys.pg.query('SELECT credential_version FROM integrations WHERE id = $1', [integrationId])).rows[0].credential_version;
    const r = await api(sys, 'POST', `/v1/integrations/${integrationId}/refresh`, { key: sys.keyA });
    assert.equal(r.status, 202, r.text);
    await waitFor('a credential swap', async () => {
      const now = (await sys.pg.query('SELECT credential_version FROM integrations WHERE id = $1', [integrationId])).rows[0].credential_version;
      return now > version;
    });
  }

  /** Key ids of every sealed value, read table by table (independently of SEALED_COLUMNS). */
  async function keyIds(): Promise<Record<string, string[]>> {
    const q = async (sql: string) => (await sys.pg.query(sql)).rows.map((r) => r.k as string);
    return {
      credentials: await q('SELECT key_id AS k FROM credential_versions ORDER BY id'),
      clientSecrets: await q('SELECT secret_key_id AS k FROM provider_configs WHERE secret_ciphertext IS NOT NULL ORDER BY id'),
      linkTokens: await q('SELECT link_token_key_id AS k FROM reauthorizations ORDER BY id'),
      oauthAttempts: await q('SELECT oauth_key_id AS k FROM reauthorizations WHERE oauth_ciphertext IS NOT NULL ORDER BY id'),
      webhookSecrets: await q('SELECT secret_key_id AS k FROM webhook_endpoints ORDER BY id'),
    };
  }

  /** Every sealed value of the database, opened with the given ring and the AAD the application seals it with. */
  async function openEverything(ring: KeyRing) {
    const credentials = (await sys.pg.query('SELECT id, integration_id, state, key_id, ciphertext FROM credential_versions')).rows.map((r) => ({
      id: r.id as string,
      integrationId: r.integration_id as string,
      state: r.state as string,
      secret: ring.openJson<{ apiToken?: string; accessToken?: string; refreshToken?: string }>({ keyId: r.key_id, data: r.ciphertext }, credentialAad(r.integration_id, r.id)),
    }));
    const clientSecrets = (await sys.pg.query('SELECT tenant_id, provider_key, secret_key_id, secret_ciphertext FROM provider_configs WHERE secret_ciphertext IS NOT NULL')).rows.map((r) => ({
      providerKey: r.provider_key as string,
      secret: ring.openJson<string>({ keyId: r.secret_key_id, data: r.secret_ciphertext }, clientSecretAad(r.tenant_id, r.provider_key)),
    }));
    const reauths = (await sys.pg.query('SELECT * FROM reauthorizations')).rows.map((r) => ({
      id: r.id as string,
      linkTokenHash: r.link_token_hash as string,
      linkToken: ring.openJson<string>({ keyId: r.link_token_key_id, data: r.link_token_ciphertext }, linkTokenAad(r.id)),
      attempt: r.oauth_ciphertext ? ring.openJson<SealedAttempt>({ keyId: r.oauth_key_id, data: r.oauth_ciphertext }, oauthAttemptAad(r.id)) : null,
    }));
    const webhookSecrets = (await sys.pg.query('SELECT id, secret_key_id, secret_ciphertext FROM webhook_endpoints')).rows.map((r) => ({
      id: r.id as string,
      secret: ring.openJson<string>({ keyId: r.secret_key_id, data: r.secret_ciphertext }, webhookSecretAad(r.id)),
    }));
    return { credentials, clientSecrets, reauths, webhookSecrets };
  }

  test('re-encrypts every sealed row under the first key while the system runs; the old key can then go', async () => {
    // The schema has no sealed column the rotation does not know.
    const schemaColumns = (
      await sys.pg.query(`SELECT table_name, column_name FROM information_schema.columns
                           WHERE table_schema = 'public' AND column_name LIKE '%ciphertext' ORDER BY 1, 2`)
    ).rows.map((r) => `${r.table_name}.${r.column_name}`);
    assert.deepEqual(schemaColumns, SEALED_COLUMNS.map((c) => `${c.table}.${c.ciphertextColumn}`).sort());

    // 1. One of every sealed thing, under k1.
    const tokenIntegrations = [];
    for (let i = 0; i < 5; i++) tokenIntegrations.push(await connectedIntegration(sys));
    const app = await configureOAuthApp(sys, 'hubspot', { extra: { rotateRefreshTokens: true } });
    const oauthUser = await crmAccount(sys, 'Acme Rotation');
    const oauthIntegration = await connectedOAuthIntegration(sys, 'hubspot', oauthUser.userId);
    const openOAuthReauth = await startReauth(sys, oauthIntegration.id, { reason: 'left open across the rotation' });
    const tokenReauth = await startReauth(sys, tokenIntegrations[0].integration.id, { reason: 'finished after the rotation' });
    const endpoints: Array<{ id: string; secret: string }> = [];
    for (const p of ['/hooks/a', '/hooks/b']) {
      const r = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url: receiver.url(p) } });
      assert.equal(r.status, 201, r.text);
      endpoints.push({ id: r.body.id, secret: r.body.secret });
    }
    const before = await keyIds();
    for (const [what, ids] of Object.entries(before)) {
      assert.ok(ids.length > 0, `some ${what} are stored`);
      assert.deepEqual([...new Set(ids)], ['k1'], `${what} are under k1`);
    }
    const plainBefore = await openEverything(new KeyRing(K1));

    // A ring without k1 cannot open anything: refused row by row, nothing changes, exit code 1.
    const withoutOldKey = await rotate(K2);
    assert.equal(withoutOldKey.code, 1, withoutOldKey.stdout + withoutOldKey.stderr);
    assert.match(withoutOldKey.stdout, /could not open credential_versions\.ciphertext row [0-9a-f-]{36}: unknown encryption key id "k1"/);
    assert.deepEqual(await keyIds(), before);

    // 2. New key first: the worker now seals with k2 and opens both (the README's step 1).
    await sys.killWorker();
    const rotatingWorker = await startWorker('worker-k2-k1', `${K2},${K1}`);

    await swapOAuthCredentials(oauthIntegration.id); // the new worker is warm

    // The rotation runs while that worker swaps OAuth credentials (refresh, rotated refresh token),
    // until the script has finished. And another transaction holds one credential row meanwhile, as
    // a swap does: the script skips it (SKIP LOCKED), scans again, and gets it once it is free.
    const holder = new PgClient({ connectionString: sys.databaseUrl });
    await holder.connect();
    await holder.query('BEGIN');
    const held = await holder.query(`SELECT id FROM credential_versions WHERE integration_id = $1 AND state = 'active' FOR UPDATE`, [tokenIntegrations[1].integration.id]);
    assert.equal(held.rowCount, 1);
    let rotationDone = false;
    const swapping = (async () => {
      for (let swaps = 0; !rotationDone || swaps < 2; swaps++) await swapOAuthCredentials(oauthIntegration.id);
    })().then(
      () => undefined,
      (err: unknown) => err, // kept for after the rotation, rather than an unhandled rejection meanwhile
    );
    const running = startRotation(`${K2},${K1}`, ['--batch-size=2']);
    try {
      await waitFor('the script to skip the held row', async () => running.output().includes('credential_versions.ciphertext: 1 row was locked or written meanwhile; scanning again'));
      assert.equal((await sys.pg.query('SELECT key_id FROM credential_versions WHERE id = $1', [held.rows[0].id])).rows[0].key_id, 'k1', 'the held row was left alone');
    } finally {
      await holder.query('COMMIT');
      await holder.end();
    }
    const rotation = await running.done.finally(() => (rotationDone = true));
    const swapFailure = await swapping;
    if (swapFailure) throw swapFailure;
    assert.equal(rotation.code, 0, rotation.stdout + rotation.stderr);
    // Progress per column, batch by batch (batches of 2 rows).
    assert.match(rotation.stdout, /credential_versions\.ciphertext: 2\/\d+ re-encrypted/);
    assert.match(rotation.stdout, /credential_versions\.ciphertext: 4\/\d+ re-encrypted/);
    assert.match(rotation.stdout, /webhook_endpoints\.secret_ciphertext: 2\/2 re-encrypted/);
    assert.match(rotation.stdout, /every sealed row is under k2/);
    for (const secret of [app.clientSecret, ...endpoints.map((e) => e.secret.slice('whsec_'.length)), ...tokenIntegrations.map((t) => t.token)]) {
      assert.equal(rotation.stdout.includes(secret) || rotation.stderr.includes(secret), false, 'the script prints no secret');
    }

    // 3. Everything is under k2 and opens with k2 alone, to the same plaintext as before.
    const after = await keyIds();
    for (const [what, ids] of Object.entries(after)) assert.deepEqual([...new Set(ids)], ['k2'], `${what} are under k2`);
    const plainAfter = await openEverything(new KeyRing(K2));
    const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
    const credentialsAfter = byId(plainAfter.credentials);
    for (const c of plainBefore.credentials) assert.deepEqual(credentialsAfter.get(c.id)?.secret, c.secret, `credential ${c.id} is intact`);
    assert.ok(plainAfter.credentials.length > plainBefore.credentials.length, 'the concurrent swaps added versions');
    assert.deepEqual(plainAfter.clientSecrets, [{ providerKey: 'hubspot', secret: app.clientSecret }]);
    const reauthsAfter = byId(plainAfter.reauths);
    for (const r of plainBefore.reauths) {
      assert.equal(hashLinkToken(reauthsAfter.get(r.id)!.linkToken), r.linkTokenHash, `link token of ${r.id} is intact`);
      assert.deepEqual(reauthsAfter.get(r.id)!.attempt, r.attempt, `OAuth attempt of ${r.id} is intact`);
    }
    assert.equal(reauthsAfter.get(openOAuthReauth.id)!.attempt!.authorizeUrl, openOAuthReauth.authorizeUrl);
    assert.deepEqual(
      plainAfter.webhookSecrets.map((w) => w.secret).sort(),
      endpoints.map((e) => e.secret).sort(),
    );
    for (const t of tokenIntegrations.slice(1)) {
      const active = plainAfter.credentials.find((c) => c.integrationId === t.integration.id && c.state === 'active');
      assert.equal(active?.secret.apiToken, t.token);
    }

    // Idempotent: a second run finds nothing to do; --check agrees.
    const again = await rotate(`${K2},${K1}`);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /done: 0 values re-encrypted/);
    const check = await rotate(K2, ['--check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /every sealed row is under k2/);

    // 4. k1 leaves the ring: an API and a worker with k2 only.
    await stopProcess(rotatingWorker);
    await startWorker('worker-k2', K2);
    const port = await freePort();
    const apiK2 = launch('api-k2', 'apps/api/main.js', appEnv(K2, port));
    await waitForHttp(`http://127.0.0.1:${port}/ready?require=worker`, 90_000, apiK2.child);
    const k2Api = { apiUrl: `http://127.0.0.1:${port}` };

    // The open OAuth reauthorization: its link token and authorize URL open.
    const shown = await api(k2Api, 'GET', `/v1/reauthorizations/${openOAuthReauth.id}`, { key: sys.keyA });
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.body.linkToken, openOAuthReauth.linkToken);
    assert.equal(shown.body.authorizeUrl, openOAuthReauth.authorizeUrl);

    // An API-token reauthorization started before the rotation finishes: credentials swapped, and
    // the webhook is signed with a secret sealed before the rotation.
    const newToken = await sandboxToken(sys, tokenIntegrations[0].accountId);
    const submitted = await api(k2Api, 'POST', `/v1/reauthorizations/${tokenReauth.id}/api-token`, { key: sys.keyA, body: { apiToken: newToken } });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.body.outcome, 'succeeded');
    const integrationId = tokenIntegrations[0].integration.id as string;
    const [delivered] = await waitFor('the reauthorized webhook', async () => {
      const r = receiver.about('/hooks/a', integrationId, 'integrated_account:reauthorized');
      return r.length ? r : undefined;
    });
    const secretA = endpoints[0].secret;
    assert.deepEqual(new Webhook(secretA).verify(delivered.raw, delivered.headers), delivered.body);

    // An OAuth refresh: the refresh token and the client secret, both sealed before, open.
    const version = (await sys.pg.query('SELECT credential_version FROM integrations WHERE id = $1', [oauthIntegration.id])).rows[0].credential_version;
    assert.equal((await api(k2Api, 'POST', `/v1/integrations/${oauthIntegration.id}/refresh`, { key: sys.keyA })).status, 202);
    await waitFor('a refresh with k2 only', async () => {
      const row = (await sys.pg.query('SELECT credential_version, status FROM integrations WHERE id = $1', [oauthIntegration.id])).rows[0];
      return row.credential_version > version && row.status === 'active';
    });
    const integrations = await api(k2Api, 'GET', '/v1/integrations', { key: sys.keyA });
    assert.equal(integrations.status, 200, integrations.text);
    assert.deepEqual([...new Set(integrations.body.data.map((i: any) => i.status))], ['active']);
    const unreadable = ownLogs.filter((l) => l.includes('unknown encryption key id'));
    assert.deepEqual(unreadable, [], 'nothing the k2-only processes needed was left under k1');
    for (const [what, ids] of Object.entries(await keyIds())) assert.deepEqual([...new Set(ids)], ['k2'], `${what} are still under k2`);
  });
});
