// The console's state, all in one place: the other modules keep none of their own between calls.
// Plain data and a few functions; no framework, no reactivity (each view paints what it changed).

/** Set before leaving for the CRM's consent page: the OAuth result page then offers the way back. */
export const RETURN_KEY = 'reauth-console:return';
/** The reauthorization last started from this tab, per integration (its progress stays visible). */
export const TRACK_PREFIX = 'reauth-console:track:';

/** How often a running reauthorization / re-sync is polled, and how often lists and alerts refresh. */
export const POLL_MS = 1000;
export const REFRESH_MS = 4000;

export const store = {
  /** Provider catalogue by key, loaded once (`providers.js`). */
  providers: new Map(),
  /** Integration id → display name, for the alert bar. */
  names: new Map(),
  /**
   * The integration page: what it shows and polls, set anew on every visit (`integration-page.js`):
   * { token, integration, reauthId, reauth, reauthSignature, resyncId, resync, latestResyncLooked, els }.
   */
  detail: null,
  /** The re-authorize dialog: the button that opened it (focus returns there) and whether it is verifying. */
  dialog: { opener: null, busy: false },
};

// Views. Each navigation starts a new view with a new token; timers of the previous view are
// cleared, and answers that arrive late for it are dropped (`isCurrent(token)` is false).
let viewToken = 0;
const timers = new Set();

function stopTimers() {
  for (const t of timers) clearTimeout(t);
  timers.clear();
}

/** Ends the current view (its timers stop) and returns the new view's token. */
export function beginView() {
  stopTimers();
  viewToken += 1;
  return viewToken;
}

export function isCurrent(token) {
  return token === viewToken;
}

/** Runs `fn` after `ms`, unless the view `token` belongs to has ended by then. */
export function schedule(token, fn, ms) {
  const t = setTimeout(() => {
    timers.delete(t);
    if (token === viewToken) fn();
  }, ms);
  timers.add(t);
}

/** This tab's sessionStorage, or null where storage is disabled (the console then just forgets). */
export function tabStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
