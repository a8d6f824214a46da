/**
 * The payload codec (`/codec/encode`, `/codec/decode`) is for operators only and never hands out a
 * credential: tenant API keys are refused, an operator key (OPERATOR_API_KEYS) reads the history of
 * a finished API-token reauthorization with the token replaced by "[redacted]" — through HTTP the
 * way the Temporal UI calls it, and through the real Temporal CLI (`--codec-endpoint`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { provisionTemporalCli } from '../libs/temporal/dev-server';
import { payloadsOf, protoJson, textOf } from './support/history-payloads';
import { ROOT } from './support/paths';
import { api, connectedIntegration, sandboxToken, startSystem, type TestSystem } from './support/system';

const run = promisify(execFile);
const UI_ORIGIN = 'http://localhost:8233';

describe('payload codec for operators', () => {
  const operatorKey = `op_test_${randomBytes(18).toString('base64url')}`;
  let sys: TestSystem;
  let integrationId: string;
  let workflowId: string;
  let secrets: string[];

  beforeAll(async () => {
    sys = await startSystem({ extraEnv: { OPERATOR_API_KEYS: `op_unused_${'x'.repeat(16)},${operatorKey}` } });
    // A finished API-token reauthorization whose history holds a rejected and an accepted token.
    const { accountId, token: firstToken, integration } = await connectedIntegration(sys);
    integrationId = integration.id;
    workflowId = `reauth:${integrationId}`;
    const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/reauthorizations`, { key: sys.keyA, body: {} });
    assert.equal(started.status, 201, started.text);
    const wrongToken = `sbx_wrong_${'q'.repeat(24)}`;
    const rejected = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: wrongToken } });
    assert.equal(rejected.status, 422, rejected.text);
    const newToken = await sandboxToken(sys, accountId);
    const accepted = await api(sys, 'POST', `/v1/reauthorizations/${started.body.id}/api-token`, { key: sys.keyA, body: { apiToken: newToken } });
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal((await sys.client.workflow.getHandle(workflowId).result()).outcome, 'succeeded');
    secrets = [firstToken, wrongToken, newToken];
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const codecCall = (operation: 'encode' | 'decode', key: string | null, body: unknown = { payloads: [] }) =>
    api(sys, 'POST', `/codec/${operation}`, { key, body, headers: { 'x-namespace': 'default' } });

  test('tenant API keys get 403 on /codec/decode and /codec/encode; no key 401', async () => {
    for (const operation of ['decode', 'encode'] as const) {
      for (const key of [sys.keyA, sys.keyB]) {
        const refused = await codecCall(operation, key);
        assert.equal(refused.status, 403, `${operation}: ${refused.text}`);
        assert.equal(refused.body.error.code, 'forbidden');
        assert.equal(typeof refused.body.error.message, 'string');
      }
      const anonymous = await codecCall(operation, null);
      assert.equal(anonymous.status, 401, anonymous.text);
      assert.equal(anonymous.body.error.code, 'unauthorized');
    }
    // The tenant routes still take tenant keys, and an operator key is no tenant key.
    assert.equal((await api(sys, 'GET', '/v1/integrations', { key: sys.keyA })).status, 200);
    assert.equal((await api(sys, 'GET', '/v1/integrations', { key: operatorKey })).status, 401);
  });

  test('an operator key decodes the raw history as the UI sends it: readable, with every credential redacted', async () => {
    const history = await sys.rawClient.workflow.getHandle(workflowId).fetchHistory();
    const payloads = payloadsOf(history);
    const encrypted = payloads.filter((p) => Buffer.from(p.metadata!.encoding!).toString() === 'binary/encrypted');
    assert.ok(encrypted.length > 5, `the history has encrypted payloads (${encrypted.length})`);

    // The UI decodes one event's payloads per request; the CLI sends `{}` where an event has none.
    const decodedTexts: string[] = [];
    for (const p of encrypted) {
      const res = await codecCall('decode', operatorKey, protoJson([p]));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.payloads.length, 1);
      const { encoding, text } = textOf(res.body.payloads[0]);
      // JSON values, or `binary/null` for what returned nothing (activities without a result).
      assert.ok(encoding === 'json/plain' || (encoding === 'binary/null' && text === ''), `${encoding}: ${text}`);
      decodedTexts.push(text);
    }
    const empty = await api(sys, 'POST', '/codec/decode', { key: operatorKey, body: '{}' });
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body, { payloads: [] });

    const all = decodedTexts.join('\n');
    for (const s of secrets) assert.equal(all.includes(s), false, 'a decoded payload shows an API token');
    assert.ok(all.includes(integrationId), 'the decoded input names the integration');
    // The submitApiToken update arguments (rejected and accepted attempt), redacted.
    assert.ok(decodedTexts.filter((t) => t === '{"apiToken":"[redacted]"}').length >= 2, all);
    // The token check and the swap run as local activities: their inputs (the token, the new
    // credentials' secret) are not in the history at all; whatever names a secret is redacted.
    assert.doesNotMatch(all, /"secret":(?!"\[redacted\]")/);

    // A whole batch at once gives the same answers.
    const batch = await codecCall('decode', operatorKey, protoJson(encrypted));
    assert.equal(batch.status, 200, batch.text);
    assert.deepEqual(batch.body.payloads.map((p: { metadata: Record<string, string>; data?: string }) => textOf(p).text), decodedTexts);
  });

  test('the Temporal UI origin gets CORS on /codec, preflight included; other origins do not', async () => {
    const preflight = await fetch(`${sys.apiUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /\bPOST\b/);
    const allowedHeaders = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['authorization', 'content-type', 'x-namespace']) assert.ok(allowedHeaders.includes(h), allowedHeaders);

    const call = await fetch(`${sys.apiUrl}/codec/decode`, {
      method: 'POST',
      headers: { origin: 'http://127.0.0.1:8233', authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json', 'x-namespace': 'default' },
      body: '{"payloads":[]}',
    });
    assert.equal(call.status, 200);
    assert.equal(call.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');

    const stranger = await fetch(`${sys.apiUrl}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
    // The tenant API is not for other origins' pages.
    const tenantRoute = await fetch(`${sys.apiUrl}/v1/integrations`, { headers: { origin: UI_ORIGIN, authorization: `Bearer ${sys.keyA}` } });
    assert.equal(tenantRoute.headers.get('access-control-allow-origin'), null);
  });

  test('the Temporal CLI shows the decoded history with `--codec-endpoint <api>/codec --codec-auth "Bearer <operator key>"`', async () => {
    const cli = await provisionTemporalCli(ROOT);
    assert.ok(cli, 'Temporal CLI available');
    const { stdout } = await run(
      cli.path,
      [
        'workflow', 'show',
        '--workflow-id', workflowId,
        '--address', sys.temporalAddress,
        '--codec-endpoint', `${sys.apiUrl}/codec`,
        '--codec-auth', `Bearer ${operatorKey}`,
        '--detailed', '--color', 'never',
      ],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
    );
    assert.ok(stdout.includes(`input[0].integrationId: ${integrationId}`), stdout);
    assert.match(stdout, /args\[0\]\.apiToken: \[redacted\]/);
    assert.match(stdout, /WorkflowExecutionCompleted/);
    // The result too: the workflow's own status, decoded.
    assert.match(stdout, /result\[0\]\.outcome: succeeded/, stdout);
    assert.ok(stdout.includes(`result[0].integrationId: ${integrationId}`), stdout);
    for (const s of secrets) assert.equal(stdout.includes(s), false, 'the CLI shows an API token');
    // The CLI prints metadata as base64: this is `binary/encrypted`, the encoding of an undecoded payload.
    assert.equal(stdout.includes(Buffer.from('binary/encrypted').toString('base64')), false, 'every payload was decoded');
  });
});
