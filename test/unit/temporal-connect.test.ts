import { parseSections } from '../../libs/config/schema';
import { SETTINGS } from '../../libs/config/settings';
import { connectionOptions } from '../../libs/temporal/connect';

describe('Temporal connection options', () => {
  test('no API key: plain gRPC, as to the dev server or a cluster inside the network', () => {
    expect(connectionOptions({ address: 'temporal:7233' })).toEqual({ address: 'temporal:7233' });
  });

  test('an API key (Temporal Cloud): TLS, and the key with every call', () => {
    expect(connectionOptions({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'k-123' })).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: true, apiKey: 'k-123' });
  });

  test('TEMPORAL_API_KEY is a secret: a bad value is refused without being shown', () => {
    const read = (env: Record<string, string>) => parseSections({ key: (r) => r(SETTINGS.TEMPORAL_API_KEY) }, env).key;
    expect(read({ TEMPORAL_API_KEY: 'abc.def' })).toBe('abc.def');
    expect(read({})).toBeUndefined();
    let message = '';
    try {
      read({ TEMPORAL_API_KEY: 'leaky value' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/TEMPORAL_API_KEY/);
    expect(message).not.toMatch(/leaky/);
  });
});
