/**
 * TRUST_PROXY as Express's `trust proxy` takes it: `off`, a hop count, or proxy addresses, CIDRs and
 * Express's named ranges. "Trust everyone" (`true`) is refused: any client could name its own address.
 */
import { ConfigError, parseAppConfig } from '../../libs/config/config';
import { parseTrustProxy } from '../../libs/config/trust-proxy';

describe('TRUST_PROXY', () => {
  test('unset or `off`: no proxy is trusted (the TCP peer is the client)', () => {
    expect(parseAppConfig({}).trustProxy).toBe(false);
    expect(parseAppConfig({ TRUST_PROXY: 'off' }).trustProxy).toBe(false);
  });

  test('a number of hops, 1 to 10', () => {
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy(' 3 ')).toBe(3);
    expect(() => parseTrustProxy('0')).toThrow('1 to 10');
    expect(() => parseTrustProxy('11')).toThrow('1 to 10');
  });

  test('addresses, CIDRs and named ranges, separated by commas', () => {
    expect(parseTrustProxy('10.0.0.0/8, loopback,192.168.1.7 , fd00::/8,::1')).toEqual(['10.0.0.0/8', 'loopback', '192.168.1.7', 'fd00::/8', '::1']);
    expect(parseTrustProxy('uniquelocal,linklocal')).toEqual(['uniquelocal', 'linklocal']);
  });

  test.each([['true'], ['on'], ['*'], ['10.0.0.0/33'], ['fd00::/129'], ['10.0.0.0/x'], ['proxy.internal'], ['10.0.0.1,nope'], [',']])('%s is refused', (raw) => {
    expect(() => parseTrustProxy(raw)).toThrow();
  });

  test('a wrong value stops the start with a message naming the variable and the accepted form', () => {
    expect(() => parseAppConfig({ TRUST_PROXY: 'true' })).toThrow(ConfigError);
    expect(() => parseAppConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY[\s\S]*number of proxy hops/);
  });
});

describe('rate-limit settings', () => {
  test('defaults: a 60 s window; 300 public-page requests and 300 failed authentications per IP; 1200 requests per API key; 60 webhook resends per tenant', () => {
    expect(parseAppConfig({}).rateLimits).toEqual({ windowSeconds: 60, publicPagesPerIp: 300, authFailuresPerIp: 300, requestsPerApiKey: 1200, webhookResendsPerTenant: 60 });
  });

  test('0 is allowed (the limit is off); the window is at least 1 s', () => {
    const cfg = parseAppConfig({ RATE_LIMIT_PUBLIC_PAGES: '0', RATE_LIMIT_AUTH_FAILURES: '0', RATE_LIMIT_API_KEY: '0', RATE_LIMIT_WEBHOOK_RESENDS: '0', RATE_LIMIT_WINDOW_SECONDS: '5' });
    expect(cfg.rateLimits).toEqual({ windowSeconds: 5, publicPagesPerIp: 0, authFailuresPerIp: 0, requestsPerApiKey: 0, webhookResendsPerTenant: 0 });
    expect(() => parseAppConfig({ RATE_LIMIT_WINDOW_SECONDS: '0' })).toThrow(/RATE_LIMIT_WINDOW_SECONDS/);
    expect(() => parseAppConfig({ RATE_LIMIT_API_KEY: '-1' })).toThrow(/RATE_LIMIT_API_KEY/);
  });
});
