/**
 * Input checks of the events list and of webhook replays, on the real DTOs behind the API's
 * validation pipe (support/http.ts sets the app up as main.ts does), and the rules the service
 * adds: `since` a real instant, not in the future, at most 30 days back; cursors only as handed out.
 */
import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { decodeEventsCursor } from '../../apps/api/webhooks/events.service';
import { ListEventsQuery, ReplayWebhookEndpointDto } from '../../apps/api/webhooks/webhooks.dto';
import { checkReplaySince } from '../../apps/api/webhooks/webhooks.service';
import { ApiError } from '../../apps/api/common/api-error';
import { MAX_REPLAY_AGE_DAYS } from '../../libs/domain/webhooks';
import { call, expectErrorShape, type RunningApi, startApi } from './support/http';

@Controller('v1/echo')
class EchoController {
  @Post('replay')
  @HttpCode(202)
  replay(@Body() dto: ReplayWebhookEndpointDto) {
    return { since: dto.since };
  }

  @Get('events')
  events(@Query() q: ListEventsQuery) {
    return { limit: q.limit ?? null, cursor: q.cursor ?? null };
  }
}

let api: RunningApi;

beforeAll(async () => {
  api = await startApi(await Test.createTestingModule({ controllers: [EchoController] }).compile());
});

afterAll(async () => {
  await api?.close();
});

describe('replay body', () => {
  test.each(['2026-12-01T08:00:00Z', '2026-12-01T08:00Z', '2026-12-01T08:00:00.123Z', '2026-12-01T08:00:00.123456+02:00', '2026-12-01T08:00:00-05:30'])(
    'accepts %s',
    async (since) => {
      const res = await call(api.url, 'POST', '/v1/echo/replay', { json: { since } });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ since });
    },
  );

  test.each([
    [{}, 'missing'],
    [{ since: '' }, 'empty'],
    [{ since: 'yesterday' }, 'words'],
    [{ since: '2026-12-01' }, 'a date without a time'],
    [{ since: '2026-12-01T08:00:00' }, 'no time zone'],
    [{ since: '2026-12-01 08:00:00Z' }, 'a space for T'],
    [{ since: 1796112000000 }, 'a number'],
    [{ since: ['2026-12-01T08:00:00Z'] }, 'an array'],
    [{ since: `2026-12-01T08:00:00.${'1'.repeat(80)}Z` }, 'too long'],
    [{ since: '2026-12-01T08:00:00Z', endpointId: 'x' }, 'an unknown field'],
  ] as Array<[unknown, string]>)('refuses %j (%s) with 400', async (json) => {
    const res = await call(api.url, 'POST', '/v1/echo/replay', { json });
    expectErrorShape(res, 400, 'validation_error');
  });
});

describe('events query', () => {
  test('limit 1–100, a bounded cursor', async () => {
    expect((await call(api.url, 'GET', '/v1/echo/events?limit=100&cursor=abc')).body).toEqual({ limit: 100, cursor: 'abc' });
    for (const q of ['limit=0', 'limit=101', 'limit=1.5', 'limit=x', `cursor=${'a'.repeat(201)}`, 'endpointId=x']) {
      expectErrorShape(await call(api.url, 'GET', `/v1/echo/events?${q}`), 400, 'validation_error');
    }
  });

  test('a cursor is the position and id the list handed out, nothing else', () => {
    const good = Buffer.from(JSON.stringify(['2026-12-01T08:00:00.123456', '00000000-0000-4000-8000-000000000000'])).toString('base64url');
    expect(decodeEventsCursor(good)).toEqual(['2026-12-01T08:00:00.123456', '00000000-0000-4000-8000-000000000000']);
    for (const bad of [
      'x',
      Buffer.from('[]').toString('base64url'),
      Buffer.from(JSON.stringify(['2026-12-01T08:00:00Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url'),
      Buffer.from(JSON.stringify(['2026-12-01T08:00:00.123456', "1' OR 1=1"])).toString('base64url'),
      Buffer.from(JSON.stringify({ position: '2026-12-01T08:00:00.123456' })).toString('base64url'),
    ]) {
      expect(() => decodeEventsCursor(bad)).toThrow(ApiError);
      try {
        decodeEventsCursor(bad);
      } catch (err) {
        expect((err as ApiError).code).toBe('invalid_cursor');
        expect((err as ApiError).getStatus()).toBe(400);
      }
    }
  });
});

describe('replay since, as the service checks it', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const day = 24 * 3600_000;

  test('a past instant within the limit is taken as given, with its offset', () => {
    expect(checkReplaySince('2026-12-01T08:00:00+02:00', now).toISOString()).toBe('2026-12-01T06:00:00.000Z');
    expect(checkReplaySince(now.toISOString(), now).getTime()).toBe(now.getTime());
    expect(checkReplaySince(new Date(now.getTime() - MAX_REPLAY_AGE_DAYS * day).toISOString(), now).getTime()).toBe(now.getTime() - MAX_REPLAY_AGE_DAYS * day);
  });

  test.each([
    ['2026-12-01T12:00:01Z', /in the future/],
    ['2027-01-01T00:00:00Z', /in the future/],
    [new Date(now.getTime() - MAX_REPLAY_AGE_DAYS * day - 1000).toISOString(), /more than 30 days ago/],
    ['2026-02-30T00:00:00Z', /not a valid date/],
    ['2026-11-31T00:00:00Z', /not a valid date/],
    ['2026-11-30T24:30:00Z', /not a valid date/],
  ])('refuses %s: 400 invalid_since', (since, message) => {
    let caught: unknown;
    try {
      checkReplaySince(since, now);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).code).toBe('invalid_since');
    expect((caught as ApiError).getStatus()).toBe(400);
    expect(((caught as ApiError).getResponse() as { error: { message: string } }).error.message).toMatch(message);
  });
});
