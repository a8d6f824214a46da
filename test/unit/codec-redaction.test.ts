/**
 * What the operator codec (/codec/decode, and the dev UI codec of `npm start`) hands out: decrypted
 * payloads with every credential replaced by "[redacted]" and everything else readable; the wire
 * format of Temporal's codec protocol (the CLI's `{}` for no payloads); who counts as an operator
 * (operator keys, OIDC access tokens); the loopback-only dev UI codec of `npm start`.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { OperatorCodec, payloadsFromBody, payloadsToBody } from '../../apps/api/codec/codec-protocol';
import { startDevUiCodec, type DevUiCodec } from '../../apps/api/codec/dev-ui-codec';
import { OperatorCredentials } from '../../apps/api/codec/operator-credentials';
import { REDACTED, redactPayloads, redactText, redactValue } from '../../apps/api/codec/redaction';
import { KeyRing } from '../../libs/crypto/key-ring';
import { EncryptionCodec } from '../../libs/temporal/encryption-codec';

const toPayload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const fromPayload = <T>(p: Payload): T => defaultPayloadConverter.fromPayload<T>(p);
const encodingOf = (p: Payload) => Buffer.from(p.metadata![METADATA_ENCODING_KEY]).toString();

const API_TOKEN = 'sbx_0f3c9a7e5b1d4c2a8e6f0b9d7c5a3e1f';
const OAUTH_CODE = 'SplxlOBeZQQYbYS6WxSbIA-authorization-code';
const CLIENT_SECRET = 'cs_live_6d2f0a9c8b7e4d1f';

/** The failure of an activity that quoted a credential, as Temporal stores its message and stack (encoded attributes). */
const failureAttributes = {
  message: `CRM answered 401 for Authorization: Bearer ${API_TOKEN}`,
  stack_trace: `Error: who-am-I failed (apiToken=${API_TOKEN}, body {"client_secret":"${CLIENT_SECRET}"})\n    at whoAmI (activities/crm.activities.ts:42:11)`,
};

describe('redaction of decoded payloads', () => {
  test('submitApiToken update argument: the token is redacted', () => {
    const [out] = redactPayloads([toPayload({ apiToken: API_TOKEN })]);
    assert.equal(encodingOf(out), 'json/plain');
    assert.deepEqual(fromPayload(out), { apiToken: REDACTED });
  });

  test('connectIntegration input: the whole `secret` is redacted, the rest stays readable', () => {
    const input = {
      integrationId: '7d4c1a52-4f0e-4a57-9a0b-3f1d2c3b4a5e',
      tenantId: '0c5b7e0e-8a7d-4d8b-b8e4-1a2b3c4d5e6f',
      provider: 'hubspot',
      authType: 'oauth2',
      displayName: 'Acme CRM',
      region: null,
      config: { syncContacts: true, fieldMappings: { email: 'Email' } },
      requiredScopes: ['crm.objects.contacts.read'],
      secret: { accessToken: 'at_1234567890abcdef', refreshToken: 'rt_abcdef1234567890' },
      expiresAt: '2030-01-01T00:00:00.000Z',
    };
    const [out] = redactPayloads([toPayload(input)]);
    assert.deepEqual(fromPayload(out), { ...input, secret: REDACTED });
  });

  test('OAuth callback signal: `code` is redacted, the state hash and CRM parameters stay', () => {
    const signal = { stateHash: 'b1946ac92492d2347c6235b4d2611184', code: OAUTH_CODE, params: { location: 'eu', 'accounts-server': 'https://accounts.zoho.eu' } };
    const [out] = redactPayloads([toPayload(signal)]);
    assert.deepEqual(fromPayload(out), { ...signal, code: REDACTED });
  });

  test('sensitive keys at any depth, in any case, inside arrays; null stays null', () => {
    const value = {
      Tokens: [{ ACCESS_TOKEN: 'a'.repeat(20), token_type: 'bearer', expires_in: 3600 }],
      nested: { deeper: { Password: 'hunter2hunter2', CodeVerifier: 'v'.repeat(43), signingSecret: 'whsec_x', idToken: 'eyJ.x.y' } },
      headers: { Authorization: 'Bearer abc', 'content-type': 'application/json' },
      refreshToken: null,
      linkToken: 'l'.repeat(43),
      clientSecret: { value: 'x' },
    };
    assert.deepEqual(redactValue(value), {
      Tokens: [{ ACCESS_TOKEN: REDACTED, token_type: 'bearer', expires_in: 3600 }],
      nested: { deeper: { Password: REDACTED, CodeVerifier: REDACTED, signingSecret: REDACTED, idToken: REDACTED } },
      headers: { Authorization: REDACTED, 'content-type': 'application/json' },
      refreshToken: null,
      linkToken: REDACTED,
      clientSecret: REDACTED,
    });
  });

  test("the engine's own error codes stay readable under `code`; anything else there is redacted", () => {
    const status = { phase: 'awaiting_user', outcome: null, error: { code: 'invalid_credentials', message: 'The CRM rejected these credentials.' } };
    assert.deepEqual(redactValue(status), status);
    assert.deepEqual(redactValue({ error: { code: 'toString' } }), { error: { code: REDACTED } });
    assert.deepEqual(redactValue({ code: 'invalid_credentialsX' }), { code: REDACTED });
  });

  test("a failure's encoded attributes (message, stack): credentials quoted in the text are masked", () => {
    const [out] = redactPayloads([toPayload(failureAttributes)]);
    const text = JSON.stringify(fromPayload(out));
    assert.equal(text.includes(API_TOKEN), false, text);
    assert.equal(text.includes(CLIENT_SECRET), false, text);
    const readable = fromPayload<typeof failureAttributes>(out);
    assert.equal(readable.message, `CRM answered 401 for Authorization: Bearer ${REDACTED}`);
    assert.match(readable.stack_trace, /^Error: who-am-I failed \(apiToken=\[redacted\], body \{"client_secret":"\[redacted\]"\}\)\n {4}at whoAmI/);
  });

  test('a secret found under a sensitive key is masked wherever else the batch repeats it', () => {
    const out = redactPayloads([toPayload({ apiToken: API_TOKEN }), toPayload(`token ${API_TOKEN} was rejected`), toPayload({ note: `saw ${API_TOKEN}` })]);
    assert.deepEqual(out.map((p) => fromPayload(p)), [{ apiToken: REDACTED }, `token ${REDACTED} was rejected`, { note: `saw ${REDACTED}` }]);
  });

  test("Zoho's `Zoho-oauthtoken <token>` scheme quoted in text is masked like Bearer; the scheme stays readable", () => {
    const zohoToken = '1000.8f2c6d1e9b7a4c3d5e6f7a8b9c0d1e2f.3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d';
    for (const [text, expected] of [
      [`GET /crm/v2/users failed: Authorization: Zoho-oauthtoken ${zohoToken}`, `GET /crm/v2/users failed: Authorization: Zoho-oauthtoken ${REDACTED}`],
      // A quoted header value is masked whole, scheme included (as for Bearer).
      [`{"headers":{"Authorization":"Zoho-oauthtoken ${zohoToken}"}}`, `{"headers":{"Authorization":"${REDACTED}"}}`],
      [`sent zoho-OAuthToken ${zohoToken} to the CRM`, `sent zoho-OAuthToken ${REDACTED} to the CRM`],
    ]) {
      const out = redactText(text);
      assert.equal(out, expected);
      assert.equal(out.includes(zohoToken), false, out);
    }
    // Inside a failure payload, as Temporal stores an activity's error.
    const [out] = redactPayloads([toPayload({ message: `Zoho answered 401 to Zoho-oauthtoken ${zohoToken}`, stack_trace: `Error\n at call (Authorization=Zoho-oauthtoken ${zohoToken})` })]);
    const text = JSON.stringify(fromPayload(out));
    assert.equal(text.includes(zohoToken), false, text);
    assert.match(text, /Zoho-oauthtoken \[redacted\]/);
    // The tail of another word is no scheme.
    assert.equal(redactText('MyZoho-oauthtokenish value'), 'MyZoho-oauthtokenish value');
  });

  test('API keys under `apiKey`, `api_key`, `api-key`, `X-API-Key`, `api_token`: as values and written in text', () => {
    const key = 'ak_live_5f1e2d3c4b5a69788796a5b4c3d2e1f0';
    assert.deepEqual(redactValue({ apiKey: key, API_KEY: key, nested: { 'X-Api-Key': key, 'api-key': key, api_token: key }, apiKeyId: 'k_1', keyName: 'ops' }), {
      apiKey: REDACTED,
      API_KEY: REDACTED,
      nested: { 'X-Api-Key': REDACTED, 'api-key': REDACTED, api_token: REDACTED },
      apiKeyId: 'k_1',
      keyName: 'ops',
    });
    for (const text of [
      `GET https://crm.example/v1/deals?api_key=${key}&limit=5`,
      `pipedrive said 401 for /v1/users/me?api_token=${key}`,
      `header X-API-Key: ${key}`,
      `{"apiKey":"${key}"}`,
      `options {apiKey: '${key}'}`,
    ]) {
      const out = redactText(text);
      assert.equal(out.includes(key), false, out);
      assert.ok(out.includes(REDACTED), out);
    }
    assert.equal(redactText(`GET /deals?api_key=${key}&limit=5`), `GET /deals?api_key=${REDACTED}&limit=5`);
    // The engine's auth type `api_token` is a value, not a key: it stays.
    assert.deepEqual(redactValue({ authType: 'api_token' }), { authType: 'api_token' });
    assert.equal(redactText('authType "api_token" needs an apiToken'), 'authType "api_token" needs an apiToken');
    // And a batch that carries the key under `apiKey` masks it where else it is echoed.
    const out = redactPayloads([toPayload({ apiKey: key }), toPayload(`rejected ${key}`)]);
    assert.deepEqual(out.map((p) => fromPayload(p)), [{ apiKey: REDACTED }, `rejected ${REDACTED}`]);
  });

  test('text without credentials is left alone', () => {
    for (const text of ['integration 7d4c1a52 reauthorized', 'tokenType: bearer', 'the code path failed', 'status=ok']) assert.equal(redactText(text), text);
  });

  test('what the redaction cannot read is withheld; binary/null passes', () => {
    const bytes = toPayload(new Uint8Array([1, 2, 3]));
    const broken: Payload = { metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') }, data: Buffer.from('{"apiToken":') };
    const nothing = toPayload(undefined);
    const [b, j, n] = redactPayloads([bytes, broken, nothing]);
    assert.equal(fromPayload(b), '[redacted: binary/plain payload withheld]');
    assert.equal(fromPayload(j), '[redacted: json/plain payload that is not valid JSON withheld]');
    assert.equal(n, nothing);
  });

  test('a key named __proto__ is kept as data, not turned into a prototype', () => {
    const payload: Payload = { metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') }, data: Buffer.from('{"__proto__":{"secret":"s3cr3t-value"},"ok":1}') };
    const [out] = redactPayloads([payload]);
    assert.equal(Buffer.from(out.data!).toString(), '{"__proto__":{"secret":"[redacted]"},"ok":1}');
  });
});

describe('OperatorCodec over the wire format', () => {
  const ring = new KeyRing(KeyRing.generateSpec('codec-unit'));
  const engineCodec = new EncryptionCodec(ring);
  const codec = new OperatorCodec(ring);

  test('decodes what the engine encrypted, redacted, in protobuf JSON', async () => {
    const sealed = await engineCodec.encode([toPayload({ apiToken: API_TOKEN }), toPayload({ stateHash: 'h', code: OAUTH_CODE }), toPayload(failureAttributes)]);
    const body = JSON.parse(JSON.stringify(payloadsToBody(sealed)));
    assert.equal(JSON.stringify(body).includes(API_TOKEN), false);
    const answer = await codec.decode(body);
    const text = JSON.stringify(answer);
    for (const secret of [API_TOKEN, OAUTH_CODE, CLIENT_SECRET]) assert.equal(text.includes(secret), false);
    const decoded = payloadsFromBody(answer).map((p) => fromPayload<Record<string, string>>(p));
    assert.deepEqual(decoded[0], { apiToken: REDACTED });
    assert.deepEqual(decoded[1], { stateHash: 'h', code: REDACTED });
    assert.match(decoded[2].message, /Bearer \[redacted\]/);
  });

  test("protobuf JSON's empty list (`{}`, what the Temporal CLI sends) is an empty list, not an error", async () => {
    assert.deepEqual(await codec.decode({}), { payloads: [] });
    assert.deepEqual(await codec.encode({}), { payloads: [] });
  });

  test('the answer parses as a temporal.api.common.v1.Payloads message (what the CLI does with it)', async () => {
    const sealed = await engineCodec.encode([toPayload({ integrationId: 'i-1' })]);
    const answer = await codec.decode(payloadsToBody(sealed));
    const message = temporal.api.common.v1.Payloads.fromObject(answer);
    assert.equal(message.payloads.length, 1);
    assert.deepEqual(fromPayload(message.payloads[0]), { integrationId: 'i-1' });
  });

  test('encode seals payloads the engine can open', async () => {
    const answer = await codec.encode(payloadsToBody([toPayload({ reason: 'operator retry' })]));
    const [opened] = await engineCodec.decode(payloadsFromBody(answer));
    assert.deepEqual(fromPayload(opened), { reason: 'operator retry' });
  });

  test('malformed bodies are 400 validation_error; foreign ciphertext is 400 undecodable_payload', async () => {
    for (const body of [null, [], 'x', { payloads: 'x' }, { payloads: [1] }, { payloads: [{ metadata: { encoding: 1 } }] }, { payloads: [{ data: 5 }] }]) {
      await assert.rejects(codec.decode(body), (e: { getStatus(): number; getResponse(): { error: { code: string } } }) => {
        assert.equal(e.getStatus(), 400);
        assert.equal(e.getResponse().error.code, 'validation_error');
        return true;
      });
    }
    const foreign = await new EncryptionCodec(new KeyRing(KeyRing.generateSpec('elsewhere'))).encode([toPayload('x')]);
    await assert.rejects(codec.decode(payloadsToBody(foreign)), (e: { getResponse(): { error: { code: string } } }) => e.getResponse().error.code === 'undecodable_payload');
  });
});

describe('OperatorCredentials', () => {
  const operatorKey = 'op_0123456789abcdef0123';
  const credentials = new OperatorCredentials({ operatorApiKeys: ['op_other_key_000000000', operatorKey] });

  test('an operator key is accepted; no header is missing; any other bearer (a tenant key) is not an operator', async () => {
    assert.deepEqual(await credentials.check(`Bearer ${operatorKey}`), { outcome: 'operator', via: 'operator_key' });
    assert.deepEqual(await credentials.check(`bearer ${operatorKey}`), { outcome: 'operator', via: 'operator_key' });
    assert.deepEqual(await credentials.check(undefined), { outcome: 'missing' });
    assert.deepEqual(await credentials.check('Basic b3A6b3A='), { outcome: 'missing' });
    assert.deepEqual(await credentials.check('Bearer rk_tenant_key_1234567890'), { outcome: 'not_operator' });
    assert.deepEqual(await credentials.check(`Bearer ${operatorKey}x`), { outcome: 'not_operator' });
    assert.deepEqual(await credentials.check(`Bearer ${operatorKey.slice(0, -1)}`), { outcome: 'not_operator' });
  });

  test('without OPERATOR_API_KEYS nothing is an operator', async () => {
    assert.deepEqual(await new OperatorCredentials({}).check(`Bearer ${operatorKey}`), { outcome: 'not_operator' });
  });

  test('an OIDC issuer without an audience is refused at start', () => {
    assert.throws(() => new OperatorCredentials({ codecOidcIssuer: 'https://login.example.com' }), /CODEC_OIDC_AUDIENCE/);
  });
});

describe('OIDC access tokens (CODEC_OIDC_ISSUER): the Temporal UI passing its access token', () => {
  const audience = 'reauth-engine-codec';
  let issuer: string;
  let server: http.Server;
  let privateKey: KeyObject;
  let credentials: OperatorCredentials;

  /** An RFC 9068 access token signed with `key` (ES256). */
  function accessToken(claims: Record<string, unknown>, key: KeyObject = privateKey, typ = 'at+jwt'): string {
    const now = Math.floor(Date.now() / 1000);
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = { iss: issuer, aud: audience, sub: 'operator-1', client_id: 'temporal-ui', jti: randomUUID(), iat: now, exp: now + 300, ...claims };
    const input = `${part({ alg: 'ES256', typ, kid: 'k1' })}.${part(body)}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }

  beforeAll(async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    privateKey = pair.privateKey;
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = http.createServer((req, res) => {
      const json = (v: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.url === '/.well-known/openid-configuration') json({ issuer, jwks_uri: `${issuer}/jwks` });
      else if (req.url === '/jwks') json({ keys: [jwk] });
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    credentials = new OperatorCredentials({ operatorApiKeys: ['op_0123456789abcdef0123'], codecOidcIssuer: issuer, codecOidcAudience: audience });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test("a valid access token of the issuer for the codec's audience is an operator's", async () => {
    assert.deepEqual(await credentials.check(`Bearer ${accessToken({})}`), { outcome: 'operator', via: 'access_token' });
    // Operator keys keep working next to it.
    assert.deepEqual(await credentials.check('Bearer op_0123456789abcdef0123'), { outcome: 'operator', via: 'operator_key' });
  });

  test('expired, foreign-audience, foreign-issuer, wrongly typed or foreign-signed tokens are refused', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const refused = [
      accessToken({ exp: Math.floor(Date.now() / 1000) - 3600 }),
      accessToken({ aud: 'some-other-api' }),
      accessToken({ iss: 'https://login.example.com' }),
      accessToken({}, privateKey, 'JWT'),
      accessToken({}, other),
    ];
    for (const token of refused) assert.equal((await credentials.check(`Bearer ${token}`)).outcome, 'invalid_token');
    // A tenant API key is not a JWT: it is simply not an operator's.
    assert.deepEqual(await credentials.check('Bearer rk_tenant_key_1234567890'), { outcome: 'not_operator' });
  });
});

describe('the dev UI codec of `npm start`', () => {
  const spec = KeyRing.generateSpec('dev-ui');
  const engineCodec = new EncryptionCodec(new KeyRing(spec));
  let codec: DevUiCodec;
  beforeAll(async () => {
    codec = await startDevUiCodec({ payloadCodecKeys: spec, corsOrigins: ['http://localhost:8233'] });
  });
  afterAll(async () => {
    await codec.close();
  });

  test('listens on 127.0.0.1 and decodes without a credential, redacted, with CORS for the UI', async () => {
    assert.match(codec.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const sealed = await engineCodec.encode([toPayload({ apiToken: API_TOKEN, integrationId: 'i-1' })]);
    const res = await fetch(`${codec.url}/decode`, {
      method: 'POST',
      headers: { origin: 'http://localhost:8233', 'content-type': 'application/json', 'x-namespace': 'default' },
      body: JSON.stringify(payloadsToBody(sealed)),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    const [decoded] = payloadsFromBody(await res.json());
    assert.deepEqual(fromPayload(decoded), { apiToken: REDACTED, integrationId: 'i-1' });

    const preflight = await fetch(`${codec.url}/decode`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
  });

  test('answers only requests addressed to loopback (no DNS rebinding) and only POST …/encode|decode', async () => {
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${codec.url}/decode`);
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { host: 'attacker.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(rebound, 403);
    assert.equal((await fetch(`${codec.url}/decode`)).status, 404);
    assert.equal((await fetch(`${codec.url}/decode`, { method: 'POST', body: '{' })).status, 400);
    assert.deepEqual(await (await fetch(`${codec.url.replace('127.0.0.1', 'localhost')}/decode`, { method: 'POST', body: '{}' })).json(), { payloads: [] });
  });
});
