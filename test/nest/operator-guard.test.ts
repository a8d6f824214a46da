/**
 * OperatorGuard on the API's `/codec/*` over HTTP: a failed operator authentication (no
 * credential, a tenant API key, a wrong key) is 401/403 until the client IP's `auth-failures`
 * budget is spent, then 429 with `Retry-After` and the API's one error shape; a valid operator key
 * is still let through from that address, and another address has its own budget. Distinct
 * clients are distinct loopback source addresses (127.0.0.x).
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { Test } from '@nestjs/testing';
import { ThrottlerModule } from '@nestjs/throttler';
import { RateLimiter, throttlerOptions } from '../../apps/api/auth/rate-limits';
import { CodecController } from '../../apps/api/codec/codec.controller';
import { KeyRing } from '../../libs/crypto/key-ring';
import { APP_CONFIG, CODEC_KEY_RING } from '../../libs/nest/tokens';
import { testConfig } from './support/fixtures';
import { type RunningApi, startApi } from './support/http';

const OPERATOR_KEY = 'op_guard_test_0123456789abcdefghijklmnop';
const BUDGET = 6;
const WINDOW_SECONDS = 30;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** POST /codec/decode from the loopback address `from`, with `authorization` (or none). */
function decode(baseUrl: string, from: string, authorization?: string): Promise<Answer> {
  const url = new URL('/codec/decode', baseUrl);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, localAddress: from }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end('{"payloads":[]}');
  });
}

function assertErrorShape(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.deepEqual(Object.keys(a.body), ['error']);
  assert.deepEqual(Object.keys(a.body.error).sort(), ['code', 'message']);
  assert.equal(a.body.error.code, code);
}

function assertRateLimited(a: Answer, context: string): void {
  assert.equal(a.status, 429, `${context}: ${a.status} ${JSON.stringify(a.body)}`);
  const retryAfter = Number(a.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `${context}: Retry-After ${a.headers['retry-after']}`);
  assert.deepEqual(a.body, { error: { code: 'rate_limited', message: `Too many requests; retry after ${retryAfter} s.` } }, context);
}

describe('OperatorGuard: failed operator authentication is rate-limited per client IP', () => {
  let api: RunningApi;

  beforeAll(async () => {
    const base = testConfig();
    const cfg = testConfig({ operatorApiKeys: [OPERATOR_KEY], rateLimits: { ...base.rateLimits, windowSeconds: WINDOW_SECONDS, authFailuresPerIp: BUDGET } });
    const moduleRef = await Test.createTestingModule({
      imports: [ThrottlerModule.forRoot(throttlerOptions(cfg.rateLimits))],
      controllers: [CodecController],
      providers: [{ provide: APP_CONFIG, useValue: cfg }, { provide: CODEC_KEY_RING, useValue: new KeyRing(cfg.payloadCodecKeys!) }, RateLimiter],
    }).compile();
    api = await startApi(moduleRef);
  });
  afterAll(async () => {
    await api?.close();
  });

  test('401/403 up to the budget, then 429 with Retry-After for any refusal; the operator key still works; other addresses are not affected', async () => {
    const from = '127.0.0.21';
    // The first refusals keep their own answers: none, a tenant-looking key, a wrong operator key.
    const attempts = [undefined, 'Bearer rk_tenant_key_0123456789abcdef', `Bearer ${OPERATOR_KEY}x`];
    const answers: Answer[] = [];
    for (let i = 0; i < BUDGET; i++) answers.push(await decode(api.url, from, attempts[i % attempts.length]));
    answers.forEach((a, i) => (attempts[i % attempts.length] ? assertErrorShape(a, 403, 'forbidden') : assertErrorShape(a, 401, 'unauthorized')));

    // Over the budget: every kind of refusal is 429 now.
    for (const authorization of [...attempts, 'Bearer op_guess_1', 'Basic b3A6Z3Vlc3M=']) assertRateLimited(await decode(api.url, from, authorization), String(authorization));

    // The operator key is checked first and never refused for its address's failures.
    for (let i = 0; i < 3; i++) {
      const ok = await decode(api.url, from, `Bearer ${OPERATOR_KEY}`);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(ok.body, { payloads: [] });
    }
    // Another address has its own budget.
    assertErrorShape(await decode(api.url, '127.0.0.22', 'Bearer op_elsewhere'), 403, 'forbidden');
    assertErrorShape(await decode(api.url, '127.0.0.22'), 401, 'unauthorized');
  });

  test('valid operator requests are not counted: many of them leave the budget of failures untouched', async () => {
    const from = '127.0.0.23';
    for (let i = 0; i < BUDGET * 3; i++) assert.equal((await decode(api.url, from, `Bearer ${OPERATOR_KEY}`)).status, 200);
    const answers: Answer[] = [];
    for (let i = 0; i <= BUDGET; i++) answers.push(await decode(api.url, from, 'Bearer op_wrong'));
    assert.deepEqual(answers.map((a) => a.status), [...Array<number>(BUDGET).fill(403), 429]);
  });
});
