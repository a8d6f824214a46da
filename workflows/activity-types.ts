import type { EmitEventInput } from '../libs/domain/events';
import type { ResyncActivityTypes } from './resync-activity-types';
import type {
  AuthType,
  CrmIdentity,
  CredentialSecret,
  NewCredentials,
  ReauthError,
  ReauthorizationInput,
  ReauthOutcome,
  ReauthPhase,
} from '../libs/domain/reauthorization';
import type { StatusReason } from '../libs/domain/status';

/**
 * The activity contract as the workflows see it. Implementations live in `activities/` and are
 * wired with DI by the worker; workflows only import these types.
 */
export interface IntegrationSnapshot {
  integrationId: string;
  tenantId: string;
  provider: string;
  authType: AuthType;
  credentialVersion: number | null;
  accountId: string | null;
  /** Scopes the new credentials must hold: the integration's, the app's and this reauthorization's extra ones. */
  requiredScopes: string[];
}

/** Scheduling facts of an integration's credentials (no secret). */
export interface RefreshPlan {
  exists: boolean;
  tenantId: string;
  provider: string;
  authType: AuthType;
  status: string;
  statusReason: string | null;
  credentialVersion: number | null;
  expiresAt: string | null;
  issuedAt: string;
  refreshable: boolean;
  lastCheckedAt: string | null;
  marginSeconds: number;
  jitterSeconds: number;
  healthCheckIntervalSeconds: number;
}

export type RefreshResult =
  | { outcome: 'refreshed'; version: number; expiresAt: string | null }
  | { outcome: 'superseded' }
  | { outcome: 'healthy'; status: 'active' | 'pending'; reason: null }
  | { outcome: 'failed'; status: 'degraded' | 'blocked'; reason: StatusReason; detail: string };

export interface StatusChange {
  changed: boolean;
  previousStatus: string;
  superseded: boolean;
}

/** Retry settings of webhook deliveries, read from the worker's config (workflows cannot read env). */
export interface WebhookDeliverySettings {
  retryInitialSeconds: number;
  retryWindowSeconds: number;
}

export interface RecordedWebhookEvent {
  /** Endpoints with a delivery row for this event (subscribed when it was recorded). */
  endpointIds: string[];
  delivery: WebhookDeliverySettings;
}

export interface WebhookAttemptResult {
  statusCode: number;
  attempts: number;
}

export interface Activities extends ResyncActivityTypes {
  loadRefreshPlan(args: { integrationId: string }): Promise<RefreshPlan>;
  refreshCredentials(args: { integrationId: string; expectedVersion: number; refreshId: string }): Promise<RefreshResult>;
  checkCredentialHealth(args: { integrationId: string; expectedVersion: number }): Promise<RefreshResult>;
  setIntegrationStatus(args: {
    integrationId: string;
    expectedVersion: number;
    status: 'active' | 'degraded' | 'blocked';
    reason: StatusReason | null;
  }): Promise<StatusChange>;
  beginReauthorization(input: ReauthorizationInput & { expiresAt: string }): Promise<IntegrationSnapshot>;
  recordReauthorizationProgress(args: {
    reauthorizationId: string;
    phase: ReauthPhase;
    outcome?: ReauthOutcome | null;
    error?: ReauthError | null;
    attempts?: number;
    resyncId?: string;
  }): Promise<void>;
  /** New active credentials: (re)start the integration's token refresh / health-check workflow. */
  credentialsChanged(args: { tenantId: string; integrationId: string }): Promise<void>;
  validateApiToken(args: {
    tenantId: string;
    integrationId: string;
    provider: string;
    apiToken: string;
    expectedAccountId: string | null;
  }): Promise<CrmIdentity>;
  swapCredentials(args: {
    tenantId: string;
    integrationId: string;
    reauthorizationId: string;
    credentials?: NewCredentials;
    pendingCredentialId?: string;
    addRequiredScopes?: string[];
  }): Promise<{ version: number; alreadySwapped: boolean; previousStatus: string }>;
  prepareAuthorizationAttempt(args: { reauthorizationId: string; attempt: number }): Promise<{ attempt: number; stateHash: string }>;
  exchangeAuthorizationCode(args: {
    reauthorizationId: string;
    attempt: number;
    code: string;
    callbackParams: Record<string, string>;
  }): Promise<{ pendingCredentialId: string; grantedScopes: string[] | null; region: string | null }>;
  validatePendingCredentials(args: { pendingCredentialId: string; expectedAccountId: string | null; requiredScopes: string[] }): Promise<CrmIdentity>;
  createIntegrationWithCredentials(args: {
    integrationId: string;
    tenantId: string;
    provider: string;
    authType: AuthType;
    displayName: string;
    region: string | null;
    config: Record<string, unknown>;
    requiredScopes: string[];
    credentials: NewCredentials;
  }): Promise<{ version: number }>;
  validateInitialCredentials(args: {
    tenantId: string;
    provider: string;
    secret: CredentialSecret;
    region?: string | null;
  }): Promise<CrmIdentity>;
  /** Webhooks: store an emitted event and its pending deliveries (idempotent per event id). */
  recordWebhookEvent(args: EmitEventInput & { eventId: string }): Promise<RecordedWebhookEvent>;
  /** One signed delivery attempt; throws a retryable failure unless the receiver answered 2xx. */
  deliverWebhook(args: { eventId: string; endpointId: string }): Promise<WebhookAttemptResult>;
  markWebhookDeliveryFailed(args: { eventId: string; endpointId: string; reason: string }): Promise<void>;
}
