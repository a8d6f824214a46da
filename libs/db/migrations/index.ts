import { Initial1795445498242 } from './1795445498242-initial';
import { OauthAttempts1795450000000 } from './1795450000000-oauth-attempts';
import { Alerts1795480000000 } from './1795480000000-alerts';
import { ApiKeyLifecycle1795490000000 } from './1795490000000-api-key-lifecycle';
import { AuditActors1795500000000 } from './1795500000000-audit-actors';
import { RefreshTokenExpiry1795530000000 } from './1795530000000-refresh-token-expiry';
import { Webhooks1795460000000 } from './1795460000000-webhooks';
import { Resync1795470000000 } from './1795470000000-resync';
import { WebhookResends1795520000000 } from './1795520000000-webhook-resends';

/** Ordered list of migrations; run automatically at start by API and worker (under an advisory lock). */
export const MIGRATIONS = [Initial1795445498242, OauthAttempts1795450000000, Webhooks1795460000000, Resync1795470000000, Alerts1795480000000, ApiKeyLifecycle1795490000000, AuditActors1795500000000, WebhookResends1795520000000, RefreshTokenExpiry1795530000000];
