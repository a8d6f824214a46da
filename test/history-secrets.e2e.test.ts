/**
 * No secret in any Temporal history, stored or decoded for an operator: the test drives every
 * workflow type (connectIntegration, reauthorization by API token and by OAuth, tokenRefresh with a
 * real rotation of a short-lived OAuth token, webhookDelivery, a webhookReplay of the endpoint,
 * fullResync and entityResync, integrationLifecycle), collects every secret the system handled (API tokens, OAuth client
 * secrets, every access/refresh token and authorization code the sandbox issued, OAuth state and
 * PKCE verifiers, the webhook signing secret, link tokens, API keys), and then reads the history of
 * every workflow execution in the namespace twice: raw (as stored), and decoded through the
 * operator codec (`POST /codec/decode`, as the Temporal UI does). Neither shows any secret.
 */
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KeyRing } from '../libs/crypto/key-ring';
import { SEALED_COLUMNS } from '../libs/db/sealed-columns';
import { diagnostic } from './support/diagnostic';
import { encodingOf, historyBytes, payloadsOf, protoJson, textOf, type JsonPayload } from './support/history-payloads';
import { beginAttempt, configureOAuthApp, consent, crmAccount, followCallback, startReauth } from './support/oauth';
import { waitResync } from './support/resync';
import { api, connectedIntegration, sandboxToken, startSystem, waitFor, type TestSystem } from './support/system';
import { Receiver } from './support/webhook-receiver';

/** Every workflow type of the engine: each must be seen, or the test proves nothing about it. */
const WORKFLOW_TYPES = [
  'connectIntegration',
  'reauthorization',
  'tokenRefresh',
  'webhookDelivery',
  'webhookReplay',
  'fullResync',
  'entityResync',
  'integrationLifecycle',
];

/** Keys of sealed JSON objects whose values are secrets (credential secrets, OAuth attempts). */
const SECRET_FIELDS = new Set(['apiToken', 'accessToken', 'refreshToken', 'idToken', 'state', 'codeVerifier']);

/** Shorter strings are no credential and would match by chance. */
const MIN_SECRET_LENGTH = 8;

interface Execution {
  type: string;
  workflowId: string;
  runId: string;
  integrationId: string | undefined;
  history: temporal.api.history.v1.IHistory;
}

const eventTypeName = (type: temporal.api.enums.v1.EventType | null | undefined): string =>
  type === null || type === undefined ? 'unknown event type' : temporal.api.enums.v1.EventType[type];

describe('no secret in any Temporal history, raw or decoded for an operator', () => {
  const operatorKey = `op_test_${randomBytes(18).toString('base64url')}`;
  // Our own credentials key ring, so the test can open every sealed value the system stored.
  const credentialKeys = KeyRing.generateSpec('history-secrets');
  const ring = new KeyRing(credentialKeys);
  const receiver = new Receiver();
  let sys: TestSystem;
  const secrets = new Set<string>();
  /** What kinds of secret were collected, so that none of them is missing unnoticed. */
  const kinds = new Set<string>();
  const integrationIds: string[] = [];

  const addSecret = (value: unknown, what: string) => {
    assert.equal(typeof value, 'string', `${what} is a string`);
    assert.ok((value as string).length >= MIN_SECRET_LENGTH, `${what} is long enough to search for`);
    secrets.add(value as string);
    kinds.add(what);
  };

  /**
   * Opens every value sealed at rest (SEALED_COLUMNS): credential versions of every state, OAuth
   * client secrets, link tokens, the current OAuth attempt of each reauthorization (its state and
   * PKCE verifier; the next attempt overwrites it, so this runs after each one is prepared), and
   * webhook signing secrets.
   */
  async function collectSealedSecrets(): Promise<void> {
    for (const column of SEALED_COLUMNS) {
      const rows = (await sys.pg.query(`SELECT * FROM ${column.table} WHERE ${column.ciphertextColumn} IS NOT NULL AND ${column.ciphertextColumn} <> ''`)).rows;
      for (const row of rows) {
        const value = ring.openJson<unknown>({ keyId: row[column.keyIdColumn], data: row[column.ciphertextColumn] }, column.aad(row));
        if (typeof value === 'string') addSecret(value, column.name);
        else if (value && typeof value === 'object') {
          for (const [key, field] of Object.entries(value)) {
            if (SECRET_FIELDS.has(key) && typeof field === 'string') addSecret(field, `${column.name}.${key}`);
          }
        }
      }
    }
  }

  /**
   * One OAuth reauthorization as a browser does it, keeping what passes through it: the link token,
   * the attempt's state and verifier (sealed, read right after the attempt is prepared) and the
   * authorization code (in the callback URL).
   */
  async function oauthReauthorization(integrationId: string, userId: string, body: Record<string, unknown> = {}) {
    const started = await startReauth(sys, integrationId, body);
    addSecret(started.linkToken, 'link token');
    const attempt = await beginAttempt(started.linkUrl);
    await collectSealedSecrets();
    const redirectTo = await consent(sys, attempt.authorizeUrl, userId);
    const code = new URL(redirectTo).searchParams.get('code');
    addSecret(code, 'authorization code');
    const page = await followCallback(redirectTo, attempt);
    assert.equal(page.status, 200, page.html.slice(0, 500));
    const done = await waitFor('the OAuth reauthorization to finish', async () => {
      const r = (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
      return r.outcome ? r : undefined;
    });
    assert.equal(done.outcome, 'succeeded', JSON.stringify(done));
    // The workflow closes after its follow-ups (the opt-in re-sync start among them).
    await sys.client.workflow.getHandle(`reauth:${integrationId}`).result();
    return (await api(sys, 'GET', `/v1/reauthorizations/${started.id}`, { key: sys.keyA })).body;
  }

  async function createOAuthIntegration(provider: string): Promise<string> {
    const created = await api(sys, 'POST', '/v1/integrations', { key: sys.keyA, body: { provider, displayName: `Acme ${provider}`, config: { syncContacts: true } } });
    assert.equal(created.status, 201, created.text);
    integrationIds.push(created.body.id);
    return created.body.id;
  }

  beforeAll(async () => {
    await receiver.start();
    sys = await startSystem({
      extraEnv: {
        OPERATOR_API_KEYS: operatorKey,
        CREDENTIALS_KEYS: credentialKeys,
        REFRESH_JITTER_SECONDS: '0', REFRESH_SPREAD_PERCENT: '0',
        HEALTH_CHECK_INTERVAL_SECONDS: '3600',
        WEBHOOK_RETRY_INITIAL_SECONDS: '1',
      },
    });
    for (const key of [sys.keyA, sys.keyB, operatorKey]) addSecret(key, 'API key');
  });
  afterAll(async () => {
    await sys?.stop();
    await receiver.stop();
  });

  test('tenant API keys get 403 from /codec/decode and /codec/encode', async () => {
    for (const operation of ['decode', 'encode']) {
      for (const key of [sys.keyA, sys.keyB]) {
        const refused = await api(sys, 'POST', `/codec/${operation}`, { key, body: { payloads: [] }, headers: { 'x-namespace': 'default' } });
        assert.equal(refused.status, 403, `${operation}: ${refused.text}`);
        assert.equal(refused.body.error.code, 'forbidden');
      }
    }
  });

  test('every workflow type runs; no history shows a secret, raw or decoded', async () => {
    const t0 = Date.now();
    // A webhook endpoint on a local receiver: every event below is delivered by a webhookDelivery workflow.
    const endpoint = await api(sys, 'POST', '/v1/webhook-endpoints', { key: sys.keyA, body: { url: receiver.url('/hooks') } });
    assert.equal(endpoint.status, 201, endpoint.text);
    addSecret(endpoint.body.secret, 'webhook signing secret');

    // API token: connectIntegration, then a reauthorization with a wrong and then the right token.
    const tokenAccount = await connectedIntegration(sys);
    const tokenIntegrationId = tokenAccount.integration.id as string;
    integrationIds.push(tokenIntegrationId);
    addSecret(tokenAccount.token, 'first API token');
    const started = await api(sys, 'POST', `/v1/integrations/${tokenIntegrationId}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    addSecret(started.body.linkToken, 'link token');
    const wrongToken = `sbx_wrong_${randomBytes(18).toString('base64url')}`;
    addSecret(wrongToken, 'wrong API token');
    const rejected = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: wrongToken } });
    assert.equal(rejected.status, 422, rejected.text);
    const newToken = await sandboxToken(sys, tokenAccount.accountId);
    addSecret(newToken, 'new API token');
    const accepted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: newToken } });
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal((await sys.client.workflow.getHandle(`reauth:${tokenIntegrationId}`).result()).outcome, 'succeeded');

    // OAuth, Pipedrive-shaped, with 10-second access tokens and rotating refresh tokens: connected,
    // then reauthorized with a full re-sync (fullResync + one entityResync per entity type).
    const pipedrive = await configureOAuthApp(sys, 'pipedrive', { extra: { accessTokenTtlSeconds: 10, rotateRefreshTokens: true } });
    addSecret(pipedrive.clientSecret, 'Pipedrive client secret');
    const oauthAccount = await crmAccount(sys, 'Secretive Co');
    const oauthIntegrationId = await createOAuthIntegration('pipedrive');
    await oauthReauthorization(oauthIntegrationId, oauthAccount.userId);
    const resynced = await oauthReauthorization(oauthIntegrationId, oauthAccount.userId, { fullResync: true });
    assert.ok(resynced.resyncId, JSON.stringify(resynced));
    const resync = await waitResync(sys, resynced.resyncId);
    assert.equal(resync.status, 'completed', JSON.stringify(resync));

    // OAuth with PKCE (Salesforce-shaped): the verifier is a secret too.
    const salesforce = await configureOAuthApp(sys, 'salesforce');
    addSecret(salesforce.clientSecret, 'Salesforce client secret');
    const pkceAccount = await crmAccount(sys, 'Verifier Co');
    await oauthReauthorization(await createOAuthIntegration('salesforce'), pkceAccount.userId);

    // tokenRefresh really refreshed the short-lived token, with a rotated refresh token.
    await waitFor(
      'a refresh with a rotated refresh token',
      async () =>
        (await sys.pg.query(`SELECT 1 FROM credential_versions WHERE integration_id = $1 AND metadata->>'rotated' = 'true'`, [oauthIntegrationId])).rows.length > 0,
      60_000,
    );

    // integrationLifecycle: disable and enable the API-token integration.
    for (const operation of ['disable', 'enable'] as const) {
      const res = await api(sys, 'POST', `/v1/integrations/${tokenIntegrationId}/${operation}`, { key: sys.keyA });
      assert.equal(res.status, 200, `${operation}: ${res.text}`);
    }
    await waitFor('the enabled webhook', async () => receiver.about('/hooks', tokenIntegrationId, 'integrated_account:enabled')[0]);
    await waitFor('the re-sync webhook', async () => receiver.requests.find((r) => r.body?.event === 'resync:completed'));

    // webhookReplay: the endpoint's events so far, sent again (each as one more webhookDelivery).
    const replay = await api(sys, 'POST', `/v1/webhook-endpoints/${endpoint.body.id}/replay`, { key: sys.keyA, body: { since: new Date(t0 - 60_000).toISOString() } });
    assert.equal(replay.status, 202, replay.text);
    assert.ok(replay.body.matched > 0, replay.text);
    await waitFor('the replay', async () => {
      const r = await api(sys, 'GET', `/v1/webhook-endpoints/${endpoint.body.id}/replays/${replay.body.id}`, { key: sys.keyA });
      return r.body.status === 'completed';
    });

    // Every execution in the namespace (every run), its history fetched as stored. Listed through
    // the codec client: a listing decodes each execution's memo, which is encrypted too.
    const executions: Execution[] = [];
    for await (const info of sys.client.workflow.list()) {
      const handle = sys.rawClient.workflow.getHandle(info.workflowId, info.runId);
      const tagged = info.searchAttributes?.IntegrationId?.[0];
      executions.push({
        type: info.type,
        workflowId: info.workflowId,
        runId: info.runId,
        integrationId: typeof tagged === 'string' ? tagged : integrationIds.find((id) => info.workflowId.includes(id)),
        history: await handle.fetchHistory(),
      });
    }
    // Tokens issued up to now (refreshes go on) are all sealed in the database: collected after the
    // histories were read, so every token a history could hold is among them.
    await collectSealedSecrets();
    diagnostic(`${secrets.size} secrets, ${executions.length} workflow executions`);
    for (const kind of [
      'credential_versions.ciphertext.apiToken',
      'credential_versions.ciphertext.accessToken',
      'credential_versions.ciphertext.refreshToken',
      'provider_configs.secret_ciphertext',
      'reauthorizations.link_token_ciphertext',
      'reauthorizations.oauth_ciphertext.state',
      'reauthorizations.oauth_ciphertext.codeVerifier',
      'webhook_endpoints.secret_ciphertext',
      'authorization code',
    ]) {
      assert.ok(kinds.has(kind), `collected a secret of kind ${kind} (have: ${[...kinds].join(', ')})`);
    }

    const seen = new Set(executions.map((e) => e.type));
    for (const type of WORKFLOW_TYPES) assert.ok(seen.has(type), `a ${type} workflow ran (seen: ${[...seen].join(', ')})`);
    const refreshRuns = executions.filter((e) => e.type === 'tokenRefresh' && e.integrationId === oauthIntegrationId);
    assert.ok(refreshRuns.length > 0, 'the OAuth integration has tokenRefresh runs');

    const secretList = [...secrets];
    let decodedPayloads = 0;
    for (const e of executions) {
      const where = `${e.type} ${e.workflowId} (run ${e.runId})`;
      const events = e.history.events ?? [];
      assert.ok(events.length > 0, `${where} has a history`);
      const decoded: string[] = [];
      for (const event of events) {
        const at = `${where}, event ${event.eventId} (${eventTypeName(event.eventType)})`;
        // Raw: no secret's bytes anywhere in the event, payloads or not.
        const bytes = historyBytes(event);
        for (const s of secretList) assert.equal(bytes.includes(Buffer.from(s)), false, `the raw history of ${at} holds a secret`);

        // Decoded through the operator codec, one event's payloads per request as the UI does.
        const encrypted = payloadsOf(event).filter((p) => encodingOf(p) === 'binary/encrypted');
        if (encrypted.length === 0) continue;
        const res = await api(sys, 'POST', '/codec/decode', { key: operatorKey, body: protoJson(encrypted), headers: { 'x-namespace': 'default' } });
        assert.equal(res.status, 200, `${where}: ${res.text}`);
        assert.equal(res.body.payloads.length, encrypted.length);
        for (const p of res.body.payloads as JsonPayload[]) {
          const { text } = textOf(p);
          for (const s of secretList) {
            assert.equal(text.includes(s), false, `a decoded payload of ${at} shows a secret`);
          }
          decoded.push(text);
        }
      }
      decodedPayloads += decoded.length;
      const all = decoded.join('\n');
      assert.ok(decoded.length > 0, `${where} has encrypted payloads`);
      if (e.integrationId) assert.ok(all.includes(e.integrationId), `the decoded history of ${where} names integration ${e.integrationId}`);
      else {
        // Deliveries of events not about an integrated account (resync:*) and replays carry ids only: the event's and the endpoint's.
        assert.ok(e.type === 'webhookDelivery' || e.type === 'webhookReplay', `${where} belongs to an integration`);
        assert.ok(all.includes(endpoint.body.id), `the decoded history of ${where} names its endpoint`);
      }
    }
    diagnostic(`${decodedPayloads} payloads decoded; whole test ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
