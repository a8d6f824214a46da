/**
 * The worker's activity interceptors: a Postgres data exception (SQLSTATE class 22) fails the
 * activity for good as `invalid_data`; every other error passes through untouched (and stays retryable).
 */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { QueryFailedError } from 'typeorm';
import { activityInterceptors, classifyDatabaseError } from '../../activities/interceptors';

function queryFailed(code: string): QueryFailedError {
  return new QueryFailedError('INSERT INTO t VALUES ($1)', ['x'], Object.assign(new Error('db said no'), { code }));
}

// The SDK logs every failed attempt as a warning; these failures are the point of the tests.
const quiet = { interceptors: activityInterceptors, logger: new DefaultLogger('ERROR') };

describe('activity interceptors', () => {
  test('a data exception becomes a non-retryable invalid_data failure', async () => {
    const env = new MockActivityEnvironment(undefined, quiet);
    const err = await env.run(async () => {
      throw queryFailed('22P02');
    }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'invalid_data');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /SQLSTATE 22P02/);
  });

  test('other database errors and any other error pass through unchanged', async () => {
    const env = new MockActivityEnvironment(undefined, quiet);
    for (const original of [queryFailed('40001'), queryFailed('23505'), new Error('connection reset'), ApplicationFailure.retryable('crm down', 'crm_unavailable')]) {
      const err = await env.run(async () => {
        throw original;
      }).catch((e: unknown) => e);
      assert.equal(err, original);
    }
    assert.equal(await env.run(async (x: number) => x + 1, 41), 42);
  });

  test('classifyDatabaseError leaves non-database values alone', () => {
    for (const v of [undefined, null, 'text', { code: '22001' }]) assert.equal(classifyDatabaseError(v), v);
  });
});
