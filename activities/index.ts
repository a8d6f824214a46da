import type { INestApplicationContext } from '@nestjs/common';
import { ApplicationFailure } from '@temporalio/common';
import { QueryFailedError } from 'typeorm';
import type { Activities } from '../workflows/activity-types';
import { CredentialsActivities } from './credentials.activities';
import { CrmActivities } from './crm.activities';
import { OAuthActivities } from './oauth.activities';
import { ReauthorizationActivities } from './reauthorization.activities';
import { RefreshActivities } from './refresh.activities';
import { ResyncActivities } from './resync.activities';
import { WebhooksActivities } from './webhooks.activities';

export { CredentialsActivities, CrmActivities, OAuthActivities, ReauthorizationActivities, RefreshActivities, WebhooksActivities, ResyncActivities };
export const ACTIVITY_PROVIDERS = [CredentialsActivities, CrmActivities, OAuthActivities, ReauthorizationActivities, RefreshActivities, WebhooksActivities, ResyncActivities];

/**
 * Postgres rejecting the data itself (SQLSTATE class 22, data exception) will reject it again on
 * every retry: fail the activity for good instead of retrying forever. Connection and serialization
 * problems stay retryable.
 */
export function classifyDatabaseError(err: unknown): unknown {
  if (err instanceof QueryFailedError) {
    const code = (err.driverError as { code?: string } | undefined)?.code ?? '';
    if (code.startsWith('22')) {
      return ApplicationFailure.create({ type: 'invalid_data', message: `the database refused the data (SQLSTATE ${code})`, nonRetryable: true });
    }
  }
  return err;
}

function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  };
}

/** Collects the DI-built activity classes into the flat object a Temporal worker registers. */
export function collectActivities(app: INestApplicationContext): Activities {
  return Object.fromEntries(Object.entries(rawActivities(app)).map(([k, fn]) => [k, guarded(fn as never)])) as unknown as Activities;
}

function rawActivities(app: INestApplicationContext): Activities {
  const credentials = app.get(CredentialsActivities);
  const crm = app.get(CrmActivities);
  const oauth = app.get(OAuthActivities);
  const reauth = app.get(ReauthorizationActivities);
  const refresh = app.get(RefreshActivities);
  const resync = app.get(ResyncActivities);
  const webhooks = app.get(WebhooksActivities);
  return {
    credentialsChanged: refresh.credentialsChanged.bind(refresh),
    loadRefreshPlan: refresh.loadRefreshPlan.bind(refresh),
    refreshCredentials: refresh.refreshCredentials.bind(refresh),
    checkCredentialHealth: refresh.checkCredentialHealth.bind(refresh),
    setIntegrationStatus: refresh.setIntegrationStatus.bind(refresh),
    beginReauthorization: reauth.beginReauthorization.bind(reauth),
    recordReauthorizationProgress: reauth.recordReauthorizationProgress.bind(reauth),
    validateApiToken: crm.validateApiToken.bind(crm),
    validateInitialCredentials: crm.validateInitialCredentials.bind(crm),
    swapCredentials: credentials.swapCredentials.bind(credentials),
    createIntegrationWithCredentials: credentials.createIntegrationWithCredentials.bind(credentials),
    prepareAuthorizationAttempt: oauth.prepareAuthorizationAttempt.bind(oauth),
    exchangeAuthorizationCode: oauth.exchangeAuthorizationCode.bind(oauth),
    validatePendingCredentials: oauth.validatePendingCredentials.bind(oauth),
    recordWebhookEvent: webhooks.recordWebhookEvent.bind(webhooks),
    deliverWebhook: webhooks.deliverWebhook.bind(webhooks),
    markWebhookDeliveryFailed: webhooks.markWebhookDeliveryFailed.bind(webhooks),
    beginResync: resync.beginResync.bind(resync),
    markResyncEntityRunning: resync.markResyncEntityRunning.bind(resync),
    importEntity: resync.importEntity.bind(resync),
    finishResyncEntity: resync.finishResyncEntity.bind(resync),
    completeResync: resync.completeResync.bind(resync),
    startResync: resync.startResync.bind(resync),
  };
}
