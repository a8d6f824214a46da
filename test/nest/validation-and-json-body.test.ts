/**
 * Request bodies: the API's validation pipe (apps/api/common/validation.ts) on the real DTOs, and
 * the JSON body handling of /v1 (apps/api/common/json-body.ts): malformed JSON, non-objects,
 * non-JSON media types, oversized, too deep or unstorable bodies all become 4xx in the API's shape.
 * The app is set up as main.ts sets up the real one (support/http.ts: filter, pipe, installJsonBody).
 */
import { BadRequestException, Body, Controller, HttpCode, Patch, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { bodyProblem, MAX_BODY_DEPTH } from '../../apps/api/common/json-body';
import { createValidationPipe } from '../../apps/api/common/validation';
import {
  CreateIntegrationDto,
  CredentialsDto,
  StartReauthorizationDto,
  SubmitApiTokenDto,
  UpdateIntegrationDto,
} from '../../apps/api/integrations/integrations.dto';
import { call, expectErrorShape, type RunningApi, startApi } from './support/http';

@Controller('v1/echo')
class EchoController {
  @Post('integration')
  create(@Body() dto: CreateIntegrationDto) {
    return { isDto: dto instanceof CreateIntegrationDto, credentialsIsDto: dto.credentials instanceof CredentialsDto, dto };
  }

  @Patch('integration')
  update(@Body() dto: UpdateIntegrationDto) {
    return { dto };
  }

  @Post('reauthorization')
  start(@Body() dto: StartReauthorizationDto) {
    return { isDto: dto instanceof StartReauthorizationDto, dto };
  }

  @Post('api-token')
  @HttpCode(200)
  token(@Body() dto: SubmitApiTokenDto) {
    return { length: dto.apiToken.length };
  }
}

/** Outside /v1 (connect pages, OAuth callbacks): forms are fine, no DTO. */
@Controller('connect')
class FormController {
  @Post('form')
  @HttpCode(200)
  form(@Body() body: unknown) {
    return { body: body ?? null };
  }
}

let api: RunningApi;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({ controllers: [EchoController, FormController] }).compile();
  api = await startApi(moduleRef);
});

afterAll(async () => {
  await api?.close();
});

/** `{"a":{"a":…{"a":1}}}` with `levels` objects. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('validation pipe on the API DTOs', () => {
  test('a valid body reaches the handler as a DTO instance, nested DTOs too', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/integration', {
      json: { provider: 'sandbox', displayName: 'Acme', credentials: { apiToken: 'tok_123', scopes: ['contacts'] }, requiredScopes: ['contacts'] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      isDto: true,
      credentialsIsDto: true,
      dto: { provider: 'sandbox', displayName: 'Acme', credentials: { apiToken: 'tok_123', scopes: ['contacts'] }, requiredScopes: ['contacts'] },
    });
  });

  test('free-form config is kept exactly as sent, keys named like Object.prototype members included', async () => {
    const config = { toString: 'x', hasOwnProperty: 1, valueOf: [1, 2], mapping: { fields: { email: 'Email' } }, empty: {} };
    const res = await call(api.url, 'POST', '/v1/echo/integration', { json: { provider: 'sandbox', config } });
    expect(res.status).toBe(201);
    expect(res.body.dto.config).toEqual(config);
  });

  test('an unknown field is refused, not silently dropped', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/integration', { json: { provider: 'sandbox', tenantId: 'someone-else' } });
    expectErrorShape(res, 400, 'validation_error', 'property tenantId should not exist');
  });

  test('an unknown field inside a nested DTO is refused too', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/integration', { json: { provider: 'sandbox', credentials: { apiToken: 'tok', password: 'p' } } });
    expectErrorShape(res, 400, 'validation_error', /property password should not exist/);
  });

  test('every problem is listed in one 400, separated by "; "', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/integration', { json: { displayName: 'x'.repeat(201), requiredScopes: 'contacts' } });
    expectErrorShape(res, 400, 'validation_error');
    const problems = (res.body.error.message as string).split('; ');
    expect(problems).toEqual(
      expect.arrayContaining([
        'provider must be a provider key such as "sandbox"',
        'displayName must be shorter than or equal to 200 characters',
        'requiredScopes must be an array',
      ]),
    );
  });

  test('types are checked, not coerced: "100" is not an integer', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', { json: { expiresInSeconds: '100', fullResync: 'true' } });
    expectErrorShape(res, 400, 'validation_error');
    expect(res.body.error.message).toContain('expiresInSeconds must be an integer number');
    expect(res.body.error.message).toContain('fullResync must be a boolean value');
  });

  test('bounds are checked', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', { json: { expiresInSeconds: 5 } });
    expectErrorShape(res, 400, 'validation_error', 'expiresInSeconds must not be less than 10');
    const ok = await call(api.url, 'POST', '/v1/echo/reauthorization', { json: { expiresInSeconds: 10, fullResync: true } });
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ isDto: true, dto: { expiresInSeconds: 10, fullResync: true } });
  });

  test('tokens must be printable ASCII without spaces (they travel in HTTP headers)', async () => {
    for (const apiToken of ['has space', 'tab\there', 'naïve', '']) {
      const res = await call(api.url, 'POST', '/v1/echo/api-token', { json: { apiToken } });
      expect({ apiToken, status: res.status, code: res.body.error?.code }).toEqual({ apiToken, status: 400, code: 'validation_error' });
    }
    expect((await call(api.url, 'POST', '/v1/echo/api-token', { json: { apiToken: 'tok_!#$%&*+-./:;<=>?@[]^_`{|}~' } })).status).toBe(200);
  });

  test('PATCH: absent fields are fine, null is refused (it would null a NOT NULL column)', async () => {
    expect((await call(api.url, 'PATCH', '/v1/echo/integration', { json: {} })).status).toBe(200);
    const res = await call(api.url, 'PATCH', '/v1/echo/integration', { json: { displayName: null, config: null } });
    expectErrorShape(res, 400, 'validation_error');
    expect(res.body.error.message).toContain('displayName must be a string');
    expect(res.body.error.message).toContain('config must be an object');
  });

  test('a POST without a body is validated as an empty object', async () => {
    expect((await call(api.url, 'POST', '/v1/echo/reauthorization')).status).toBe(201);
    const res = await call(api.url, 'POST', '/v1/echo/api-token');
    expectErrorShape(res, 400, 'validation_error', /apiToken must be a string/);
  });

  test('the pipe itself: one BadRequestException listing every message', async () => {
    const pipe = createValidationPipe();
    const failure = await pipe.transform({ apiToken: 7, extra: true }, { type: 'body', metatype: SubmitApiTokenDto }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(BadRequestException);
    const messages = ((failure as BadRequestException).getResponse() as { message: string[] }).message;
    expect(messages).toEqual(expect.arrayContaining(['property extra should not exist', 'apiToken must be a string']));
    const ok = await pipe.transform({ apiToken: 'tok' }, { type: 'body', metatype: SubmitApiTokenDto });
    expect(ok).toBeInstanceOf(SubmitApiTokenDto);
  });
});

describe('JSON bodies of /v1', () => {
  test('malformed JSON: 400 invalid_json, without echoing the body', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', {
      raw: '{"reason": "tok_secret_in_body", ',
      headers: { 'content-type': 'application/json' },
    });
    expectErrorShape(res, 400, 'invalid_json', 'Request body is not valid JSON');
    expect(res.text).not.toContain('tok_secret_in_body');
  });

  test.each([
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"text"'],
    ['true', 'true'],
  ])('valid JSON that is not an object (%s): 400 validation_error', async (_, raw) => {
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', { raw, headers: { 'content-type': 'application/json' } });
    expectErrorShape(res, 400, 'validation_error', 'Request body must be a JSON object');
  });

  test.each([
    ['text/plain', 'reason=x'],
    ['application/x-www-form-urlencoded', 'reason=x'],
    ['application/xml', '<reason>x</reason>'],
  ])('a /v1 body of another media type (%s): 415 unsupported_media_type', async (type, raw) => {
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', { raw, headers: { 'content-type': type } });
    expectErrorShape(res, 415, 'unsupported_media_type', `Request bodies must be JSON (Content-Type: application/json), not "${type}"`);
  });

  test('a /v1 body without any Content-Type: 415', async () => {
    // fetch labels a string body text/plain; a Blob without a type is sent with no Content-Type.
    const res = await fetch(`${api.url}/v1/echo/reauthorization`, { method: 'POST', body: new Blob(['{}']) });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      error: { code: 'unsupported_media_type', message: 'Request bodies must be JSON (Content-Type: application/json)' },
    });
  });

  test('the echoed media type is cut to 100 characters', async () => {
    const type = `text/${'x'.repeat(300)}`;
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', { raw: 'x', headers: { 'content-type': type } });
    expectErrorShape(res, 415, 'unsupported_media_type');
    expect(res.body.error.message).toContain(`"${type.slice(0, 100)}"`);
    expect(res.body.error.message).not.toContain(type.slice(0, 101));
  });

  test('application/json with a charset is JSON', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', { raw: '{"reason":"x"}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(res.status).toBe(201);
    expect(res.body.dto).toEqual({ reason: 'x' });
  });

  test('a body over 1 MB: 413 payload_too_large', async () => {
    const res = await call(api.url, 'POST', '/v1/echo/reauthorization', { json: { reason: 'x'.repeat(1024 * 1024 + 1) } });
    expectErrorShape(res, 413, 'payload_too_large', 'Request body is too large');
  });

  test(`nesting: ${MAX_BODY_DEPTH} levels pass, one more is a 400`, async () => {
    // The body itself is level 1, config level 2.
    const fits = await call(api.url, 'POST', '/v1/echo/integration', { json: { provider: 'sandbox', config: nested(MAX_BODY_DEPTH - 1) } });
    expect(fits.status).toBe(201);
    const deep = await call(api.url, 'POST', '/v1/echo/integration', { json: { provider: 'sandbox', config: nested(MAX_BODY_DEPTH) } });
    expectErrorShape(deep, 400, 'validation_error', `Request body is nested too deeply (more than ${MAX_BODY_DEPTH} levels)`);
    const absurd = await call(api.url, 'POST', '/v1/echo/integration', { raw: `${'['.repeat(5000)}${']'.repeat(5000)}`, headers: { 'content-type': 'application/json' } });
    expectErrorShape(absurd, 400, 'validation_error');
  });

  test('strings and keys Postgres cannot store (NUL, unpaired surrogates): 400', async () => {
    const headers = { 'content-type': 'application/json' };
    const nulValue = await call(api.url, 'POST', '/v1/echo/reauthorization', { raw: '{"reason":"a\\u0000b"}', headers });
    expectErrorShape(nulValue, 400, 'validation_error', 'Request body strings must not contain NUL characters or unpaired surrogates');
    const loneSurrogate = await call(api.url, 'POST', '/v1/echo/integration', { raw: '{"provider":"sandbox","config":{"k":["\\ud800"]}}', headers });
    expectErrorShape(loneSurrogate, 400, 'validation_error', 'Request body strings must not contain NUL characters or unpaired surrogates');
    const nulKey = await call(api.url, 'POST', '/v1/echo/integration', { raw: '{"provider":"sandbox","config":{"a\\u0000":1}}', headers });
    expectErrorShape(nulKey, 400, 'validation_error', 'Request body keys must not contain NUL characters or unpaired surrogates');
    // A proper surrogate pair (an emoji) is fine.
    const emoji = await call(api.url, 'POST', '/v1/echo/reauthorization', { raw: '{"reason":"\\ud83d\\ude00 ok"}', headers });
    expect(emoji.status).toBe(201);
    expect(emoji.body.dto.reason).toBe('\u{1F600} ok');
  });

  test.each(['__proto__', 'constructor', 'prototype'])('the reserved key "%s", at any depth: 400 instead of being stripped', async (key) => {
    const raw = `{"provider":"sandbox","config":{"mapping":{"${key}":{"polluted":true}}}}`;
    const res = await call(api.url, 'POST', '/v1/echo/integration', { raw, headers: { 'content-type': 'application/json' } });
    expectErrorShape(res, 400, 'validation_error', `Request body keys must not be "${key}" (reserved)`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('outside /v1, forms are accepted and other media types are not refused', async () => {
    const form = await call(api.url, 'POST', '/connect/form', { raw: 'api_token=tok_1&x=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(200);
    expect(form.body).toEqual({ body: { api_token: 'tok_1', x: '2' } });
    const text = await call(api.url, 'POST', '/connect/form', { raw: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(200);
  });
});

describe('bodyProblem', () => {
  test('accepts ordinary JSON values', () => {
    for (const value of [{}, [], null, 1, 'text', { a: [1, { b: 'c' }], d: null }, nested(MAX_BODY_DEPTH)]) expect(bodyProblem(value)).toBeNull();
  });

  test('finds the first problem wherever it is', () => {
    expect(bodyProblem(nested(MAX_BODY_DEPTH + 1))).toMatch(/nested too deeply/);
    expect(bodyProblem({ a: [{ b: ['ok', 'n\u0000l'] }] })).toMatch(/strings must not contain NUL/);
    expect(bodyProblem({ ['k\u0000']: 1 })).toMatch(/keys must not contain NUL/);
    expect(bodyProblem(JSON.parse('{"a":{"__proto__":1}}'))).toBe('Request body keys must not be "__proto__" (reserved)');
  });

  test('is iterative: a 100 000-level structure is reported, not a stack overflow', () => {
    expect(bodyProblem(nested(100_000))).toMatch(/nested too deeply/);
  });
});
