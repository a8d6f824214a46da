/**
 * Small pure functions the rest of the system leans on: CRM error classification, Retry-After
 * parsing, URL scrubbing for logs, bootstrap key parsing, CRM failures as Temporal failures, and
 * dotted-path reads of CRM answers.
 */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import { crmFailure } from '../../activities/crm.activities';
import { parseBootstrapKeys } from '../../apps/api/auth/api-keys.service';
import { ERROR_MESSAGES } from '../../libs/domain/reauthorization';
import { scrubUrl } from '../../libs/nest/logger';
import { readPath } from '../../libs/providers/api-token-client';
import { classifyHttpStatus, CrmError, parseRetryAfter } from '../../libs/providers/errors';

describe('classifyHttpStatus', () => {
  test('2xx is success', () => {
    for (const s of [200, 201, 204, 299]) assert.equal(classifyHttpStatus(s, null), null);
  });

  test('401/403 are invalid credentials, or a removed user when the CRM says so', () => {
    assert.equal(classifyHttpStatus(401, null), 'invalid_credentials');
    assert.equal(classifyHttpStatus(403, { error: { code: 'forbidden' } }), 'invalid_credentials');
    assert.equal(classifyHttpStatus(401, { error: { code: 'user_removed' } }), 'user_removed');
    assert.equal(classifyHttpStatus(403, { error: { code: 'user_removed' } }), 'user_removed');
    assert.equal(classifyHttpStatus(401, 'not an object'), 'invalid_credentials');
    assert.equal(classifyHttpStatus(401, { error: null }), 'invalid_credentials');
    assert.equal(classifyHttpStatus(401, { code: 'user_removed' }), 'invalid_credentials');
  });

  test('timeouts, too-early, rate limits and 5xx are transient', () => {
    for (const s of [408, 425, 429, 500, 502, 503, 504, 599]) assert.equal(classifyHttpStatus(s, null), 'transient', String(s));
  });

  test('other statuses are a bad response', () => {
    for (const s of [100, 199, 300, 301, 304, 400, 402, 404, 405, 409, 410, 422, 499]) assert.equal(classifyHttpStatus(s, null), 'bad_response', String(s));
  });

  test('property: every status gets exactly one classification, consistent with its range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.anything(), (status, body) => {
        const kind = classifyHttpStatus(status, body);
        if (status >= 200 && status < 300) assert.equal(kind, null);
        else assert.ok(['invalid_credentials', 'user_removed', 'transient', 'bad_response'].includes(kind!));
        if (status >= 500) assert.equal(kind, 'transient');
      }),
    );
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  test('absent header', () => {
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
  });

  test('delay in seconds', () => {
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('1', now), 1);
    assert.equal(parseRetryAfter('120', now), 120);
    assert.equal(parseRetryAfter(' 30 ', now), 30);
  });

  test('HTTP date, relative to now, never negative', () => {
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now), 60);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:01 GMT', now), 1);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0); // in the past
    // Sub-second remainders round up so we never retry early.
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:01 GMT', now + 500), 1);
  });

  test('capped at one hour, for seconds and dates alike', () => {
    assert.equal(parseRetryAfter('3600', now), 3600);
    assert.equal(parseRetryAfter('3601', now), 3600);
    assert.equal(parseRetryAfter('99999999', now), 3600);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', now), 3600);
  });

  test('garbage is ignored', () => {
    for (const v of ['abc', 'soon', '12abc', 'NaN', 'Infinity', '-Infinity', 'in 5 minutes']) {
      assert.equal(parseRetryAfter(v, now), undefined, v);
    }
  });

  test('property: any header value gives undefined or a finite number of seconds within [0, 3600]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())), (v) => {
        const r = parseRetryAfter(v, now);
        if (r !== undefined) {
          assert.ok(Number.isFinite(r), `${v} -> ${r}`);
          assert.ok(r >= 0 && r <= 3600, `${v} -> ${r}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('property: a non-negative integer number of seconds is returned as is, up to the cap', () => {
    fc.assert(
      fc.property(fc.nat(), (n) => {
        assert.equal(parseRetryAfter(String(n), now), Math.min(n, 3600));
      }),
    );
  });
});

describe('scrubUrl', () => {
  test('connect link tokens are redacted from the path', () => {
    assert.equal(scrubUrl('/connect/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWpr'), '/connect/[redacted]');
    assert.equal(scrubUrl('/connect/tok?lang=en'), '/connect/[redacted]?lang=en');
    assert.equal(scrubUrl('/connect/tok/submit'), '/connect/[redacted]/submit');
    assert.equal(scrubUrl('/connect/tok#x'), '/connect/[redacted]#x');
  });

  test('code, state, token and link_token query values are redacted, any order, any case', () => {
    assert.equal(scrubUrl('/oauth/callback?code=SECRET&state=ST'), '/oauth/callback?code=[redacted]&state=[redacted]');
    assert.equal(scrubUrl('/oauth/callback?state=ST&code=SECRET'), '/oauth/callback?state=[redacted]&code=[redacted]');
    assert.equal(scrubUrl('/oauth/callback?code=SECRET#frag'), '/oauth/callback?code=[redacted]#frag');
    assert.equal(scrubUrl('/oauth/callback?error=access_denied&state=ST'), '/oauth/callback?error=access_denied&state=[redacted]');
    assert.equal(scrubUrl('/x?CODE=a&Token=b&link_token=c&other=d'), '/x?CODE=[redacted]&Token=[redacted]&link_token=[redacted]&other=d');
    assert.equal(scrubUrl('/oauth/callback?code=a=b&x=1'), '/oauth/callback?code=[redacted]&x=1');
    assert.equal(scrubUrl('/oauth/callback?code=&state='), '/oauth/callback?code=[redacted]&state=[redacted]');
  });

  test('other parameters and paths are left alone', () => {
    assert.equal(scrubUrl('/v1/integrations'), '/v1/integrations');
    assert.equal(scrubUrl('/v1/resyncs/abc?waitSeconds=5'), '/v1/resyncs/abc?waitSeconds=5');
    assert.equal(scrubUrl('/x?encode=keep&mycode=keep&statement=keep'), '/x?encode=keep&mycode=keep&statement=keep');
    assert.equal(scrubUrl(''), '');
  });

  test('property: a secret in code/state or a link token never survives', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);
    fc.assert(
      fc.property(secret, secret, secret, fc.constantFrom('code', 'state', 'token', 'link_token', 'Code', 'STATE'), (linkToken, a, b, param) => {
        const url = `/connect/${linkToken}?${param}=${a}&lang=en&state=${b}`;
        const out = scrubUrl(url);
        assert.equal(out.includes(linkToken), false, out);
        assert.equal(out.includes(a), false, out);
        assert.equal(out.includes(b), false, out);
        assert.ok(out.includes('lang=en'));
      }),
    );
  });
});

describe('parseBootstrapKeys', () => {
  test('valid specs', () => {
    assert.deepEqual(parseBootstrapKeys('tenant-a:keyA_0123456789abcdef,tenant-b:keyB_0123456789abcdef'), [
      { tenant: 'tenant-a', key: 'keyA_0123456789abcdef' },
      { tenant: 'tenant-b', key: 'keyB_0123456789abcdef' },
    ]);
    // Entries are trimmed and empty ones skipped.
    assert.deepEqual(parseBootstrapKeys(' acme:rk_0123456789abcdef , ,'), [{ tenant: 'acme', key: 'rk_0123456789abcdef' }]);
    // Only the first colon separates: keys may contain colons.
    assert.deepEqual(parseBootstrapKeys('t:abc:def:0123456789'), [{ tenant: 't', key: 'abc:def:0123456789' }]);
    assert.deepEqual(parseBootstrapKeys(''), []);
    assert.deepEqual(parseBootstrapKeys(' , '), []);
  });

  test('invalid entries throw', () => {
    assert.throws(() => parseBootstrapKeys('no-colon-at-all-0123456789'), /tenant:key/);
    assert.throws(() => parseBootstrapKeys(':rk_0123456789abcdef'), /tenant:key/); // no tenant
    assert.throws(() => parseBootstrapKeys('tenant:'), /tenant:key/); // no key
    assert.throws(() => parseBootstrapKeys('tenant:short'), /at least 16/);
    assert.throws(() => parseBootstrapKeys('a:rk_0123456789abcdef,b'), /tenant:key/); // one bad entry spoils the spec
  });

  test('property: well-formed specs parse back to their entries', () => {
    const tenant = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    const key = fc.stringMatching(/^[A-Za-z0-9_]{16,40}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(tenant, key).map(([t, k]) => ({ tenant: t, key: k })), { minLength: 1, maxLength: 5 }), (entries) => {
        const spec = entries.map((e) => `${e.tenant}:${e.key}`).join(',');
        assert.deepEqual(parseBootstrapKeys(spec), entries);
      }),
    );
  });
});

describe('crmFailure', () => {
  test('invalid credentials are final', () => {
    const f = crmFailure(new CrmError('invalid_credentials', 'CRM answered 401', 401));
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.type, 'invalid_credentials');
    assert.equal(f.nonRetryable, true);
    assert.equal(f.message, ERROR_MESSAGES.invalid_credentials);
    assert.equal(f.nextRetryDelay, undefined);
  });

  test('a removed user is an invalid credential, final, with its own message', () => {
    const f = crmFailure(new CrmError('user_removed', 'CRM answered 401', 401));
    assert.equal(f.type, 'invalid_credentials');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /removed or deactivated/);
  });

  test('a malformed answer is an invalid credential, final, and says why', () => {
    const f = crmFailure(new CrmError('bad_response', 'CRM answer has no account id at "account.id"', 200));
    assert.equal(f.type, 'invalid_credentials');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /no account id/);
  });

  test('transient errors are retried, after Retry-After when the CRM gave one', () => {
    const withDelay = crmFailure(new CrmError('transient', 'CRM answered 429', 429, 30));
    assert.equal(withDelay.type, 'crm_unavailable');
    assert.equal(withDelay.nonRetryable, false);
    assert.equal(withDelay.nextRetryDelay, '30 seconds');
    assert.equal(withDelay.message, 'CRM answered 429');

    const zero = crmFailure(new CrmError('transient', 'CRM answered 503', 503, 0));
    assert.equal(zero.nextRetryDelay, '0 seconds');

    const without = crmFailure(new CrmError('transient', 'CRM unreachable: TimeoutError'));
    assert.equal(without.type, 'crm_unavailable');
    assert.equal(without.nonRetryable, false);
    assert.equal(without.nextRetryDelay, undefined);
  });

  test('anything else is a retryable crm_unavailable', () => {
    const f = crmFailure(new TypeError('fetch failed'));
    assert.equal(f.type, 'crm_unavailable');
    assert.equal(f.nonRetryable, false);
    assert.equal(f.message, 'fetch failed');
    assert.equal(crmFailure(undefined).message, 'CRM call failed');
    assert.equal(crmFailure('a string').message, 'CRM call failed');
    assert.equal(crmFailure(null).type, 'crm_unavailable');
  });
});

describe('readPath', () => {
  const body = { account: { id: 'acc_1', owner: { id: 7 } }, scopes: ['a', 'b'], items: [{ id: 'x' }], zero: 0, nil: null };

  test('reads top-level and dotted paths', () => {
    assert.deepEqual(readPath(body, 'account'), body.account);
    assert.equal(readPath(body, 'account.id'), 'acc_1');
    assert.equal(readPath(body, 'account.owner.id'), 7);
    assert.deepEqual(readPath(body, 'scopes'), ['a', 'b']);
    assert.equal(readPath(body, 'items.0.id'), 'x');
    assert.equal(readPath(body, 'zero'), 0);
    assert.equal(readPath(body, 'nil'), null);
  });

  test('missing paths and non-objects give undefined, never throw', () => {
    assert.equal(readPath(body, 'missing'), undefined);
    assert.equal(readPath(body, 'account.missing.deeper'), undefined);
    assert.equal(readPath(body, 'nil.id'), undefined);
    assert.equal(readPath(body, 'account.id.length'), undefined); // strings are not walked into
    assert.equal(readPath(null, 'a'), undefined);
    assert.equal(readPath(undefined, 'a'), undefined);
    assert.equal(readPath('text', 'length'), undefined);
    assert.equal(readPath(42, 'a.b'), undefined);
  });

  test('property: reads back what was put at a path', () => {
    const seg = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 6 }), fc.oneof(fc.string(), fc.integer(), fc.boolean()), (segments, value) => {
        let obj: unknown = value;
        for (const s of [...segments].reverse()) obj = { [s]: obj };
        assert.equal(readPath(obj, segments.join('.')), value);
        assert.equal(readPath(obj, [...segments, 'nope'].join('.')), undefined);
      }),
    );
  });
});
