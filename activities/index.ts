import { createCredentialsActivities } from './credentials.activities';
import { createCrmActivities } from './crm.activities';
import type { ActivityDeps } from './deps';
import { createGrantActivities } from './grants.activities';
import { createLifecycleActivities } from './lifecycle.activities';
import { createOAuthActivities } from './oauth.activities';
import { createReauthorizationActivities } from './reauthorization.activities';
import { createRefreshActivities } from './refresh.activities';
import { createResyncActivities } from './resync.activities';
import { createWebhooksActivities } from './webhooks.activities';

export type { ActivityDeps, ActivityLogger } from './deps';
export { activityInterceptors, classifyDatabaseError } from './interceptors';

/**
 * Every activity the worker registers, by the name workflows call it with (recorded in workflow
 * histories: renaming one breaks running workflows). Built from plain dependencies, so the
 * worker, a test or a replay harness can build them the same way.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRefreshActivities(deps),
    ...createReauthorizationActivities(deps),
    ...createCrmActivities(deps),
    ...createCredentialsActivities(deps),
    ...createOAuthActivities(deps),
    ...createWebhooksActivities(deps),
    ...createResyncActivities(deps),
    ...createLifecycleActivities(deps),
    ...createGrantActivities(deps),
  };
}

/** The activity contract as workflows see it (`proxyActivities<Activities>`); import it with `import type`. */
export type Activities = ReturnType<typeof createActivities>;
