import type { INestApplicationContext } from '@nestjs/common';
import type { Activities } from '../workflows/activity-types';
import { CredentialsActivities } from './credentials.activities';
import { CrmActivities } from './crm.activities';
import { OAuthActivities } from './oauth.activities';
import { ReauthorizationActivities } from './reauthorization.activities';

export { CredentialsActivities, CrmActivities, OAuthActivities, ReauthorizationActivities };
export const ACTIVITY_PROVIDERS = [CredentialsActivities, CrmActivities, OAuthActivities, ReauthorizationActivities];

/** Collects the DI-built activity classes into the flat object a Temporal worker registers. */
export function collectActivities(app: INestApplicationContext): Activities {
  const credentials = app.get(CredentialsActivities);
  const crm = app.get(CrmActivities);
  const oauth = app.get(OAuthActivities);
  const reauth = app.get(ReauthorizationActivities);
  return {
    beginReauthorization: reauth.beginReauthorization.bind(reauth),
    recordReauthorizationProgress: reauth.recordReauthorizationProgress.bind(reauth),
    validateApiToken: crm.validateApiToken.bind(crm),
    validateInitialCredentials: crm.validateInitialCredentials.bind(crm),
    swapCredentials: credentials.swapCredentials.bind(credentials),
    createIntegrationWithCredentials: credentials.createIntegrationWithCredentials.bind(credentials),
    prepareAuthorizationAttempt: oauth.prepareAuthorizationAttempt.bind(oauth),
    exchangeAuthorizationCode: oauth.exchangeAuthorizationCode.bind(oauth),
    validatePendingCredentials: oauth.validatePendingCredentials.bind(oauth),
  };
}
