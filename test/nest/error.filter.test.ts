/**
 * ErrorShapeFilter: whatever a handler throws, the client gets `{"error":{"code","message"}}` with
 * the right status; 4xx keep their message, anything unknown is a 500 with a generic message, and
 * no stack, cause or secret ever leaves the process (unknown errors are logged instead).
 */
import {
  type ArgumentsHost,
  BadRequestException,
  Controller,
  ForbiddenException,
  Get,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
  Param,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ThrottlerException } from '@nestjs/throttler';
import { ServiceError } from '@temporalio/client';
import { ApiError } from '../../apps/api/common/api-error';
import { ErrorShapeFilter } from '../../apps/api/common/error.filter';
import { call, expectErrorShape, type RunningApi, startApi } from './support/http';

const SECRET = 'postgres://admin:hunter2-very-secret@db.internal:5432/reauth';

/** What each route throws, by name. */
const THROWN: Record<string, () => unknown> = {
  'api-error': () => ApiError.conflict('already_connected', 'This integration is already connected'),
  'api-error-no-message': () => new HttpException({ error: { code: 'bare_code' } }, HttpStatus.CONFLICT),
  'not-found': () => new NotFoundException('Widget 42 not found'),
  forbidden: () => new ForbiddenException(),
  'bad-request': () => new BadRequestException('nope'),
  'validation-list': () => new BadRequestException(['name must be a string', 'size must not be less than 1']),
  teapot: () => new HttpException('I am a teapot', 418),
  throttled: () => new ThrottlerException(),
  'plain-error': () => new Error(`connect ECONNREFUSED ${SECRET}`),
  'type-error': () => new TypeError("Cannot read properties of undefined (reading 'tenantId')"),
  'error-with-cause': () => new Error('wrapped', { cause: new Error(SECRET) }),
  string: () => `raw string with ${SECRET}`,
  object: () => ({ message: SECRET, password: 'hunter2' }),
  null: () => null,
  'client-status-error': () => Object.assign(new Error('Not Acceptable here'), { status: 406 }),
  'server-status-error': () => Object.assign(new Error(`upstream said ${SECRET}`), { status: 502 }),
  'parse-failed': () => Object.assign(new SyntaxError(`Unexpected token in JSON: ${SECRET}`), { type: 'entity.parse.failed', status: 400 }),
  'db-terminated': () => new Error('Connection terminated unexpectedly'),
  'db-refused': () => Object.assign(new Error(`connect ECONNREFUSED ${SECRET}`), { code: 'ECONNREFUSED' }),
  'db-shutdown': () => Object.assign(new Error(`terminating connection due to administrator command ${SECRET}`), { name: 'QueryFailedError', driverError: { code: '57P01' } }),
  'db-starting': () => Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
  'temporal-unavailable': () => new ServiceError('Failed to start workflow', { cause: Object.assign(new Error(`14 UNAVAILABLE: No connection established ${SECRET}`), { code: 14, details: 'No connection established', metadata: {} }) }),
  'too-large': () => Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413, limit: 1024, length: 4096 }),
};

@Controller('v1/throw')
class ThrowingController {
  @Get(':what')
  throw(@Param('what') what: string): never {
    throw THROWN[what]();
  }

  /** The same from an async handler (a rejected promise). */
  @Get(':what/async')
  async throwAsync(@Param('what') what: string): Promise<never> {
    await new Promise((resolve) => setImmediate(resolve));
    throw THROWN[what]();
  }
}

let api: RunningApi;

beforeAll(async () => {
  const moduleRef = await Test.createTestingModule({ controllers: [ThrowingController] }).compile();
  api = await startApi(moduleRef);
});

afterAll(async () => {
  await api?.close();
});

afterEach(() => jest.restoreAllMocks());

function noInternals(text: string): void {
  expect(text).not.toContain('hunter2');
  expect(text).not.toContain('db.internal');
  expect(text).not.toMatch(/\n\s+at /); // a stack trace
  expect(text).not.toMatch(/\.ts:\d+|node_modules/);
}

describe('ErrorShapeFilter over HTTP', () => {
  test.each([
    ['api-error', 409, 'already_connected', 'This integration is already connected'],
    ['api-error-no-message', 409, 'bare_code', ''],
    ['not-found', 404, 'not_found', 'Widget 42 not found'],
    ['forbidden', 403, 'forbidden', 'Forbidden'],
    ['bad-request', 400, 'bad_request', 'nope'],
    ['validation-list', 400, 'validation_error', 'name must be a string; size must not be less than 1'],
    ['teapot', 418, 'error', 'I am a teapot'],
    // Without a ThrottlerGuard's Retry-After header, the filter announces a throttler's usual window.
    ['throttled', 429, 'rate_limited', 'Too many requests; retry after 60 s.'],
    ['client-status-error', 406, 'bad_request', 'Not Acceptable here'],
    ['parse-failed', 400, 'invalid_json', 'Request body is not valid JSON'],
    ['too-large', 413, 'payload_too_large', 'Request body is too large'],
  ])('%s → %i %s', async (what, status, code, message) => {
    for (const path of [`/v1/throw/${what}`, `/v1/throw/${what}/async`]) {
      const res = await call(api.url, 'GET', path);
      expectErrorShape(res, status, code, message);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      noInternals(res.text);
    }
  });

  test.each(['plain-error', 'type-error', 'error-with-cause', 'string', 'object', 'null', 'server-status-error'])(
    'unknown error (%s) → 500 internal_error with a generic message, nothing of the error in the body',
    async (what) => {
      for (const path of [`/v1/throw/${what}`, `/v1/throw/${what}/async`]) {
        const res = await call(api.url, 'GET', path);
        expectErrorShape(res, 500, 'internal_error', 'Internal server error');
        noInternals(res.text);
        expect(res.text).not.toContain('ECONNREFUSED');
        expect(res.text).not.toContain('tenantId');
      }
    },
  );

  test.each(['db-terminated', 'db-refused', 'db-shutdown', 'db-starting'])('the database unreachable (%s) → 503 database_unavailable, nothing of the error in the body', async (what) => {
    for (const path of [`/v1/throw/${what}`, `/v1/throw/${what}/async`]) {
      const res = await call(api.url, 'GET', path);
      expectErrorShape(res, 503, 'database_unavailable', 'The database is not reachable right now. Try again shortly.');
      noInternals(res.text);
      expect(res.text).not.toContain('ECONNREFUSED');
    }
  });

  test('Temporal unreachable (a gRPC UNAVAILABLE under a ServiceError) → 503 temporal_unavailable, nothing of the error in the body', async () => {
    for (const path of ['/v1/throw/temporal-unavailable', '/v1/throw/temporal-unavailable/async']) {
      const res = await call(api.url, 'GET', path);
      expectErrorShape(res, 503, 'temporal_unavailable', 'The workflow service is not reachable right now. Try again shortly.');
      noInternals(res.text);
    }
  });

  test('unknown errors are logged with their stack (for operators), HttpExceptions are not logged', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    await call(api.url, 'GET', '/v1/throw/plain-error');
    expect(logged).toHaveBeenCalledTimes(1);
    expect(String(logged.mock.calls[0][0])).toContain('ECONNREFUSED');
    expect(String(logged.mock.calls[0][0])).toMatch(/\n\s+at /);

    logged.mockClear();
    await call(api.url, 'GET', '/v1/throw/string');
    expect(logged).toHaveBeenCalledTimes(1);

    logged.mockClear();
    for (const what of ['api-error', 'not-found', 'validation-list', 'teapot', 'client-status-error']) await call(api.url, 'GET', `/v1/throw/${what}`);
    expect(logged).not.toHaveBeenCalled();
  });

  test('a database or Temporal away is one warning line naming its code, not an error with a stack, and never the message', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const expected: Record<string, string> = {
      'db-terminated': 'answered 503 database_unavailable (Error)',
      'db-refused': 'answered 503 database_unavailable (ECONNREFUSED)',
      'db-shutdown': 'answered 503 database_unavailable (57P01)',
      'temporal-unavailable': 'answered 503 temporal_unavailable (gRPC 14)',
    };
    for (const [what, line] of Object.entries(expected)) {
      warnings.mockClear();
      const res = await call(api.url, 'GET', `/v1/throw/${what}`);
      expect(res.status).toBe(503);
      expect(warnings.mock.calls.map((c) => String(c[0]))).toEqual([line]);
    }
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
    warnings.mockRestore();
  });

  test('an unknown route is a 404 not_found in the same shape', async () => {
    const res = await call(api.url, 'GET', '/v1/no/such/route');
    expectErrorShape(res, 404, 'not_found', 'Cannot GET /v1/no/such/route');
  });

  test('each status the filter knows gets its code; any other status gets "error"', async () => {
    const named: Record<number, string> = {
      400: 'bad_request',
      401: 'unauthorized',
      403: 'forbidden',
      404: 'not_found',
      405: 'method_not_allowed',
      409: 'conflict',
      413: 'payload_too_large',
      415: 'unsupported_media_type',
      422: 'unprocessable_entity',
      429: 'rate_limited',
      503: 'error',
    };
    const filter = new ErrorShapeFilter();
    for (const [status, code] of Object.entries(named)) {
      const res = fakeResponse();
      filter.catch(new HttpException('some message', Number(status)), hostFor(res));
      expect({ status: res.statusCode, body: res.body }).toEqual({ status: Number(status), body: { error: { code, message: 'some message' } } });
    }
  });
});

interface FakeResponse {
  headersSent: boolean;
  statusCode?: number;
  body?: unknown;
  status: jest.Mock;
  json: jest.Mock;
}

function fakeResponse(headersSent = false): FakeResponse {
  const res: FakeResponse = {
    headersSent,
    status: jest.fn((code: number) => {
      res.statusCode = code;
      return res;
    }),
    json: jest.fn((body: unknown) => {
      res.body = body;
      return res;
    }),
  };
  return res;
}

function hostFor(res: FakeResponse): ArgumentsHost {
  return { switchToHttp: () => ({ getResponse: () => res, getRequest: () => ({}), getNext: () => undefined }) } as unknown as ArgumentsHost;
}

describe('ErrorShapeFilter directly', () => {
  test('a response already sent (e.g. a stream that failed midway) is left alone', () => {
    const res = fakeResponse(true);
    new ErrorShapeFilter().catch(new Error('late failure'), hostFor(res));
    expect(res.status).not.toHaveBeenCalled();
    expect(res.json).not.toHaveBeenCalled();
  });

  test('an ApiError keeps exactly its code and message', () => {
    const res = fakeResponse();
    new ErrorShapeFilter().catch(ApiError.unprocessable('provider_not_configured', 'No OAuth app'), hostFor(res));
    expect(res.statusCode).toBe(422);
    expect(res.body).toEqual({ error: { code: 'provider_not_configured', message: 'No OAuth app' } });
  });

  test('an HttpException whose body has extra fields leaves only code and message', () => {
    const res = fakeResponse();
    const leaky = new HttpException({ error: { code: 'x_failed', message: 'X failed', stack: 'at secret.ts:1', token: 'tok' }, debug: SECRET }, 409);
    new ErrorShapeFilter().catch(leaky, hostFor(res));
    expect(res.body).toEqual({ error: { code: 'x_failed', message: 'X failed' } });
  });
});
