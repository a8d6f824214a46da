/** Helpers for the full re-sync end-to-end tests: big sandbox accounts, request stats, waiting on re-syncs. */
import { api, type TestSystem } from './system';

const json = { 'content-type': 'application/json' };

async function sandbox<T = any>(sys: { sandboxUrl: string }, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sys.sandboxUrl}${path}`, { method, headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox ${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A sandbox CRM account seeded with this many records per entity type (up to 20,000 each). */
export async function sandboxAccountWithRecords(
  sys: { sandboxUrl: string },
  records: { contacts?: number; companies?: number; deals?: number },
  name = 'Bigco',
): Promise<{ accountId: string; userId: string; token: string }> {
  const body = await sandbox<{ account: { id: string }; user: { id: string }; token: string }>(sys, 'POST', '/admin/accounts', { name, records });
  return { accountId: body.account.id, userId: body.user.id, token: body.token };
}

/** Requests the sandbox served, keyed by `"METHOD /path"`. */
export async function sandboxStats(sys: { sandboxUrl: string }): Promise<Record<string, number>> {
  return (await sandbox<{ requests: Record<string, number> }>(sys, 'GET', '/admin/stats')).requests;
}

export async function resetSandboxStats(sys: { sandboxUrl: string }): Promise<void> {
  await sandbox(sys, 'DELETE', '/admin/stats');
}

export async function clearSandboxFaults(sys: { sandboxUrl: string }): Promise<void> {
  await sandbox(sys, 'DELETE', '/admin/faults');
}

/** Simulates an edit made inside the CRM. */
export async function patchSandboxRecord(sys: { sandboxUrl: string }, accountId: string, entity: string, recordId: string, fields: Record<string, unknown>) {
  return sandbox(sys, 'PATCH', `/admin/accounts/${accountId}/records/${entity}/${recordId}`, fields);
}

/** An integration of tenant A on the built-in `sandbox` provider, connected with `token`. */
export async function sandboxIntegration(sys: TestSystem, token: string, provider = 'sandbox') {
  const created = await api(sys, 'POST', '/v1/integrations', {
    key: sys.keyA,
    body: { provider, displayName: 'Bigco CRM', config: { syncContacts: true }, credentials: { apiToken: token } },
  });
  if (created.status !== 201) throw new Error(`create integration: ${created.status} ${created.text}`);
  return created.body;
}

/** Long-polls `GET /v1/resyncs/:id?waitSeconds=` until the re-sync is final. */
export async function waitResync(sys: TestSystem, id: string, timeoutMs = 90_000, key = sys.keyA) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(sys, 'GET', `/v1/resyncs/${id}?waitSeconds=20`, { key });
    if (r.status !== 200) throw new Error(`GET resync: ${r.status} ${r.text}`);
    if (r.body.status !== 'running') return r.body;
    if (Date.now() > deadline) throw new Error(`re-sync ${id} still running: ${JSON.stringify(r.body)}`);
  }
}

export async function recordCounts(sys: TestSystem, integrationId: string): Promise<Record<string, number>> {
  const r = await sys.pg.query('SELECT entity, count(*)::int AS n FROM crm_records WHERE integration_id = $1 GROUP BY entity', [integrationId]);
  return Object.fromEntries(r.rows.map((row: { entity: string; n: number }) => [row.entity, row.n]));
}

export function byEntity<T extends { entity: string }>(entities: T[]): Record<string, T> {
  return Object.fromEntries(entities.map((e) => [e.entity, e]));
}

/** One CRM request as the sandbox logged it (`GET /admin/stats/requests`). */
export interface LoggedRequest {
  at: string;
  method: string;
  path: string;
  query: string;
  status: number | null;
}

/** The sandbox's request log, in arrival order (only paths under `pathPrefix` when given). */
export async function sandboxRequestLog(sys: { sandboxUrl: string }, pathPrefix?: string): Promise<LoggedRequest[]> {
  const q = pathPrefix ? `?pathPrefix=${encodeURIComponent(pathPrefix)}` : '';
  return (await sandbox<{ requests: LoggedRequest[] }>(sys, 'GET', `/admin/stats/requests${q}`)).requests;
}

/** Arms a fault of a CRM shape's record API: its own 429 / refused-token / 5xx answer (see the sandbox's `/admin/record-api/faults`). */
export async function recordApiFault(
  sys: { sandboxUrl: string },
  fault: { shape: string; kind: 'rate_limit' | 'unauthorized' | 'server_error'; entity?: string; count?: number; afterRequests?: number; retryAfterSeconds?: number },
): Promise<void> {
  await sandbox(sys, 'POST', '/admin/record-api/faults', fault);
}

export async function clearRecordApiFaults(sys: { sandboxUrl: string }): Promise<void> {
  await sandbox(sys, 'DELETE', '/admin/record-api/faults');
}

/** A sandbox account with records (and a Zoho data center), as the OAuth shapes see it. */
export async function crmAccountWithRecords(
  sys: { sandboxUrl: string },
  name: string,
  records: { contacts?: number; companies?: number; deals?: number },
  region?: string,
): Promise<{ accountId: string; userId: string }> {
  const body = await sandbox<{ account: { id: string }; user: { id: string } }>(sys, 'POST', '/admin/accounts', { name, records, ...(region ? { region } : {}) });
  return { accountId: body.account.id, userId: body.user.id };
}

/** Starts a re-sync through the API and waits for its end. */
export async function runResync(sys: TestSystem, integrationId: string, body: Record<string, unknown>, timeoutMs = 120_000) {
  const started = await api(sys, 'POST', `/v1/integrations/${integrationId}/resyncs`, { key: sys.keyA, body });
  if (started.status !== 202) throw new Error(`start re-sync: ${started.status} ${started.text}`);
  return { id: started.body.id as string, done: await waitResync(sys, started.body.id, timeoutMs) };
}
