// The console's API client. The API key lives in this tab's sessionStorage only and travels in the
// Authorization header: never in a URL, a cookie or a log line.
const KEY = 'reauth-console:api-key';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get key() {
    try {
      return sessionStorage.getItem(KEY);
    } catch {
      return null;
    }
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** Listeners told when the API refuses the key (expired, revoked): the console signs out. */
const unauthorizedListeners = new Set();
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
}

export async function api(method, path, body, { key = session.key } = {}) {
  // Labels the console's actions in the audit trail (who: this API key, through the console); grants nothing.
  const headers = { accept: 'application/json', 'x-reauth-client': 'console' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'network_error', 'The API could not be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (a proxy's error page): fall back to the status below
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    const error = new ApiError(res.status, err.code || `http_${res.status}`, err.message || `The request failed (HTTP ${res.status}).`);
    if (res.status === 401 && key === session.key) for (const fn of unauthorizedListeners) fn(error);
    throw error;
  }
  return data;
}
