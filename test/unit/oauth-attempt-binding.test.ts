/**
 * The attempt cookie's value (libs/crypto/oauth-attempt.ts): a MAC over the reauthorization and the
 * attempt's state hash, with a key derived from the credentials key ring; it survives key rotation
 * as long as its key is in the ring, and proves nothing for another reauthorization or attempt;
 * and how the API sets and reads it (apps/api/connect/attempt-cookies.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { AttemptCookies } from '../../apps/api/connect/attempt-cookies';
import type { AppConfig } from '../../libs/config/config';
import { KeyRing } from '../../libs/crypto/key-ring';
import { attemptCookieName, hashState, reauthorizationIdOfCookie, signAttemptBinding, verifyAttemptBinding } from '../../libs/crypto/oauth-attempt';

describe('OAuth attempt binding', () => {
  const ring = new KeyRing(KeyRing.generateSpec('k1'));
  const binding = { reauthorizationId: randomUUID(), stateHash: hashState('state-of-attempt-1') };

  test('what is signed verifies, for that reauthorization and state hash only', () => {
    const value = signAttemptBinding(ring, binding);
    assert.match(value, /^[A-Za-z0-9_-]+\.[0-9a-f]{64}\.[A-Za-z0-9_-]+$/, 'cookie-safe without encoding');
    assert.deepEqual(verifyAttemptBinding(ring, binding.reauthorizationId, value), binding);
    assert.equal(verifyAttemptBinding(ring, randomUUID(), value), undefined, 'another reauthorization');
    const [kid, , mac] = value.split('.');
    const otherState = hashState('state-of-attempt-2');
    assert.equal(verifyAttemptBinding(ring, binding.reauthorizationId, `${kid}.${otherState}.${mac}`), undefined, 'another attempt');
  });

  test('forged, truncated or foreign values prove nothing', () => {
    const value = signAttemptBinding(ring, binding);
    const [kid, stateHash, mac] = value.split('.');
    const flipped = Buffer.from(mac, 'base64url');
    flipped[0] ^= 1;
    for (const forged of [
      '',
      'forged',
      `${kid}.${stateHash}.${flipped.toString('base64url')}`,
      `${kid}.${stateHash}.${mac.slice(0, 20)}`,
      `${kid}.${stateHash}`,
      `${kid}.${stateHash}.${mac}.x`,
      `${Buffer.from('nope').toString('base64url')}.${stateHash}.${mac}`,
      `${kid}.${stateHash.toUpperCase()}.${mac}`,
    ]) {
      assert.equal(verifyAttemptBinding(ring, binding.reauthorizationId, forged), undefined, forged);
    }
    // Signed with another ring (another deployment, or a key that left the ring): refused.
    const other = new KeyRing(KeyRing.generateSpec('k1'));
    assert.equal(verifyAttemptBinding(ring, binding.reauthorizationId, signAttemptBinding(other, binding)), undefined);
  });

  test('key rotation: a cookie signed with the old primary verifies while that key is in the ring', () => {
    const oldSpec = KeyRing.generateSpec('old');
    const before = new KeyRing(oldSpec);
    const value = signAttemptBinding(before, binding);
    const rotated = new KeyRing(`${KeyRing.generateSpec('new')},${oldSpec}`);
    assert.deepEqual(verifyAttemptBinding(rotated, binding.reauthorizationId, value), binding);
    assert.notEqual(signAttemptBinding(rotated, binding), value, 'new cookies use the new primary');
    assert.equal(verifyAttemptBinding(new KeyRing(KeyRing.generateSpec('new')), binding.reauthorizationId, value), undefined);
  });

  test('derived keys are per purpose and not the encryption key', () => {
    const spec = KeyRing.generateSpec('k1');
    const r = new KeyRing(spec);
    const raw = Buffer.from(spec.slice(spec.indexOf(':') + 1), 'base64');
    const a = r.derivedKey('a')!;
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, raw);
    assert.notDeepEqual(a, r.derivedKey('b'));
    assert.deepEqual(a, new KeyRing(spec).derivedKey('a'), 'deterministic: every API process derives the same');
    assert.equal(r.derivedKey('a', 'missing'), undefined);
  });

  test('cookie names carry the reauthorization id, nothing else counts as one', () => {
    const id = randomUUID();
    assert.equal(reauthorizationIdOfCookie(attemptCookieName(id)), id);
    for (const name of ['oauth_attempt_', 'oauth_attempt_not-a-uuid', `other_${id}`, `oauth_attempt_${id}x`]) {
      assert.equal(reauthorizationIdOfCookie(name), undefined, name);
    }
  });

  describe('AttemptCookies (the API side)', () => {
    function issued(publicUrl: string, secureRequest: boolean, expiresInMs: number) {
      const cookies = new AttemptCookies(ring, { publicUrl } as AppConfig);
      const set: Array<{ name: string; value: string; options: Record<string, unknown> }> = [];
      const res = { cookie: (name: string, value: string, options: Record<string, unknown>) => set.push({ name, value, options }) } as unknown as Response;
      cookies.issue({ secure: secureRequest } as Request, res, binding, new Date(Date.now() + expiresInMs));
      assert.equal(set.length, 1);
      return { cookies, ...set[0] };
    }

    test('HttpOnly, SameSite=Lax, path-scoped; Secure when PUBLIC_URL is https or the request came over TLS', () => {
      const plain = issued('http://127.0.0.1:3000', false, 3600_000);
      assert.equal(plain.name, attemptCookieName(binding.reauthorizationId));
      assert.deepEqual({ ...plain.options, maxAge: undefined }, { httpOnly: true, sameSite: 'lax', secure: false, path: '/oauth/callback', maxAge: undefined });
      assert.equal(issued('https://api.example.test', false, 3600_000).options.secure, true);
      assert.equal(issued('http://127.0.0.1:3000', true, 3600_000).options.secure, true);
    });

    test('lives until the link expires, at most a day', () => {
      const soon = issued('http://127.0.0.1:3000', false, 60_000).options.maxAge as number;
      assert.ok(soon > 55_000 && soon <= 60_000, String(soon));
      assert.equal(issued('http://127.0.0.1:3000', false, 7 * 24 * 3600_000).options.maxAge, 24 * 3600_000);
    });

    test('read back from a Cookie header among others; the state must match exactly', () => {
      const { cookies, name, value } = issued('http://127.0.0.1:3000', false, 3600_000);
      const other = { reauthorizationId: randomUUID(), stateHash: hashState('another') };
      const header = `theme=dark; ${attemptCookieName(other.reauthorizationId)}=${signAttemptBinding(ring, other)}; ${name}=${value}; junk`;
      const req = { headers: { cookie: header } } as Request;
      assert.deepEqual(cookies.forState(req, binding.stateHash), binding);
      assert.deepEqual(cookies.forState(req, other.stateHash), other);
      assert.equal(cookies.forState(req, hashState('unknown')), undefined);
      assert.deepEqual(cookies.forReauthorization(req, binding.reauthorizationId), binding);
      assert.equal(cookies.forState({ headers: {} } as Request, binding.stateHash), undefined);
      // Another reauthorization's value under this one's name proves nothing.
      const swapped = { headers: { cookie: `${name}=${signAttemptBinding(ring, other)}` } } as Request;
      assert.equal(cookies.forReauthorization(swapped, binding.reauthorizationId), undefined);
    });
  });
});
