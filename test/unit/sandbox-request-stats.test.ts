/**
 * The sandbox CRM's per-second request counts stay bounded however many distinct paths (record
 * ids) it serves, dropping the oldest seconds first, and still count every request of the seconds
 * they keep.
 */
import { PER_SECOND_COUNTER_LIMIT, PER_SECOND_LIMIT, REQUEST_LOG_LIMIT, RequestStatsService } from '../../apps/sandbox-crm/stats/request-stats.service';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

afterEach(() => jest.useRealTimers());

/** Counters the service holds (its private map; the public view leaves out empty seconds). */
function countersHeld(stats: RequestStatsService): number {
  const held = (stats as unknown as { perSecond: Map<number, Map<string, number>> }).perSecond;
  return [...held.values()].reduce((sum, bucket) => sum + bucket.size, 0);
}

test('counts per second and path prefix', () => {
  jest.useFakeTimers({ now: T0 });
  const stats = new RequestStatsService();
  stats.record('GET', '/api/v1/me');
  stats.record('POST', '/oauth/token');
  jest.setSystemTime(T0 + 1500);
  stats.record('GET', '/api/v1/me');
  expect(stats.perSecondCounts()).toEqual([
    { second: T0, count: 2 },
    { second: T0 + 1000, count: 1 },
  ]);
  expect(stats.perSecondCounts('/oauth')).toEqual([{ second: T0, count: 1 }]);
});

test('a flood of distinct paths drops the oldest seconds, never the current one', () => {
  jest.useFakeTimers({ now: T0 });
  const stats = new RequestStatsService();
  const perSecond = 5_000;
  const seconds = Math.ceil((PER_SECOND_COUNTER_LIMIT * 1.5) / perSecond);
  for (let s = 0; s < seconds; s++) {
    jest.setSystemTime(T0 + s * 1000);
    for (let i = 0; i < perSecond; i++) stats.record('GET', `/api/v1/contacts/${s}-${i}`);
  }
  expect(countersHeld(stats)).toBeLessThanOrEqual(PER_SECOND_COUNTER_LIMIT);
  const kept = stats.perSecondCounts();
  // The newest seconds are kept whole, the oldest are gone.
  expect(kept.at(-1)).toEqual({ second: T0 + (seconds - 1) * 1000, count: perSecond });
  expect(kept.every((k) => k.count === perSecond)).toBe(true);
  expect(kept[0].second).toBeGreaterThan(T0);
  expect(kept.length).toBe(Math.floor(PER_SECOND_COUNTER_LIMIT / perSecond));

  // reset forgets the tally too: a fresh flood is held up to the limit again.
  stats.reset();
  expect(countersHeld(stats)).toBe(0);
  stats.record('GET', '/api/v1/me');
  expect(stats.perSecondCounts()).toHaveLength(1);
});

test('a quiet sandbox keeps at most PER_SECOND_LIMIT seconds', () => {
  jest.useFakeTimers({ now: T0 });
  const stats = new RequestStatsService();
  for (let s = 0; s < PER_SECOND_LIMIT + 10; s++) {
    jest.setSystemTime(T0 + s * 1000);
    stats.record('GET', '/api/v1/me');
  }
  const kept = stats.perSecondCounts();
  expect(kept).toHaveLength(PER_SECOND_LIMIT);
  expect(kept[0].second).toBe(T0 + 10_000);
});

test('the request log holds the last REQUEST_LOG_LIMIT requests, in order, secrets masked', () => {
  const stats = new RequestStatsService();
  const total = REQUEST_LOG_LIMIT * 2 + 123;
  for (let i = 0; i < total; i++) stats.record('GET', `/api/v1/contacts/${i}`, i === total - 1 ? 'token=sbx_at_secret&limit=5' : '');
  const log = stats.entries();
  expect(log).toHaveLength(REQUEST_LOG_LIMIT);
  expect(log[0].path).toBe(`/api/v1/contacts/${total - REQUEST_LOG_LIMIT}`);
  expect(log.at(-1)).toMatchObject({ path: `/api/v1/contacts/${total - 1}`, query: 'token=%3Asecret&limit=5' });
  expect(stats.entries('/api/v1/contacts/1')).toEqual(log.filter((e) => e.path.startsWith('/api/v1/contacts/1')));
  expect(stats.snapshot().total).toBe(total);
});
