/**
 * Webhook signing and body format: what a receiver verifies with the `standardwebhooks` package.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { signedHeaders } from '../../activities/webhooks.activities';
import { generateWebhookSecret } from '../../apps/api/webhooks/webhooks.service';
import { KeyRing } from '../../libs/crypto/key-ring';
import { webhookBody, webhookDeliveryWorkflowId, webhookSecretAad } from '../../libs/domain/webhooks';
import { parseRetryAfter } from '../../libs/providers/errors';

const event = {
  id: '3f1c2b9e-4c8a-4e57-9d3a-0a6b1f2e7c11',
  type: 'integrated_account:reauthorized',
  createdAt: new Date('2025-01-02T03:04:05.678Z'),
  payload: { integrated_account: { id: 'i-1', status: 'active' }, reason: 'rotation' },
};

describe('webhook signing', () => {
  test('secrets are whsec_ + base64 of 32 random bytes, all different', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateWebhookSecret));
    assert.equal(secrets.size, 50);
    for (const s of secrets) {
      assert.match(s, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(s.slice(6), 'base64').length, 32);
      assert.doesNotThrow(() => new Webhook(s));
    }
  });

  test('the body is {id, event, created_at, payload}', () => {
    assert.deepEqual(JSON.parse(webhookBody(event)), {
      id: event.id,
      event: 'integrated_account:reauthorized',
      created_at: '2025-01-02T03:04:05.678Z',
      payload: event.payload,
    });
  });

  test('signed headers verify with standardwebhooks; webhook-id is the event id', () => {
    const secret = generateWebhookSecret();
    const body = webhookBody(event);
    const now = new Date();
    const headers = signedHeaders(secret, event.id, body, now);
    assert.equal(headers['webhook-id'], event.id);
    assert.equal(headers['webhook-timestamp'], String(Math.floor(now.getTime() / 1000)));
    assert.equal(headers['content-type'], 'application/json');
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    // Another secret, a changed body, another id or a stale timestamp do not verify.
    assert.throws(() => new Webhook(generateWebhookSecret()).verify(body, headers));
    assert.throws(() => new Webhook(secret).verify(body.replace('active', 'blocked'), headers));
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'other' }));
    const old = signedHeaders(secret, event.id, body, new Date(Date.now() - 10 * 60_000));
    assert.throws(() => new Webhook(secret).verify(body, old), /too old/);
  });

  test('any payload signs and verifies (property)', () => {
    const secret = generateWebhookSecret();
    fc.assert(
      fc.property(fc.uuid(), fc.dictionary(fc.string(), fc.jsonValue()), (id, payload) => {
        const body = webhookBody({ ...event, id, payload });
        new Webhook(secret).verify(body, signedHeaders(secret, id, body, new Date()));
      }),
      { numRuns: 200 },
    );
  });

  test('the sealed secret is bound to its endpoint', () => {
    const ring = new KeyRing(KeyRing.generateSpec('k1'));
    const secret = generateWebhookSecret();
    const sealed = ring.sealJson(secret, webhookSecretAad('a'));
    assert.equal(ring.openJson(sealed, webhookSecretAad('a')), secret);
    assert.throws(() => ring.openJson(sealed, webhookSecretAad('b')));
    assert.equal(sealed.data.includes(secret.slice(6)), false);
  });

  test('delivery workflow ids and Retry-After parsing', () => {
    assert.equal(webhookDeliveryWorkflowId('e', 'p'), 'webhook:e:p');
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('garbage'), undefined);
    assert.equal(parseRetryAfter('30'), 30);
    assert.equal(parseRetryAfter('0'), 0); // an explicit 0 means retry now
    assert.equal(parseRetryAfter('999999'), 3600);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:02:00 GMT', now), 120);
  });
});
