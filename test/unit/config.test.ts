/**
 * Settings: defaults, one clear message per malformed variable (naming it and the expected form),
 * every problem of a start reported together, and the Nest wiring (ConfigModule → APP_CONFIG).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import {
  BENCH_SECTION,
  ConfigError,
  DEV_TOOLS_SECTION,
  loadConfig,
  parseAppConfig,
  SANDBOX_CRM_SECTION,
  START_SECTION,
  type AppConfig,
  type Env,
} from '../../libs/config/config';
import { appConfigModule } from '../../libs/config/config.module';
import { parseSections } from '../../libs/config/schema';
import { ALL_SETTINGS, SETTINGS } from '../../libs/config/settings';
import { KeyRing } from '../../libs/crypto/key-ring';
import { CoreModule } from '../../libs/nest/core.module';
import { APP_CONFIG, CODEC_KEY_RING, CREDENTIALS_KEY_RING } from '../../libs/nest/tokens';
import { ProviderRegistry } from '../../libs/providers/provider-registry';

/** The ConfigError thrown for `env`, or a failure if the settings were accepted. */
function configErrorOf(env: Env): ConfigError {
  try {
    parseAppConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`settings were accepted: ${JSON.stringify(env)}`);
}

const validKeySpec = KeyRing.generateSpec('k1');

describe('settings catalogue', () => {
  test('every setting is keyed by its own variable name, once', () => {
    for (const [key, setting] of Object.entries(SETTINGS)) expect(setting.name).toBe(key);
    expect(new Set(ALL_SETTINGS.map((s) => s.name)).size).toBe(ALL_SETTINGS.length);
  });

  test('every setting has a description and an accepted form', () => {
    for (const setting of ALL_SETTINGS) {
      expect(setting.description.length).toBeGreaterThan(0);
      expect(setting.accepted.length).toBeGreaterThan(0);
      expect(setting.defaultText.length).toBeGreaterThan(0);
    }
  });
});

describe('AppConfig defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    const expected: AppConfig = {
      dataDir: path.resolve('.data'),
      apiPort: 3000,
      apiHost: '127.0.0.1',
      publicUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      databasePoolSize: 10,
      temporalApiKey: undefined,
      embeddedPostgresPort: 5433,
      temporalAddress: undefined,
      temporalPort: 7233,
      temporalUiPort: 8233,
      temporalNamespace: 'default',
      taskQueue: 'reauth-engine',
      sandboxCrmPort: 4010,
      sandboxCrmUrl: 'http://127.0.0.1:4010',
      credentialsKeys: undefined,
      payloadCodecKeys: undefined,
      bootstrapApiKeys: undefined,
      logLevel: 'info',
      logFormat: undefined,
      reauthDefaultExpirySeconds: 259_200,
      crmMode: 'sandbox',
      egressAllowlist: [],
      resyncDelegateTimeoutSeconds: 86_400,
      webhookRetryInitialSeconds: 5,
      webhookRetryWindowSeconds: 86_400,
      refreshMarginSeconds: 300,
      refreshJitterSeconds: 30,
      refreshSpreadPercent: 25,
      healthCheckIntervalSeconds: 3600,
      crmCallsPerSecond: { hubspot: 10, salesforce: 25, pipedrive: 20, zoho: 8, sandbox: 100 },
      reauthRecommendedBeforeSeconds: 604800,
      workerMetricsPort: 9464,
      workerMetricsHost: '127.0.0.1',
      temporalSdkMetricsPort: 9465,
      trustProxy: false,
      rateLimits: { windowSeconds: 60, publicPagesPerIp: 300, authFailuresPerIp: 300, requestsPerApiKey: 1200, webhookResendsPerTenant: 60 },
      apiShutdown: { delaySeconds: 5, timeoutSeconds: 20 },
      workerShutdownGraceSeconds: 20,
      workerMaxCachedWorkflows: undefined,
    };
    expect(parseAppConfig({})).toEqual(expected);
  });

  test('an empty variable counts as unset', () => {
    expect(parseAppConfig({ PORT: '', CRM_MODE: '', DATABASE_URL: '' })).toEqual(parseAppConfig({}));
  });

  test('PUBLIC_URL and SANDBOX_CRM_URL follow the ports unless given; a trailing slash is dropped', () => {
    const derived = parseAppConfig({ PORT: '8080', SANDBOX_CRM_PORT: '4999' });
    expect(derived.publicUrl).toBe('http://localhost:8080');
    expect(derived.sandboxCrmUrl).toBe('http://127.0.0.1:4999');
    const given = parseAppConfig({ PORT: '8080', PUBLIC_URL: 'https://reauth.example.com/', SANDBOX_CRM_URL: 'http://crm:4010/' });
    expect(given.publicUrl).toBe('https://reauth.example.com');
    expect(given.sandboxCrmUrl).toBe('http://crm:4010');
  });

  test('valid values are taken as typed values', () => {
    const cfg = parseAppConfig({
      PORT: '65535',
      CRM_MODE: 'production',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
      DATABASE_URL: 'postgresql://app:secret@db:5432/reauth',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      CREDENTIALS_KEYS: `${validKeySpec},${KeyRing.generateSpec('k0')}`,
      PAYLOAD_CODEC_KEYS: validKeySpec,
      BOOTSTRAP_API_KEYS: 'acme:rk_0123456789abcdef,globex:rk_fedcba9876543210',
      REFRESH_JITTER_SECONDS: '0',
      DATA_DIR: '/var/lib/reauth',
      WORKER_MAX_CACHED_WORKFLOWS: '12000',
    });
    expect(cfg).toMatchObject({
      apiPort: 65535,
      crmMode: 'production',
      logLevel: 'debug',
      logFormat: 'pretty',
      temporalAddress: 'temporal.internal:7233',
      refreshJitterSeconds: 0,
      dataDir: '/var/lib/reauth',
      workerMaxCachedWorkflows: 12000,
    });
    expect(parseAppConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).workerMaxCachedWorkflows).toBe(0);
    expect(parseAppConfig({ TEMPORAL_ADDRESS: '[::1]:7233' }).temporalAddress).toBe('[::1]:7233');
    expect(parseAppConfig({ TEMPORAL_ADDRESS: 'temporal' }).temporalAddress).toBe('temporal');
  });
});

describe('AppConfig validation messages name the variable and the expected form', () => {
  const cases: Array<[variable: string, value: string, message: string]> = [
    ['PORT', 'abc', 'PORT: expected a TCP port (an integer from 1 to 65535), got "abc"'],
    ['PORT', '0', 'PORT: expected a TCP port (an integer from 1 to 65535), got "0"'],
    ['PORT', '65536', 'PORT: expected a TCP port (an integer from 1 to 65535), got "65536"'],
    ['PORT', '3000.5', 'PORT: expected a TCP port (an integer from 1 to 65535), got "3000.5"'],
    ['EMBEDDED_POSTGRES_PORT', '-1', 'EMBEDDED_POSTGRES_PORT: expected a TCP port (an integer from 1 to 65535), got "-1"'],
    ['SANDBOX_CRM_PORT', '99999', 'SANDBOX_CRM_PORT: expected a TCP port (an integer from 0 to 65535; 0 picks a free one), got "99999"'],
    ['CRM_MODE', 'bogus', 'CRM_MODE: expected one of sandbox, production, got "bogus"'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    ['LOG_FORMAT', 'xml', 'LOG_FORMAT: expected one of json, pretty, got "xml"'],
    ['PUBLIC_URL', 'reauth.example.com', 'PUBLIC_URL: expected an http:// or https:// URL such as https://reauth.example.com, got "reauth.example.com" (not a URL)'],
    ['PUBLIC_URL', 'ftp://reauth.example.com', 'PUBLIC_URL: expected an http:// or https:// URL such as https://reauth.example.com, got "ftp://reauth.example.com" (scheme ftp: is not http: or https:)'],
    ['SANDBOX_CRM_URL', 'localhost:4010', 'SANDBOX_CRM_URL: expected an http:// or https:// URL such as http://127.0.0.1:4010, got "localhost:4010" (scheme localhost: is not http: or https:)'],
    ['TEMPORAL_ADDRESS', 'http://temporal:7233', 'TEMPORAL_ADDRESS: expected host:port such as temporal:7233, got "http://temporal:7233"'],
    ['TEMPORAL_ADDRESS', 'temporal:99999', 'TEMPORAL_ADDRESS: expected host:port such as temporal:7233, got "temporal:99999" (port 99999 is out of range)'],
    ['HOST', 'local host', 'HOST: expected a host name or IP address, got "local host" (contains whitespace)'],
    ['REFRESH_MARGIN_SECONDS', '-5', 'REFRESH_MARGIN_SECONDS: expected an integer >= 0, got "-5"'],
    ['WEBHOOK_RETRY_INITIAL_SECONDS', '0', 'WEBHOOK_RETRY_INITIAL_SECONDS: expected an integer >= 1, got "0"'],
    ['WORKER_MAX_CACHED_WORKFLOWS', '-1', 'WORKER_MAX_CACHED_WORKFLOWS: expected an integer from 0 to 1000000, got "-1"'],
    ['WORKER_MAX_CACHED_WORKFLOWS', 'lots', 'WORKER_MAX_CACHED_WORKFLOWS: expected an integer from 0 to 1000000, got "lots"'],
    ['REAUTH_DEFAULT_EXPIRY_SECONDS', '3d', 'REAUTH_DEFAULT_EXPIRY_SECONDS: expected an integer >= 1, got "3d"'],
  ];
  test.each(cases)('%s=%s', (variable, value, message) => {
    const error = configErrorOf({ [variable]: value });
    expect(error.problems).toEqual([message]);
    expect(error.message).toContain(message);
  });

  test('a database URL must be postgres and is never echoed (it carries the password)', () => {
    const error = configErrorOf({ DATABASE_URL: 'mysql://root:hunter2@db/reauth' });
    expect(error.problems).toEqual([
      'DATABASE_URL: expected a postgres://user:password@host:5432/database URL, got a value that does not fit (not shown: it is a secret) (scheme mysql: is not postgres: or postgresql:)',
    ]);
    expect(error.message).not.toContain('hunter2');
  });

  test('key ring specs are checked by the key ring parser, without echoing key material', () => {
    const shortKey = `k1:${Buffer.alloc(16).toString('base64')}`;
    const cases: Array<[variable: string, value: string, detail: string]> = [
      ['CREDENTIALS_KEYS', 'just-a-key', 'key ring entries must look like "kid:base64key"'],
      ['PAYLOAD_CODEC_KEYS', shortKey, 'key "k1" must be 32 bytes (base64), got 16'],
      ['CREDENTIALS_KEYS', `${validKeySpec},${validKeySpec}`, 'duplicate key id "k1"'],
    ];
    for (const [variable, value, detail] of cases) {
      const error = configErrorOf({ [variable]: value });
      expect(error.problems).toEqual([
        `${variable}: expected kid:base64key[,kid2:base64key…] with 32-byte keys, got a value that does not fit (not shown: it is a secret) (${detail})`,
      ]);
      expect(error.message).not.toContain(value);
    }
  });

  test('BOOTSTRAP_API_KEYS is checked with the bootstrap parser, without echoing keys', () => {
    const accepted = 'tenant:key[,tenant2:key2…] with keys of at least 16 characters';
    const secret = 'got a value that does not fit (not shown: it is a secret)';
    expect(configErrorOf({ BOOTSTRAP_API_KEYS: 'acme:short' }).problems).toEqual([
      `BOOTSTRAP_API_KEYS: expected ${accepted}, ${secret} (bootstrap API keys must be at least 16 characters)`,
    ]);
    expect(configErrorOf({ BOOTSTRAP_API_KEYS: 'rk_0123456789abcdef' }).problems).toEqual([
      `BOOTSTRAP_API_KEYS: expected ${accepted}, ${secret} (BOOTSTRAP_API_KEYS entries must look like "tenant:key")`,
    ]);
    expect(configErrorOf({ BOOTSTRAP_API_KEYS: 'acme:short' }).message).not.toContain('short');
  });

  test('a long value is shortened in the message', () => {
    const [problem] = configErrorOf({ CRM_MODE: 'x'.repeat(500) }).problems;
    expect(problem).toBe(`CRM_MODE: expected one of sandbox, production, got "${'x'.repeat(60)}…"`);
  });
});

describe('several problems are reported together', () => {
  test('every wrong setting is in one error, the right ones are not', () => {
    const error = configErrorOf({
      PORT: 'abc',
      CRM_MODE: 'bogus',
      LOG_LEVEL: 'loud',
      PUBLIC_URL: 'nope',
      CREDENTIALS_KEYS: 'broken',
      TEMPORAL_NAMESPACE: 'fine',
    });
    const named = error.problems.map((p) => p.slice(0, p.indexOf(':')));
    expect([...named].sort()).toEqual(['CREDENTIALS_KEYS', 'CRM_MODE', 'LOG_LEVEL', 'PORT', 'PUBLIC_URL']);
    expect(error.message.split('\n')).toEqual([
      'invalid configuration: 5 settings are wrong',
      ...error.problems.map((p) => `  - ${p}`),
      'The settings are listed in the Configuration section of README.md.',
    ]);
  });

  test('a setting read by two sections is reported once', () => {
    try {
      parseSections({ app: (read) => read(SETTINGS.SANDBOX_CRM_PORT), sandboxCrm: SANDBOX_CRM_SECTION }, { SANDBOX_CRM_PORT: 'x' });
      throw new Error('accepted');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(1);
    }
  });

  test('printing the error shows the message, not a stack trace', () => {
    const error = configErrorOf({ PORT: 'abc' });
    expect(error.stack).toBe(`ConfigError: ${error.message}`);
    expect(inspect(error)).not.toMatch(/\n\s+at /);
  });
});

describe('loadConfig ends the process on a wrong setting', () => {
  test('prints every problem to stderr and exits with 1', () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const exit = jest.spyOn(process, 'exit').mockImplementation((code?: string | number | null) => {
      throw new Error(`exit ${code}`);
    });
    try {
      expect(() => loadConfig({ PORT: 'abc', CRM_MODE: 'bogus' })).toThrow('exit 1');
      expect(written.join('')).toContain('PORT: expected a TCP port (an integer from 1 to 65535), got "abc"');
      expect(written.join('')).toContain('CRM_MODE: expected one of sandbox, production, got "bogus"');
    } finally {
      write.mockRestore();
      exit.mockRestore();
    }
  });

  test('returns the typed config when all is well', () => {
    expect(loadConfig({ PORT: '4321' }).apiPort).toBe(4321);
  });
});

describe('other sections', () => {
  test('sandbox CRM: defaults and validation', () => {
    expect(parseSections({ s: SANDBOX_CRM_SECTION }, {}).s).toEqual({ port: 4010, host: '127.0.0.1', verboseLogs: false });
    expect(parseSections({ s: SANDBOX_CRM_SECTION }, { SANDBOX_CRM_PORT: '0', SANDBOX_CRM_LOG: 'debug', SANDBOX_CRM_HOST: '0.0.0.0' }).s).toEqual({
      port: 0,
      host: '0.0.0.0',
      verboseLogs: true,
    });
    expect(() => parseSections({ s: SANDBOX_CRM_SECTION }, { SANDBOX_CRM_LOG: 'loud' })).toThrow('SANDBOX_CRM_LOG: expected one of quiet, debug, got "loud"');
  });

  test('npm start: SANDBOX_CRM is on or off', () => {
    expect(parseSections({ s: START_SECTION }, {}).s).toEqual({ launchSandboxCrm: true });
    expect(parseSections({ s: START_SECTION }, { SANDBOX_CRM: 'off' }).s).toEqual({ launchSandboxCrm: false });
    expect(() => parseSections({ s: START_SECTION }, { SANDBOX_CRM: 'no' })).toThrow('SANDBOX_CRM: expected one of on, off, got "no"');
  });

  test('development tools: TEMPORAL_CLI_PATH, XDG_CACHE_HOME, PATH', () => {
    expect(parseSections({ s: DEV_TOOLS_SECTION }, {}).s).toEqual({ temporalCliPath: undefined, cacheDir: path.join(os.homedir(), '.cache'), searchPath: [] });
    expect(
      parseSections({ s: DEV_TOOLS_SECTION }, { TEMPORAL_CLI_PATH: '/opt/temporal', XDG_CACHE_HOME: '/tmp/cache', PATH: ['/usr/bin', '', '/bin'].join(path.delimiter) }).s,
    ).toEqual({ temporalCliPath: '/opt/temporal', cacheDir: '/tmp/cache', searchPath: ['/usr/bin', '/bin'] });
  });

  test('bench: sizes', () => {
    expect(parseSections({ s: BENCH_SECTION }, {}).s).toEqual({ reauthorizationsAtConcurrency1: 30, reauthorizationsAtConcurrency20: 100, refreshFleetSize: 40 });
    expect(() => parseSections({ s: BENCH_SECTION }, { BENCH_FLEET: 'many' })).toThrow('BENCH_FLEET: expected an integer >= 1, got "many"');
  });
});

describe('Nest wiring', () => {
  const keys = { CREDENTIALS_KEYS: KeyRing.generateSpec('cred'), PAYLOAD_CODEC_KEYS: KeyRing.generateSpec('codec') };

  test('CoreModule provides the AppConfig validated at start as APP_CONFIG and in ConfigService, and the key rings', async () => {
    const cfg = parseAppConfig({ ...keys, PORT: '4567' });
    const moduleRef = await Test.createTestingModule({ imports: [CoreModule.forRoot(cfg)] })
      .overrideProvider(ProviderRegistry) // needs a database; not what is tested here
      .useValue({})
      .compile();
    expect(moduleRef.get(APP_CONFIG)).toBe(cfg);
    expect(moduleRef.get(ConfigService).get('app')).toBe(cfg);
    expect(moduleRef.get<KeyRing>(CREDENTIALS_KEY_RING).primaryKeyId).toBe('cred');
    expect(moduleRef.get<KeyRing>(CODEC_KEY_RING).primaryKeyId).toBe('codec');
    await moduleRef.close();
  });

  describe('without a config handed in, the ConfigModule validates the environment itself', () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    });

    test('a valid environment becomes the typed config; raw variables are not served', async () => {
      Object.assign(process.env, keys, { PORT: '4568', CRM_MODE: 'production' });
      const moduleRef = await Test.createTestingModule({ imports: [CoreModule.forRoot()] })
        .overrideProvider(ProviderRegistry)
        .useValue({})
        .compile();
      expect(moduleRef.get<AppConfig>(APP_CONFIG)).toMatchObject({ apiPort: 4568, crmMode: 'production' });
      expect(moduleRef.get(ConfigService).get('PORT')).toBeUndefined();
      await moduleRef.close();
    });

    test('a wrong environment rejects with the ConfigError', async () => {
      Object.assign(process.env, { PORT: 'abc', CRM_MODE: 'bogus' });
      const error = await appConfigModule().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toHaveLength(2);
    });
  });
});

describe('CRM_CALLS_PER_SECOND', () => {
  test('overrides the default rate of the CRMs it names and keeps the others', () => {
    expect(parseAppConfig({ CRM_CALLS_PER_SECOND: 'hubspot=2.5, zoho=1' }).crmCallsPerSecond).toEqual({ hubspot: 2.5, salesforce: 25, pipedrive: 20, zoho: 1, sandbox: 100 });
  });

  test.each(['hubspot', 'hubspot=0', 'hubspot=-1', 'hubspot=x', 'Hub Spot=3', 'hubspot=1,hubspot=2'])('refuses %p, naming the setting', (raw) => {
    expect(() => parseAppConfig({ CRM_CALLS_PER_SECOND: raw })).toThrow(/CRM_CALLS_PER_SECOND/);
  });
});
