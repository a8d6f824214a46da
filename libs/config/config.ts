import * as path from 'node:path';

/**
 * All runtime settings come from environment variables so that `npm start` (embedded defaults)
 * and a real deployment (`start:api`, `start:worker` against external services) share one code
 * path. The README's configuration table mirrors this file.
 */
export interface AppConfig {
  dataDir: string;
  apiPort: number;
  apiHost: string;
  publicUrl: string;
  databaseUrl?: string;
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
  logLevel: string;
  reauthDefaultExpirySeconds: number;
  /** `sandbox`: catalog providers point at the sandbox CRM; `production`: at the real CRMs. */
  crmMode: 'sandbox' | 'production';
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
  /** How often credentials that do not expire (API tokens) are checked with who-am-I. */
  healthCheckIntervalSeconds: number;
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function str(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function loadConfig(): AppConfig {
  const apiPort = int('PORT', 3000);
  const sandboxCrmPort = int('SANDBOX_CRM_PORT', 4010);
  return {
    dataDir: path.resolve(str('DATA_DIR') ?? '.data'),
    apiPort,
    apiHost: str('HOST') ?? '127.0.0.1',
    publicUrl: (str('PUBLIC_URL') ?? `http://localhost:${apiPort}`).replace(/\/$/, ''),
    databaseUrl: str('DATABASE_URL'),
    embeddedPostgresPort: int('EMBEDDED_POSTGRES_PORT', 5433),
    temporalAddress: str('TEMPORAL_ADDRESS'),
    temporalPort: int('TEMPORAL_PORT', 7233),
    temporalUiPort: int('TEMPORAL_UI_PORT', 8233),
    temporalNamespace: str('TEMPORAL_NAMESPACE') ?? 'default',
    taskQueue: str('TEMPORAL_TASK_QUEUE') ?? 'reauth-engine',
    sandboxCrmPort,
    sandboxCrmUrl: (str('SANDBOX_CRM_URL') ?? `http://127.0.0.1:${sandboxCrmPort}`).replace(/\/$/, ''),
    credentialsKeys: str('CREDENTIALS_KEYS'),
    payloadCodecKeys: str('PAYLOAD_CODEC_KEYS'),
    bootstrapApiKeys: str('BOOTSTRAP_API_KEYS'),
    logLevel: str('LOG_LEVEL') ?? 'info',
    reauthDefaultExpirySeconds: int('REAUTH_DEFAULT_EXPIRY_SECONDS', 72 * 3600),
    crmMode: str('CRM_MODE') === 'production' ? 'production' : 'sandbox',
    resyncDelegateTimeoutSeconds: Math.max(1, int('RESYNC_DELEGATE_TIMEOUT_SECONDS', 86_400)),
    webhookRetryInitialSeconds: Math.max(1, int('WEBHOOK_RETRY_INITIAL_SECONDS', 5)),
    webhookRetryWindowSeconds: Math.max(1, int('WEBHOOK_RETRY_WINDOW_SECONDS', 24 * 3600)),
    refreshMarginSeconds: int('REFRESH_MARGIN_SECONDS', 300),
    refreshJitterSeconds: int('REFRESH_JITTER_SECONDS', 30),
    healthCheckIntervalSeconds: int('HEALTH_CHECK_INTERVAL_SECONDS', 3600),
  };
}
