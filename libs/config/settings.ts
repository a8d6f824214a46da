/**
 * Every environment variable the engine, the sandbox CRM and the scripts read: name, accepted
 * form, default and meaning. The README's configuration table is generated from this catalogue
 * (`node dist/scripts/settings-table.js --write`) and a unit test keeps the two in step.
 */
import { bootstrapApiKeys, hostAndPort, httpUrl, integer, keyRingSpec, name, oneOf, originList, port, postgresUrl, ratesPerKey, secretKeyList, secretToken, text } from './kinds';
import { EGRESS_ALLOWLIST_FORM, parseEgressAllowlist, type EgressAllowlist } from '../http/egress-allowlist';
import { DEFAULT_CRM_CALLS_PER_SECOND } from '../temporal/crm-task-queues';
import { optionalSetting, setting, type Kind, type Setting } from './schema';
import { parseTrustProxy, TRUST_PROXY_FORM, type TrustProxy } from './trust-proxy';

/** pino's level names (`silent` turns logging off). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export const CRM_MODES = ['sandbox', 'production'] as const;
export type CrmMode = (typeof CRM_MODES)[number];

const seconds = (min: number) => integer({ min });

/** EGRESS_ALLOWLIST's entries, parsed strictly by the egress policy's own parser (its message names the bad entry). */
const egressAllowlist: Kind<EgressAllowlist> = { accepted: EGRESS_ALLOWLIST_FORM, parse: parseEgressAllowlist };

const trustProxy: Kind<TrustProxy> = { accepted: TRUST_PROXY_FORM, parse: parseTrustProxy };

/** A request budget per rate-limit window; 0 turns that limit off. */
const requestBudget = () => integer({ min: 0 });

export const SETTINGS = {
  // API and worker
  PORT: setting(port(), { name: 'PORT', fallback: 3000, description: 'API listen port' }),
  HOST: setting(name('a host name or IP address'), { name: 'HOST', fallback: '127.0.0.1', description: 'API listen address' }),
  PUBLIC_URL: optionalSetting(httpUrl('https://reauth.example.com'), {
    name: 'PUBLIC_URL',
    defaultText: '`http://localhost:$PORT`',
    description: 'base of links handed to people (`linkUrl`, OAuth redirect)',
  }),
  DATABASE_URL: optionalSetting(postgresUrl(), {
    name: 'DATABASE_URL',
    defaultText: 'embedded Postgres',
    description: 'Postgres connection string; unset: `npm start` runs embedded Postgres under `.data/postgres` (API and worker need it set)',
  }),
  DATABASE_POOL_SIZE: setting(integer({ min: 1, max: 1000 }), {
    name: 'DATABASE_POOL_SIZE',
    fallback: 10,
    description: 'Postgres connections each API and worker process may hold at once (a deployment sizes it so that all processes together stay under the server\'s `max_connections`)',
  }),
  EMBEDDED_POSTGRES_PORT: setting(port(), { name: 'EMBEDDED_POSTGRES_PORT', fallback: 5433, description: 'port of the embedded Postgres of `npm start`' }),
  TEMPORAL_ADDRESS: optionalSetting(hostAndPort('temporal:7233'), {
    name: 'TEMPORAL_ADDRESS',
    defaultText: 'dev server',
    description: 'Temporal cluster to use; set means: `npm start` starts no dev server. Unset: `127.0.0.1:$TEMPORAL_PORT`',
  }),
  TEMPORAL_PORT: setting(port(), { name: 'TEMPORAL_PORT', fallback: 7233, description: 'port of the Temporal dev server' }),
  TEMPORAL_UI_PORT: setting(port(), {
    name: 'TEMPORAL_UI_PORT',
    fallback: 8233,
    description: 'port of the dev server UI (its origin may call `/codec/*` unless `CODEC_CORS_ORIGINS` is set)',
  }),
  TEMPORAL_NAMESPACE: setting(name('a Temporal namespace name'), { name: 'TEMPORAL_NAMESPACE', fallback: 'default', description: 'Temporal namespace' }),
  TEMPORAL_TASK_QUEUE: setting(name('a task queue name'), { name: 'TEMPORAL_TASK_QUEUE', fallback: 'reauth-engine', description: 'task queue of the worker' }),
  SANDBOX_CRM_PORT: setting(port({ allowZero: true }), { name: 'SANDBOX_CRM_PORT', fallback: 4010, description: 'sandbox CRM listen port' }),
  SANDBOX_CRM_URL: optionalSetting(httpUrl('http://127.0.0.1:4010'), {
    name: 'SANDBOX_CRM_URL',
    defaultText: '`http://127.0.0.1:$SANDBOX_CRM_PORT`',
    description: 'base URL of the sandbox CRM as providers reach it',
  }),
  CREDENTIALS_KEYS: optionalSetting(keyRingSpec(), {
    name: 'CREDENTIALS_KEYS',
    defaultText: 'generated into `.data/dev-keys.json`',
    description: 'AES-256 keys for credentials at rest; the first encrypts, all decrypt',
  }),
  PAYLOAD_CODEC_KEYS: optionalSetting(keyRingSpec(), {
    name: 'PAYLOAD_CODEC_KEYS',
    defaultText: 'generated into `.data/dev-keys.json`',
    description: 'same format, for the Temporal payload codec; API and worker must share it',
  }),
  BOOTSTRAP_API_KEYS: optionalSetting(bootstrapApiKeys(), {
    name: 'BOOTSTRAP_API_KEYS',
    defaultText: 'dev key',
    description: 'tenants and API keys created at start; unset, `npm start` creates a dev key and writes it to `.data/dev-api-key`',
  }),
  TEMPORAL_API_KEY: optionalSetting(secretToken('a Temporal Cloud API key'), {
    name: 'TEMPORAL_API_KEY',
    defaultText: 'none: plain connection',
    description: 'API key of the Temporal namespace (Temporal Cloud); set, the API and the worker connect over TLS and send it with every call',
  }),
  OPERATOR_API_KEYS: optionalSetting(secretKeyList(), {
    name: 'OPERATOR_API_KEYS',
    defaultText: 'none (`npm start`: dev key)',
    description:
      'keys of operators (never tenants) for the payload codec `/codec/*` of the Temporal CLI and UI, which decodes every tenant\'s history (credentials redacted); tenant API keys get 403. Unset, `npm start` creates one and writes it to `.data/dev-operator-key`',
  }),
  CODEC_CORS_ORIGINS: optionalSetting(originList('https://temporal-ui.example.com'), {
    name: 'CODEC_CORS_ORIGINS',
    defaultText: '`http://localhost:$TEMPORAL_UI_PORT`, `http://127.0.0.1:$TEMPORAL_UI_PORT`',
    description: 'browser origins (the Temporal UI) that may call `/codec/*`',
  }),
  CODEC_OIDC_ISSUER: optionalSetting(httpUrl('https://login.example.com'), {
    name: 'CODEC_OIDC_ISSUER',
    defaultText: 'none',
    description:
      '`/codec/*` also accepts JWT access tokens (RFC 9068) from this OpenID Connect issuer: the Temporal UI\'s "pass access token" option; needs `CODEC_OIDC_AUDIENCE`',
  }),
  CODEC_OIDC_AUDIENCE: optionalSetting(name('an audience identifier'), {
    name: 'CODEC_OIDC_AUDIENCE',
    defaultText: 'none',
    description: 'the `aud` those access tokens must carry',
  }),
  CRM_MODE: setting(oneOf(CRM_MODES), {
    name: 'CRM_MODE',
    fallback: 'sandbox' as CrmMode,
    description: "`sandbox`: catalog providers (HubSpot, Salesforce, Pipedrive, Zoho) point at the sandbox CRM's emulation; `production`: at the real CRMs",
  }),
  EGRESS_ALLOWLIST: setting(egressAllowlist, {
    name: 'EGRESS_ALLOWLIST',
    fallback: [] as EgressAllowlist,
    defaultText: 'empty (no exception)',
    description:
      'the only non-public destinations that requests to tenant- or CRM-supplied URLs (CRM APIs, webhooks) may reach: a URL whose host (and port, when the entry has one) is listed, or whose address is inside a listed CIDR',
  }),
  REFRESH_MARGIN_SECONDS: setting(seconds(0), {
    name: 'REFRESH_MARGIN_SECONDS',
    fallback: 300,
    description: 'refresh this long before expiry (a fifth of the lifetime for short-lived tokens)',
  }),
  REFRESH_JITTER_SECONDS: setting(seconds(0), {
    name: 'REFRESH_JITTER_SECONDS',
    fallback: 30,
    description: 'random spread added to refresh times so a fleet does not refresh in one burst',
  }),
  CRM_CALLS_PER_SECOND: setting(ratesPerKey('hubspot=10,zoho=8'), {
    name: 'CRM_CALLS_PER_SECOND',
    fallback: {},
    defaultText: Object.entries(DEFAULT_CRM_CALLS_PER_SECOND).map(([k, v]) => `${k}=${v}`).join(', '),
    description: 'most refreshes and health checks started per second per catalog CRM, across all workers (listed CRMs override the defaults)',
  }),
  REFRESH_SPREAD_PERCENT: setting(integer({ min: 0, max: 50 }), {
    name: 'REFRESH_SPREAD_PERCENT',
    fallback: 25,
    description:
      'refreshes fall at random within this share of a token’s lifetime before the margin (when wider than the jitter), so a fleet connected together, whose tokens expire together, refreshes over minutes rather than in one burst (0: only the jitter)',
  }),
  HEALTH_CHECK_INTERVAL_SECONDS: setting(seconds(1), {
    name: 'HEALTH_CHECK_INTERVAL_SECONDS',
    fallback: 3600,
    description: 'who-am-I check interval for credentials that do not expire',
  }),
  REAUTH_RECOMMENDED_BEFORE_SECONDS: setting(seconds(1), {
    name: 'REAUTH_RECOMMENDED_BEFORE_SECONDS',
    fallback: 7 * 24 * 3600,
    defaultText: '`604800` (7 days)',
    description:
      'how long before a refresh token expires by itself (idle window or CRM policy) the engine raises a warning alert and `integrated_account:reauthorization_recommended`',
  }),
  WEBHOOK_RETRY_INITIAL_SECONDS: setting(seconds(1), {
    name: 'WEBHOOK_RETRY_INITIAL_SECONDS',
    fallback: 5,
    description: 'first retry interval of a failed webhook delivery (doubling, max 1 h)',
  }),
  WEBHOOK_RETRY_WINDOW_SECONDS: setting(seconds(1), {
    name: 'WEBHOOK_RETRY_WINDOW_SECONDS',
    fallback: 24 * 3600,
    description: 'how long a webhook delivery is retried before it is marked `failed`',
  }),
  RESYNC_DELEGATE_TIMEOUT_SECONDS: setting(seconds(1), {
    name: 'RESYNC_DELEGATE_TIMEOUT_SECONDS',
    fallback: 24 * 3600,
    description: 'how long a delegated re-sync entity waits for its completion report when the request gives no `delegateTimeoutSeconds`',
  }),
  REAUTH_DEFAULT_EXPIRY_SECONDS: setting(seconds(1), {
    name: 'REAUTH_DEFAULT_EXPIRY_SECONDS',
    fallback: 72 * 3600,
    defaultText: '`259200` (72 h)',
    description: 'lifetime of a reauthorization link when the request gives no `expiresInSeconds`',
  }),
  TRUST_PROXY: setting(trustProxy, {
    name: 'TRUST_PROXY',
    fallback: false as TrustProxy,
    defaultText: '`off`',
    description:
      "the proxies in front of the API whose `X-Forwarded-For` names the client (Express's `trust proxy`); the client address is what the per-IP rate limits count. `off`: the TCP peer is the client",
  }),
  RATE_LIMIT_WINDOW_SECONDS: setting(seconds(1), {
    name: 'RATE_LIMIT_WINDOW_SECONDS',
    fallback: 60,
    description: 'the window of every rate limit below; a client over a limit gets 429 with `Retry-After` for the rest of one window',
  }),
  RATE_LIMIT_PUBLIC_PAGES: setting(requestBudget(), {
    name: 'RATE_LIMIT_PUBLIC_PAGES',
    fallback: 300,
    description: 'requests per window and client IP to the public pages `/connect/*`, `/oauth/callback`, `/sdk/*` (0: no limit)',
  }),
  RATE_LIMIT_AUTH_FAILURES: setting(requestBudget(), {
    name: 'RATE_LIMIT_AUTH_FAILURES',
    fallback: 300,
    description: 'requests with a missing or wrong API key (or, on `/codec/*`, operator credential) per window and client IP; requests with a valid key are never counted or refused by it (0: no limit)',
  }),
  RATE_LIMIT_API_KEY: setting(requestBudget(), {
    name: 'RATE_LIMIT_API_KEY',
    fallback: 1200,
    description: 'requests per window and API key to `/v1` (0: no limit)',
  }),
  RATE_LIMIT_WEBHOOK_RESENDS: setting(requestBudget(), {
    name: 'RATE_LIMIT_WEBHOOK_RESENDS',
    fallback: 60,
    description: 'webhook redelivery and replay requests per window and tenant, on top of the per-key limit (0: no limit)',
  }),
  WORKER_METRICS_PORT: setting(port({ zeroTurnsOff: true }), {
    name: 'WORKER_METRICS_PORT',
    fallback: 9464,
    description: "the worker's Prometheus `/metrics` listener: business counters of the activities, Node runtime metrics and the Temporal SDK's worker metrics",
  }),
  WORKER_METRICS_HOST: setting(name('a host name or IP address'), {
    name: 'WORKER_METRICS_HOST',
    fallback: '127.0.0.1',
    description: "listen address of the worker's `/metrics` (`0.0.0.0` for a scraper on another host)",
  }),
  TEMPORAL_SDK_METRICS_PORT: setting(port({ zeroTurnsOff: true }), {
    name: 'TEMPORAL_SDK_METRICS_PORT',
    fallback: 9465,
    description: "loopback port of the Temporal SDK's own Prometheus exporter (polls, task latencies, slots); the worker's `/metrics` includes what it serves",
  }),
  API_SHUTDOWN_DELAY_SECONDS: setting(seconds(0), {
    name: 'API_SHUTDOWN_DELAY_SECONDS',
    fallback: 5,
    defaultText: '`5` (`0` under `npm start`)',
    description:
      'on SIGTERM/SIGINT the API first answers `/ready` with 503 and keeps serving for this long (time for a load balancer to take it out of rotation), then refuses new connections',
  }),
  API_SHUTDOWN_TIMEOUT_SECONDS: setting(seconds(1), {
    name: 'API_SHUTDOWN_TIMEOUT_SECONDS',
    fallback: 20,
    description: 'after that delay, how long requests in flight get to finish before their connections are cut and the API exits',
  }),
  WORKER_SHUTDOWN_GRACE_SECONDS: setting(seconds(0), {
    name: 'WORKER_SHUTDOWN_GRACE_SECONDS',
    fallback: 20,
    description:
      "on SIGTERM/SIGINT the worker stops polling and gives running activities this long to finish; then they are cancelled (Temporal retries them elsewhere) and after 5 s more the worker exits regardless",
  }),
  WORKER_MAX_CACHED_WORKFLOWS: optionalSetting(integer({ min: 0, max: 1_000_000 }), {
    name: 'WORKER_MAX_CACHED_WORKFLOWS',
    defaultText: "the Temporal SDK's, from the heap size (600 per GiB above 200 MiB: about 2,300 in Node's default 4 GiB heap)",
    description:
      'workflows the worker keeps in memory between their tasks (0: none); one not kept is replayed from its history when it wakes, so a worker that hosts many refresh workflows (one per integration) does less work with room for all of them',
  }),
  LOG_LEVEL: setting(oneOf(LOG_LEVELS), { name: 'LOG_LEVEL', fallback: 'info' as LogLevelName, description: 'pino log level' }),
  LOG_FORMAT: optionalSetting(oneOf(['json', 'pretty'] as const), {
    name: 'LOG_FORMAT',
    defaultText: '`json` (`pretty` under `npm start`)',
    description: 'log lines as JSON or coloured single lines',
  }),
  DATA_DIR: setting(text('a directory path'), { name: 'DATA_DIR', fallback: '.data', description: 'where dev state lives (embedded Postgres, dev keys, Temporal SQLite, logs)' }),

  // npm start
  SANDBOX_CRM: setting(oneOf(['on', 'off'] as const), {
    name: 'SANDBOX_CRM',
    fallback: 'on' as 'on' | 'off',
    description: '`off`: `npm start` does not start the sandbox CRM',
  }),

  // sandbox CRM (standalone: npm run start:sandbox-crm)
  SANDBOX_CRM_HOST: setting(name('a host name or IP address'), {
    name: 'SANDBOX_CRM_HOST',
    fallback: '127.0.0.1',
    description: 'sandbox CRM listen address (it has an unauthenticated admin API: keep it local)',
  }),
  SANDBOX_CRM_LOG: setting(oneOf(['quiet', 'debug'] as const), {
    name: 'SANDBOX_CRM_LOG',
    fallback: 'quiet' as 'quiet' | 'debug',
    description: 'sandbox CRM logging: `quiet` shows warnings and errors, `debug` everything',
  }),

  // Development tools: finding or building the Temporal CLI (npm start, npm test, npm run temporal:cli)
  TEMPORAL_CLI_PATH: optionalSetting(text('the path of an executable file'), {
    name: 'TEMPORAL_CLI_PATH',
    defaultText: 'found, built or downloaded',
    description:
      'the `temporal` binary to use for the dev server; unset: `PATH`, `.temporal/bin`, the user cache, else built with `go install`, else (no Go) downloaded by the Temporal SDK into the user cache',
  }),
  XDG_CACHE_HOME: optionalSetting(text('a directory path'), {
    name: 'XDG_CACHE_HOME',
    defaultText: '`~/.cache`',
    description: 'per-user cache; the Temporal CLI is kept under `reauth-engine/` in it',
  }),
  PATH: optionalSetting(text('directories separated by colons'), {
    name: 'PATH',
    defaultText: "the shell's",
    description: 'searched for `temporal` and `go`',
  }),

  // npm run bench
  BENCH_N1: setting(integer({ min: 1 }), { name: 'BENCH_N1', fallback: 30, description: '`npm run bench`: reauthorizations measured at concurrency 1' }),
  BENCH_N20: setting(integer({ min: 1 }), { name: 'BENCH_N20', fallback: 100, description: '`npm run bench`: reauthorizations measured at concurrency 20' }),
  BENCH_FLEET: setting(integer({ min: 1 }), { name: 'BENCH_FLEET', fallback: 40, description: '`npm run bench`: integrations in the refresh fleet' }),

  // npm run bench:fleet
  BENCH_FLEET_SIZE: setting(integer({ min: 1 }), {
    name: 'BENCH_FLEET_SIZE',
    fallback: 10_000,
    description: '`npm run bench:fleet`: OAuth integrations whose access tokens all expire inside one window',
  }),
  BENCH_FLEET_WINDOW_SECONDS: setting(integer({ min: 10 }), {
    name: 'BENCH_FLEET_WINDOW_SECONDS',
    fallback: 300,
    description: '`npm run bench:fleet`: length of that window (expiries spread evenly over it)',
  }),
  BENCH_FLEET_TOKEN_LIFETIME_SECONDS: setting(integer({ min: 0 }), {
    name: 'BENCH_FLEET_TOKEN_LIFETIME_SECONDS',
    fallback: 3600,
    description:
      '`npm run bench:fleet`: how long after seeding starts the window opens, i.e. the lifetime of the fleet’s first tokens (Pipedrive’s last an hour); 0: the shortest that still lets seeding end before the first refresh (a harder, quicker run: less lifetime to spread the refreshes over)',
  }),

  // npm run test:chaos
  CHAOS_OPERATIONS: setting(integer({ min: 4 }), {
    name: 'CHAOS_OPERATIONS',
    fallback: 200,
    description: '`npm run test:chaos`: operations run while processes are killed (also `--operations=N`)',
  }),
  CHAOS_SEED: optionalSetting(integer({ min: 0 }), {
    name: 'CHAOS_SEED',
    defaultText: 'random (printed)',
    description: '`npm run test:chaos`: seed of the kills, faults and operations, to repeat a run (also `--seed=N`)',
  }),
  CHAOS_CONCURRENCY: setting(integer({ min: 1 }), {
    name: 'CHAOS_CONCURRENCY',
    fallback: 20,
    description: '`npm run test:chaos`: operations in flight at once (also `--concurrency=N`)',
  }),
} satisfies Record<string, Setting<unknown>>;

/** The catalogue as a list, in the order of the README table. */
export const ALL_SETTINGS: readonly Setting<unknown>[] = Object.values(SETTINGS);
