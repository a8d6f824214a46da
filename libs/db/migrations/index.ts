import { Initial1795445498242 } from './1795445498242-initial';
import { OauthAttempts1795450000000 } from './1795450000000-oauth-attempts';

/** Ordered list of migrations; run automatically at start by API and worker (under an advisory lock). */
export const MIGRATIONS = [Initial1795445498242, OauthAttempts1795450000000];
