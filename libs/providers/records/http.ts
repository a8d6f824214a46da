import type { EgressPolicy } from '../../http/egress-policy';
import { CrmError, MAX_RETRY_AFTER_SECONDS, parseRetryAfter, requestFailure } from '../errors';

/** Largest record page read (a page of 200 rich records fits many times over). */
const MAX_PAGE_BYTES = 8 * 1024 * 1024;

export interface CrmAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null (empty or not JSON). */
  body: unknown;
}

/**
 * One GET of a record page through the egress policy. Network failures and refusals become
 * classified `CrmError`s (messages ours, never the URL or a body); any HTTP status is returned for
 * the adapter to classify in its CRM's own terms.
 */
export async function getPage(
  egress: EgressPolicy,
  url: URL,
  headers: Record<string, string>,
  opts: { timeoutMs?: number; signal?: AbortSignal },
): Promise<CrmAnswer> {
  let res: Response;
  let text: string;
  try {
    res = await egress.fetch(url, { headers: { accept: 'application/json', ...headers }, timeoutMs: opts.timeoutMs ?? 30_000, maxBytes: MAX_PAGE_BYTES, signal: opts.signal });
    text = await res.text();
  } catch (err) {
    throw requestFailure(err, 'API URL');
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: res.status, headers: res.headers, body };
}

/** How an adapter reads one CRM's failure: is it an auth failure, a rate limit, and how long to wait. */
export interface FailureReading {
  /** The credentials were refused: re-authorize (or refresh once, then re-authorize). */
  auth?: boolean;
  /** The CRM says "slow down": transient, with the wait the CRM asked for (seconds) when it says. */
  rateLimited?: boolean;
  waitSeconds?: number;
  /** A short code of the CRM's own vocabulary (`INVALID_SESSION_ID`, `RATE_LIMIT`…), for our message; never its free text. */
  code?: string;
}

/** Codes the adapters name in messages: uppercase/underscore words of at most 64 characters. */
export function safeCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(value) ? value : undefined;
}

/**
 * Turns a non-2xx answer into the one classification every adapter shares: auth → `invalid_credentials`
 * (re-authorize), rate limit / 5xx / 408 → `transient` (retried, waiting as asked), any other 4xx →
 * `bad_response` (not retried). The adapter's reading decides auth and rate limits in its CRM's terms.
 */
export function classifyAnswer(crm: string, answer: CrmAnswer, reading: FailureReading): CrmError {
  const { status } = answer;
  const code = reading.code ? `, ${reading.code}` : '';
  const retryAfter = parseRetryAfter(answer.headers.get('retry-after'));
  if (reading.auth) return new CrmError('invalid_credentials', `${crm} refused the credentials (HTTP ${status}${code})`, status);
  if (reading.rateLimited || status === 429) {
    const wait = reading.waitSeconds ?? retryAfter;
    return new CrmError('transient', `${crm} rate limit reached (HTTP ${status}${code})`, status, wait === undefined ? undefined : capWait(wait));
  }
  if (status === 408 || status === 425 || status >= 500) return new CrmError('transient', `${crm} answered ${status}${code}`, status, retryAfter);
  return new CrmError('bad_response', `${crm} answered ${status}${code}`, status);
}

export function capWait(seconds: number): number {
  return Math.min(Math.max(0, Math.ceil(seconds)), MAX_RETRY_AFTER_SECONDS);
}

/** A non-negative number header, or undefined. */
export function numberHeader(headers: Headers, name: string): number | undefined {
  const v = headers.get(name);
  if (v === null || !/^\s*\d+(\.\d+)?\s*$/.test(v)) return undefined;
  return Number(v);
}

/** A CRM timestamp as an ISO string, or null when it is not one. */
export function isoTime(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  // Pipedrive: `2024-01-31 10:20:30` (UTC); Salesforce: `…+0000`; Zoho: `…+05:30`.
  const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value) ? `${value.replace(' ', 'T')}Z` : value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** A record id as a CRM answers it (string or number), or null. */
export function recordIdOf(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,128}$/.test(value)) return value;
  return null;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A page cursor we issued ourselves: JSON, so each adapter keeps what it needs to resume. */
export function encodeCursor(value: Record<string, unknown>): string {
  return JSON.stringify(value);
}

export function decodeCursor(cursor: string | null): Record<string, unknown> | null {
  if (cursor === null) return null;
  try {
    const v = JSON.parse(cursor) as unknown;
    if (isObject(v)) return v;
  } catch {
    // fall through
  }
  throw new CrmError('bad_response', 'the stored re-sync cursor is not one of ours');
}
