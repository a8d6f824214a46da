import { crmCallRates } from '../temporal/crm-task-queues';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EgressAllowlist } from '../http/egress-allowlist';
import { ConfigError, parseSections, type Env, type Section, type SectionValues } from './schema';
import { SETTINGS, type CrmMode, type LogLevelName } from './settings';
import type { TrustProxy } from './trust-proxy';

/**
 * The one place that reads the environment. Every runtime setting is an environment variable
 * (catalogue and README table: settings.ts) so that `npm start` (embedded defaults) and a real
 * deployment (`start:api`, `start:worker` against external services) share one code path.
 * Settings are validated when a process starts; a wrong one stops it with a message naming the
 * variable and the form it expects, all wrong ones at once.
 */
export interface AppConfig {
  dataDir: string;
  apiPort: number;
  apiHost: string;
  publicUrl: string;
  databaseUrl?: string;
  databasePoolSize: number;
  /** Temporal Cloud: TLS and this API key on every call. */
  temporalApiKey?: string;
  embeddedPostgresPort: number;
  temporalAddress?: string;
  temporalPort: number;
  temporalUiPort: number;
  temporalNamespace: string;
  taskQueue: string;
  sandboxCrmPort: number;
  sandboxCrmUrl: string;
  credentialsKeys?: string;
  payloadCodecKeys?: string;
  bootstrapApiKeys?: string;
  /** Operators' keys for `/codec/*`; unset: no key opens it (OIDC access tokens may, see below). */
  operatorApiKeys?: string[];
  /** Browser origins allowed to call `/codec/*`; unset: the dev server UI's (TEMPORAL_UI_PORT). */
  codecCorsOrigins?: string[];
  /** Set: `/codec/*` also accepts JWT access tokens of this issuer for `codecOidcAudience`. */
  codecOidcIssuer?: string;
  codecOidcAudience?: string;
  logLevel: LogLevelName;
  /** Unset: JSON lines (`npm start` passes `pretty` to its children unless told otherwise). */
  logFormat?: 'json' | 'pretty';
  reauthDefaultExpirySeconds: number;
  /** `sandbox`: catalog providers point at the sandbox CRM; `production`: at the real CRMs. */
  crmMode: CrmMode;
  /** EGRESS_ALLOWLIST: the non-public hosts, host:ports and CIDRs that tenant- and CRM-supplied URLs may reach (empty: none). */
  egressAllowlist: EgressAllowlist;
  /** A delegated re-sync entity that gets no completion signal in this time fails with `timeout` (default 24 h). */
  resyncDelegateTimeoutSeconds: number;
  /** First retry of a failed webhook delivery after this many seconds; doubles up to 1 h. */
  webhookRetryInitialSeconds: number;
  /** A webhook delivery is retried for this long before it is marked failed (default 24 h). */
  webhookRetryWindowSeconds: number;
  /** Refresh this long before expiry (shrunk to a fifth of the lifetime for short-lived tokens). */
  refreshMarginSeconds: number;
  /** Random spread added to refresh times so a fleet does not refresh in one burst. */
  refreshJitterSeconds: number;
  /** Refreshes are spread over this share (percent) of a token's lifetime before the margin. */
  refreshSpreadPercent: number;
  /** How often credentials that do not expire (API tokens) are checked with who-am-I. */
  healthCheckIntervalSeconds: number;
  /** Most background CRM calls started per second, per catalog CRM (its own task queue). */
  crmCallsPerSecond: Record<string, number>;
  /** Recommend a reauthorization (warning alert, webhook) this long before a refresh token expires by itself. */
  reauthRecommendedBeforeSeconds: number;
  /** Port of the worker's Prometheus `/metrics` listener; 0: none. */
  workerMetricsPort: number;
  /** Listen address of the worker's `/metrics`. */
  workerMetricsHost: string;
  /** Loopback port of the Temporal SDK's Prometheus exporter, merged into the worker's `/metrics`; 0: SDK metrics off. */
  temporalSdkMetricsPort: number;
  /** Express's `trust proxy`: which proxies may name the client in `X-Forwarded-For` (false: none). */
  trustProxy: TrustProxy;
  rateLimits: RateLimitConfig;
  /** Graceful stop of the API: `/ready` answers 503 for `delaySeconds` (still serving), then in-flight requests get `timeoutSeconds`. */
  apiShutdown: { delaySeconds: number; timeoutSeconds: number };
  /** Graceful stop of the worker: running activities get this long after SIGTERM before they are cancelled. */
  workerShutdownGraceSeconds: number;
  /** Unset: the SDK's default, from the heap size. */
  workerMaxCachedWorkflows?: number;
}

/** Request budgets per window (0: that limit is off); the API's throttler counts in process memory. */
export interface RateLimitConfig {
  windowSeconds: number;
  /** `/connect/*`, `/oauth/callback`, `/sdk/*`, per client IP. */
  publicPagesPerIp: number;
  /** Requests with a missing or wrong API key, per client IP (valid keys are never counted). */
  authFailuresPerIp: number;
  /** Authenticated `/v1` requests, per API key. */
  requestsPerApiKey: number;
  /** Webhook redelivery and replay requests, per tenant. */
  webhookResendsPerTenant: number;
}

/** Settings of the standalone sandbox CRM (`npm run start:sandbox-crm`). */
export interface SandboxCrmConfig {
  port: number;
  host: string;
  /** Log everything instead of warnings and errors only. */
  verboseLogs: boolean;
}

/** What `npm start` decides besides the settings it hands to the processes it launches. */
export interface StartConfig {
  launchSandboxCrm: boolean;
}

/** Where the development scripts look for the Temporal CLI. */
export interface DevToolsConfig {
  /** An explicit CLI binary; wins over every other place. */
  temporalCliPath?: string;
  /** Per-user cache directory (XDG_CACHE_HOME or ~/.cache). */
  cacheDir: string;
  /** The directories of PATH, in order. */
  searchPath: string[];
}

export interface BenchConfig {
  reauthorizationsAtConcurrency1: number;
  reauthorizationsAtConcurrency20: number;
  refreshFleetSize: number;
}

const withoutTrailingSlash = (url: string): string => url.replace(/\/$/, '');

export const APP_SECTION: Section<AppConfig> = (read) => {
  const apiPort = read(SETTINGS.PORT);
  const sandboxCrmPort = read(SETTINGS.SANDBOX_CRM_PORT);
  return {
    dataDir: path.resolve(read(SETTINGS.DATA_DIR)),
    apiPort,
    apiHost: read(SETTINGS.HOST),
    publicUrl: withoutTrailingSlash(read(SETTINGS.PUBLIC_URL) ?? `http://localhost:${apiPort}`),
    databaseUrl: read(SETTINGS.DATABASE_URL),
    databasePoolSize: read(SETTINGS.DATABASE_POOL_SIZE),
    temporalApiKey: read(SETTINGS.TEMPORAL_API_KEY),
    embeddedPostgresPort: read(SETTINGS.EMBEDDED_POSTGRES_PORT),
    temporalAddress: read(SETTINGS.TEMPORAL_ADDRESS),
    temporalPort: read(SETTINGS.TEMPORAL_PORT),
    temporalUiPort: read(SETTINGS.TEMPORAL_UI_PORT),
    temporalNamespace: read(SETTINGS.TEMPORAL_NAMESPACE),
    taskQueue: read(SETTINGS.TEMPORAL_TASK_QUEUE),
    sandboxCrmPort,
    sandboxCrmUrl: withoutTrailingSlash(read(SETTINGS.SANDBOX_CRM_URL) ?? `http://127.0.0.1:${sandboxCrmPort}`),
    credentialsKeys: read(SETTINGS.CREDENTIALS_KEYS),
    payloadCodecKeys: read(SETTINGS.PAYLOAD_CODEC_KEYS),
    bootstrapApiKeys: read(SETTINGS.BOOTSTRAP_API_KEYS),
    operatorApiKeys: read(SETTINGS.OPERATOR_API_KEYS),
    codecCorsOrigins: read(SETTINGS.CODEC_CORS_ORIGINS),
    codecOidcIssuer: read(SETTINGS.CODEC_OIDC_ISSUER),
    codecOidcAudience: read(SETTINGS.CODEC_OIDC_AUDIENCE),
    logLevel: read(SETTINGS.LOG_LEVEL),
    logFormat: read(SETTINGS.LOG_FORMAT),
    reauthDefaultExpirySeconds: read(SETTINGS.REAUTH_DEFAULT_EXPIRY_SECONDS),
    crmMode: read(SETTINGS.CRM_MODE),
    egressAllowlist: read(SETTINGS.EGRESS_ALLOWLIST),
    resyncDelegateTimeoutSeconds: read(SETTINGS.RESYNC_DELEGATE_TIMEOUT_SECONDS),
    webhookRetryInitialSeconds: read(SETTINGS.WEBHOOK_RETRY_INITIAL_SECONDS),
    webhookRetryWindowSeconds: read(SETTINGS.WEBHOOK_RETRY_WINDOW_SECONDS),
    refreshMarginSeconds: read(SETTINGS.REFRESH_MARGIN_SECONDS),
    refreshJitterSeconds: read(SETTINGS.REFRESH_JITTER_SECONDS),
    refreshSpreadPercent: read(SETTINGS.REFRESH_SPREAD_PERCENT),
    healthCheckIntervalSeconds: read(SETTINGS.HEALTH_CHECK_INTERVAL_SECONDS),
    crmCallsPerSecond: crmCallRates(read(SETTINGS.CRM_CALLS_PER_SECOND)),
    reauthRecommendedBeforeSeconds: read(SETTINGS.REAUTH_RECOMMENDED_BEFORE_SECONDS),
    workerMetricsPort: read(SETTINGS.WORKER_METRICS_PORT),
    workerMetricsHost: read(SETTINGS.WORKER_METRICS_HOST),
    temporalSdkMetricsPort: read(SETTINGS.TEMPORAL_SDK_METRICS_PORT),
    trustProxy: read(SETTINGS.TRUST_PROXY),
    rateLimits: {
      windowSeconds: read(SETTINGS.RATE_LIMIT_WINDOW_SECONDS),
      publicPagesPerIp: read(SETTINGS.RATE_LIMIT_PUBLIC_PAGES),
      authFailuresPerIp: read(SETTINGS.RATE_LIMIT_AUTH_FAILURES),
      requestsPerApiKey: read(SETTINGS.RATE_LIMIT_API_KEY),
      webhookResendsPerTenant: read(SETTINGS.RATE_LIMIT_WEBHOOK_RESENDS),
    },
    apiShutdown: { delaySeconds: read(SETTINGS.API_SHUTDOWN_DELAY_SECONDS), timeoutSeconds: read(SETTINGS.API_SHUTDOWN_TIMEOUT_SECONDS) },
    workerShutdownGraceSeconds: read(SETTINGS.WORKER_SHUTDOWN_GRACE_SECONDS),
    workerMaxCachedWorkflows: read(SETTINGS.WORKER_MAX_CACHED_WORKFLOWS),
  };
};

export const SANDBOX_CRM_SECTION: Section<SandboxCrmConfig> = (read) => ({
  port: read(SETTINGS.SANDBOX_CRM_PORT),
  host: read(SETTINGS.SANDBOX_CRM_HOST),
  verboseLogs: read(SETTINGS.SANDBOX_CRM_LOG) === 'debug',
});

export const START_SECTION: Section<StartConfig> = (read) => ({
  launchSandboxCrm: read(SETTINGS.SANDBOX_CRM) === 'on',
});

export const DEV_TOOLS_SECTION: Section<DevToolsConfig> = (read) => ({
  temporalCliPath: read(SETTINGS.TEMPORAL_CLI_PATH),
  cacheDir: read(SETTINGS.XDG_CACHE_HOME) ?? path.join(os.homedir(), '.cache'),
  searchPath: (read(SETTINGS.PATH) ?? '').split(path.delimiter).filter(Boolean),
});

export const BENCH_SECTION: Section<BenchConfig> = (read) => ({
  reauthorizationsAtConcurrency1: read(SETTINGS.BENCH_N1),
  reauthorizationsAtConcurrency20: read(SETTINGS.BENCH_N20),
  refreshFleetSize: read(SETTINGS.BENCH_FLEET),
});

export interface BenchFleetConfig {
  size: number;
  windowSeconds: number;
  /** Seconds from the start of seeding to the window; 0: the shortest the seeding allows. */
  tokenLifetimeSeconds: number;
}

export const BENCH_FLEET_SECTION: Section<BenchFleetConfig> = (read) => ({
  size: read(SETTINGS.BENCH_FLEET_SIZE),
  windowSeconds: read(SETTINGS.BENCH_FLEET_WINDOW_SECONDS),
  tokenLifetimeSeconds: read(SETTINGS.BENCH_FLEET_TOKEN_LIFETIME_SECONDS),
});

export interface ChaosConfig {
  operations: number;
  seed: number | undefined;
  concurrency: number;
}

export const CHAOS_SECTION: Section<ChaosConfig> = (read) => ({
  operations: read(SETTINGS.CHAOS_OPERATIONS),
  seed: read(SETTINGS.CHAOS_SEED),
  concurrency: read(SETTINGS.CHAOS_CONCURRENCY),
});

/** Validates the API's and worker's settings; throws a ConfigError listing every problem. */
export function parseAppConfig(env: Env): AppConfig {
  return parseSections({ app: APP_SECTION }, env).app;
}

/**
 * Reads the sections a process needs, all problems checked together. On a problem it prints
 * them and ends the process: a process with a wrong setting must not start, and a stack trace
 * would only hide the message.
 */
export function loadSections<S extends Record<string, Section<unknown>>>(sections: S, env: Env = process.env): SectionValues<S> {
  try {
    return parseSections(sections, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/** The API's and worker's settings, validated at start (see loadSections). */
export function loadConfig(env: Env = process.env): AppConfig {
  return loadSections({ app: APP_SECTION }, env).app;
}

export function loadSandboxCrmConfig(env: Env = process.env): SandboxCrmConfig {
  return loadSections({ sandboxCrm: SANDBOX_CRM_SECTION }, env).sandboxCrm;
}

export function loadDevToolsConfig(env: Env = process.env): DevToolsConfig {
  return loadSections({ devTools: DEV_TOOLS_SECTION }, env).devTools;
}

export { ConfigError } from './schema';
export type { Env } from './schema';
