/**
 * Background CRM calls (refreshes, health checks) of a catalog CRM run on a task queue of their
 * own, `<task queue>.crm.<provider>`, whose workers cap how many of them start per second across
 * the whole deployment (Temporal enforces `maxTaskQueueActivitiesPerSecond` on the server, for
 * every worker of the queue together). So a fleet whose tokens expire together never floods one
 * CRM, and a slow CRM does not hold back the others. Custom providers share the main queue.
 */

/** Background CRM calls per second per catalog CRM, unless `CRM_CALLS_PER_SECOND` says otherwise. */
export const DEFAULT_CRM_CALLS_PER_SECOND: Readonly<Record<string, number>> = {
  // HubSpot allows an OAuth app 110 requests per 10 s per account; this stays under it even if
  // every call went to one account.
  hubspot: 10,
  // Salesforce counts API requests per org per 24 h, with no per-second cap.
  salesforce: 25,
  // Pipedrive: a token budget per company per 2 s window (80 on the smallest plan).
  pipedrive: 20,
  // Zoho: concurrency-limited (10 to 25 calls in flight per org by edition); stay well below.
  zoho: 8,
  sandbox: 100,
};

export function crmTaskQueue(taskQueue: string, provider: string): string {
  return `${taskQueue}.crm.${provider}`;
}

/** The rates in effect: the defaults, with `CRM_CALLS_PER_SECOND`'s entries over them. */
export function crmCallRates(overrides: Readonly<Record<string, number>>): Record<string, number> {
  return { ...DEFAULT_CRM_CALLS_PER_SECOND, ...overrides };
}
