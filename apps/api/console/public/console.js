// Admin console: integrations, their status and alerts, re-authorization (dialog, magic link) and
// live progress of re-authorizations and re-syncs. Plain JS modules, no build step, no framework.
import { api, ApiError, onUnauthorized, session } from './api.js';
import { formatDate, formatNumber, h, humanize, relativeTime, replace, statusBadges } from './dom.js';

const main = document.getElementById('main');
const alertBar = document.getElementById('alert-bar');
const toastEl = document.getElementById('toast');

/** Set before leaving for the CRM's consent page: the OAuth result page then offers the way back. */
const RETURN_KEY = 'reauth-console:return';
/** The reauthorization last started from this tab, per integration (its progress stays visible). */
const TRACK_PREFIX = 'reauth-console:track:';

const POLL_MS = 1000;
const REFRESH_MS = 4000;

let providers = new Map();
const names = new Map(); // integration id → display name (for the alert bar)
let viewToken = 0;
const timers = new Set();

function schedule(token, fn, ms) {
  const t = setTimeout(() => {
    timers.delete(t);
    if (token === viewToken) fn();
  }, ms);
  timers.add(t);
}

function stopTimers() {
  for (const t of timers) clearTimeout(t);
  timers.clear();
}

function store() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function toast(message) {
  toastEl.textContent = message;
  toastEl.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    toastEl.hidden = true;
  }, 5000);
}

function providerName(key) {
  return providers.get(key)?.name ?? key;
}

async function loadProviders() {
  if (providers.size) return;
  const { data } = await api('GET', '/v1/providers');
  providers = new Map(data.map((p) => [p.key, p]));
}

function authLabel(authType) {
  return authType === 'oauth2' ? 'OAuth 2.0' : 'API token';
}

// ---------------------------------------------------------------------------------------------
// Chrome, routing, sign-in

function showChrome(signedIn) {
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('session').hidden = !signedIn;
  if (!signedIn) {
    alertBar.hidden = true;
    alertBar.replaceChildren();
  } else {
    const key = session.key || '';
    document.getElementById('key-hint').textContent = `Key ${key.slice(0, 6)}…`;
  }
}

function route() {
  stopTimers();
  viewToken += 1;
  const token = viewToken;
  if (!session.key) {
    renderSignIn();
    return;
  }
  showChrome(true);
  refreshAlerts(token);
  const match = /^#\/integrations\/([0-9a-fA-F-]{36})$/.exec(window.location.hash);
  const view = match ? renderDetail(match[1], token) : renderList(token);
  view.catch((err) => renderError(err, token));
}

function renderError(err, token) {
  if (token !== viewToken) return;
  if (err instanceof ApiError && err.status === 401) return; // handled by onUnauthorized
  const notFound = err instanceof ApiError && err.status === 404;
  replace(
    main,
    h(
      'div',
      { class: 'card card-body' },
      h('h1', null, notFound ? 'Integration not found' : 'Something went wrong'),
      h('p', { class: 'muted' }, notFound ? 'It does not exist, or it belongs to another workspace.' : err.message),
      h('p', null, h('a', { href: '#/integrations' }, 'Back to integrations')),
    ),
  );
}

function renderSignIn(message) {
  stopTimers();
  viewToken += 1;
  showChrome(false);
  document.title = 'Sign in · Reauth console';
  const input = h('input', {
    type: 'password',
    id: 'api-key',
    name: 'apiKey',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'api-key-hint api-key-error',
  });
  const error = h('p', { class: 'field-error', id: 'api-key-error', role: 'alert', hidden: !message }, message || '');
  const button = h('button', { type: 'submit', class: 'button wide' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card signin', novalidate: true, 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to the console'),
    h('p', { class: 'muted' }, 'Manage your CRM integrations and re-authorize them without disconnecting.'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h('p', { class: 'hint', id: 'api-key-hint' }, 'Kept in this browser tab only and sent as an Authorization header — never in a URL.'),
      error,
    ),
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Enter your API key.';
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      await api('GET', '/v1/integrations', undefined, { key });
      session.set(key);
      route();
    } catch (err) {
      error.textContent = err.status === 401 ? 'This API key was not accepted. Check it and try again.' : err.message;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      input.select();
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });
  replace(main, form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Global alert bar

async function refreshAlerts(token) {
  try {
    const { data } = await api('GET', '/v1/alerts');
    if (token !== viewToken) return;
    if (data.some((a) => !names.has(a.integrationId))) {
      const list = await api('GET', '/v1/integrations');
      for (const i of list.data) names.set(i.id, i.displayName);
    }
    if (token !== viewToken) return;
    renderAlerts(data);
  } catch {
    // Shown again on the next refresh; a failing alert call must not break the page.
  }
  schedule(token, () => refreshAlerts(token), REFRESH_MS);
}

/** Alert messages may start with the integration's name; the link already shows it. */
function withoutName(message, name) {
  return name && message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}

function renderAlerts(alerts) {
  if (!alerts.length) {
    alertBar.hidden = true;
    alertBar.replaceChildren();
    return;
  }
  const level = alerts.some((a) => a.level === 'error') ? 'error' : 'warning';
  const integrations = new Set(alerts.map((a) => a.integrationId)).size;
  const shown = alerts.slice(0, 3);
  alertBar.className = `alert-bar ${level}`;
  alertBar.hidden = false;
  replace(
    alertBar,
    h(
      'div',
      { class: 'alert-bar-inner' },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'),
      h(
        'div',
        null,
        h('h2', null, `${integrations} integration${integrations === 1 ? ' needs' : 's need'} attention`),
        h(
          'ul',
          null,
          shown.map((a) =>
            h(
              'li',
              { 'data-alert-code': a.code },
              h('a', { href: `#/integrations/${a.integrationId}` }, names.get(a.integrationId) || 'Integration'),
              ` — ${withoutName(a.message, names.get(a.integrationId))}`,
            ),
          ),
          alerts.length > shown.length ? h('li', null, `and ${alerts.length - shown.length} more`) : null,
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Integrations list

async function renderList(token) {
  document.title = 'Integrations · Reauth console';
  const [list] = await Promise.all([api('GET', '/v1/integrations'), loadProviders()]);
  if (token !== viewToken) return;
  const tbody = h('tbody');
  const summary = h('p', { class: 'sub' });
  replace(
    main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Integrations'), summary)),
    h(
      'div',
      { class: 'card table-card' },
      h(
        'table',
        { 'aria-label': 'Integrations' },
        h(
          'thead',
          null,
          h('tr', null, h('th', { scope: 'col' }, 'Integration'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'CRM account'), h('th', { scope: 'col' }, 'Credentials'), h('th', { scope: 'col' }, 'Updated')),
        ),
        tbody,
      ),
    ),
  );
  main.focus({ preventScroll: true });
  const paint = (data) => {
    for (const i of data) names.set(i.id, i.displayName);
    const attention = data.filter((i) => i.status === 'blocked' || i.status === 'degraded').length;
    summary.textContent = `${data.length} connected CRM${data.length === 1 ? '' : 's'}${attention ? ` · ${attention} need${attention === 1 ? 's' : ''} attention` : ''}`;
    const focusedId = document.activeElement?.closest?.('tr')?.dataset.id;
    if (!data.length) {
      replace(tbody, h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'No integrations yet. Create one with POST /v1/integrations.')));
      return;
    }
    replace(
      tbody,
      data.map((i) =>
        h(
          'tr',
          { 'data-id': i.id, 'data-status': i.status },
          h('td', null, h('a', { class: 'name', href: `#/integrations/${i.id}` }, i.displayName), h('span', { class: 'sub' }, `${providerName(i.provider)} · ${authLabel(i.authType)}`)),
          h('td', null, statusBadges(i)),
          h('td', { class: 'mono' }, i.credentials?.accountId ?? '—'),
          h('td', null, i.credentials ? `Version ${i.credentials.version}` : 'Not connected', i.credentials?.expiresAt ? h('span', { class: 'sub' }, `Expires ${relativeTime(i.credentials.expiresAt)}`) : null),
          h('td', { class: 'muted' }, formatDate(i.updatedAt)),
        ),
      ),
    );
    if (focusedId) tbody.querySelector(`tr[data-id="${focusedId}"] a`)?.focus();
  };
  paint(list.data);
  const refresh = async () => {
    try {
      const next = await api('GET', '/v1/integrations');
      if (token === viewToken) paint(next.data);
    } catch {
      // try again on the next tick
    }
    schedule(token, refresh, REFRESH_MS);
  };
  schedule(token, refresh, REFRESH_MS);
}

// ---------------------------------------------------------------------------------------------
// Integration page

/** What the detail page shows and polls; reset on every navigation. */
let state = null;

const BANNER = {
  blocked: { kind: 'error', title: 'Syncing is paused' },
  degraded: { kind: 'warn', title: 'Action recommended' },
  pending: { kind: 'info', title: 'Not connected yet' },
  disabled: { kind: 'neutral', title: 'Turned off' },
};

async function renderDetail(id, token) {
  const [integration] = await Promise.all([api('GET', `/v1/integrations/${id}`), loadProviders()]);
  if (token !== viewToken) return;
  const s = store();
  // Back from the CRM's consent page: the way back has been used.
  if (s) {
    try {
      const back = JSON.parse(s.getItem(RETURN_KEY) || 'null');
      if (back && back.integrationId === id) s.removeItem(RETURN_KEY);
    } catch {
      s.removeItem(RETURN_KEY);
    }
  }

  const reauthButton = h('button', { type: 'button', class: 'button', id: 'reauthorize' }, 'Re-authorize integration');
  const linkButton = h('button', { type: 'button', class: 'button secondary', id: 'copy-magic-link' }, 'Copy magic link');
  state = {
    token,
    integration,
    reauthId: integration.reauthorization?.id ?? s?.getItem(TRACK_PREFIX + id) ?? null,
    reauth: null,
    reauthSignature: '',
    resyncId: null,
    resync: null,
    els: {
      head: h('div', { class: 'title-block' }),
      banner: h('div', { id: 'banner' }),
      link: h('div', { id: 'magic-link-panel', hidden: true }),
      progress: h('div', { id: 'reauth-progress', hidden: true }),
      resync: h('div', { id: 'resync-progress', hidden: true }),
      credentials: h('div', { class: 'card-body' }),
      settings: h('div', { class: 'card-body' }),
    },
  };
  const { els } = state;
  replace(
    main,
    h('a', { class: 'crumb', href: '#/integrations' }, '← Integrations'),
    h('div', { class: 'page-head' }, els.head, h('div', { class: 'page-actions' }, linkButton, reauthButton)),
    els.banner,
    h(
      'div',
      { class: 'stack' },
      els.link,
      els.progress,
      els.resync,
    ),
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'credentials-title' }, h('div', { class: 'card-head' }, h('h2', { id: 'credentials-title' }, 'Credentials')), els.credentials),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'settings-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'settings-title' }, 'Sync settings'), h('span', { class: 'muted' }, 'Read-only')),
        els.settings,
      ),
    ),
  );
  main.focus({ preventScroll: true });
  reauthButton.addEventListener('click', () => openDialog(reauthButton));
  linkButton.addEventListener('click', () => copyMagicLink(linkButton));
  paintIntegration(integration);

  if (state.reauthId) pollReauth(token);
  else showLatestResync(token);
  schedule(token, () => refreshIntegration(token), REFRESH_MS);
}

function paintIntegration(i) {
  const { els } = state;
  names.set(i.id, i.displayName);
  document.title = `${i.displayName} · Reauth console`;
  replace(
    els.head,
    h('div', { class: 'title-row' }, h('h1', { id: 'integration-title' }, i.displayName), h('span', { id: 'integration-status' }, statusBadges(i))),
    h('p', { class: 'sub' }, `${providerName(i.provider)} · ${authLabel(i.authType)}`),
  );

  const banner = BANNER[i.status];
  if (banner && i.statusMessage) {
    const todo = i.reauthorization
      ? 'A re-authorization is in progress: it finishes as soon as the new access is approved (here or through the magic link).'
      : 'Re-authorize the integration yourself, or copy a magic link for the CRM account owner. Nothing is disconnected and nothing is re-imported unless you ask.';
    replace(
      els.banner,
      h(
        'div',
        { class: `callout banner ${banner.kind}`, role: i.status === 'blocked' ? 'alert' : 'status', 'data-status': i.status },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'),
        h('div', { class: 'banner-text' }, h('strong', null, banner.title), h('p', { class: 'banner-message' }, i.statusMessage), h('p', { class: 'todo' }, `What to do: ${todo}`)),
      ),
    );
  } else {
    els.banner.replaceChildren();
  }

  const c = i.credentials;
  replace(
    els.credentials,
    c
      ? h(
          'dl',
          { class: 'facts', id: 'credential-facts' },
          h('dt', null, 'CRM account'),
          h('dd', { class: 'mono', 'data-fact': 'accountId' }, c.accountId ?? '—'),
          h('dt', null, 'Version'),
          h('dd', { 'data-fact': 'version' }, String(c.version)),
          h('dt', null, 'Scopes'),
          h('dd', { 'data-fact': 'scopes' }, c.scopes?.length ? h('span', { class: 'chips' }, c.scopes.map((sc) => h('span', { class: 'chip' }, sc))) : '—'),
          h('dt', null, 'Expires'),
          h('dd', { 'data-fact': 'expiresAt' }, c.expiresAt ? `${formatDate(c.expiresAt)} (${relativeTime(c.expiresAt)})` : 'Does not expire'),
          h('dt', null, 'Region'),
          h('dd', { 'data-fact': 'region' }, c.region ?? 'Default'),
          h('dt', null, 'Authentication'),
          h('dd', null, authLabel(i.authType)),
        )
      : h('p', { class: 'muted' }, 'No credentials yet: re-authorize to connect this integration.'),
    h('p', { class: 'hint' }, 'Secrets are stored encrypted and are never shown.'),
  );
  replace(els.settings, h('pre', { class: 'json', id: 'sync-settings', tabindex: '0', 'aria-label': 'Sync settings (JSON)' }, JSON.stringify(i.config ?? {}, null, 2)));
}

async function refreshIntegration(token) {
  try {
    const next = await api('GET', `/v1/integrations/${state.integration.id}`);
    if (token !== viewToken) return;
    const before = JSON.stringify(state.integration);
    state.integration = next;
    if (JSON.stringify(next) !== before) paintIntegration(next);
    // Someone else started one (an API call, the customer's magic link): follow it.
    if (next.reauthorization && next.reauthorization.id !== state.reauthId) {
      state.reauthId = next.reauthorization.id;
      pollReauth(token);
    }
  } catch {
    // next tick
  }
  schedule(token, () => refreshIntegration(token), REFRESH_MS);
}

async function reloadIntegration() {
  const next = await api('GET', `/v1/integrations/${state.integration.id}`);
  state.integration = next;
  paintIntegration(next);
  return next;
}

function track(reauthorizationId) {
  state.reauthId = reauthorizationId;
  store()?.setItem(TRACK_PREFIX + state.integration.id, reauthorizationId);
}

// ---------------------------------------------------------------------------------------------
// Re-authorization progress

const PHASES = {
  oauth2: [
    ['awaiting_user', 'Waiting for approval'],
    ['exchanging', 'Exchanging code'],
    ['validating', 'Validating'],
    ['swapping', 'Swapping credentials'],
    ['completed', 'Done'],
  ],
  api_token: [
    ['awaiting_user', 'Waiting for a token'],
    ['validating', 'Validating'],
    ['swapping', 'Swapping credentials'],
    ['completed', 'Done'],
  ],
};

const OUTCOME_LABEL = { succeeded: 'Succeeded', failed: 'Failed', expired: 'Expired', cancelled: 'Cancelled' };

async function pollReauth(token) {
  if (!state.reauthId || token !== viewToken) return;
  const id = state.reauthId;
  let r;
  try {
    r = await api('GET', `/v1/reauthorizations/${id}`);
  } catch (err) {
    if (token !== viewToken) return;
    if (err instanceof ApiError && err.status === 404) {
      store()?.removeItem(TRACK_PREFIX + state.integration.id);
      state.reauthId = null;
      return;
    }
    schedule(token, () => pollReauth(token), POLL_MS * 2);
    return;
  }
  if (token !== viewToken || id !== state.reauthId) return;
  const previous = state.reauth;
  state.reauth = r;
  renderReauthProgress(r);
  if (previous && previous.id === r.id && (previous.outcome !== r.outcome || previous.phase !== r.phase)) {
    await reloadIntegration().catch(() => undefined);
    if (r.outcome === 'succeeded' && previous.outcome !== 'succeeded') toast(`${state.integration.displayName} is re-authorized.`);
  }
  if (r.resyncId && r.resyncId !== state.resyncId) {
    state.resyncId = r.resyncId;
    pollResync(token);
  } else if (!r.fullResync && !state.resyncId) {
    showLatestResync(token);
  }
  const completedAgo = r.completedAt ? Date.now() - Date.parse(r.completedAt) : 0;
  const resyncPending = r.outcome === 'succeeded' && r.fullResync && !r.resyncId && completedAgo < 60_000;
  if (r.outcome === null || resyncPending) schedule(token, () => pollReauth(token), POLL_MS);
}

function renderReauthProgress(r) {
  const el = state.els.progress;
  const signature = JSON.stringify([r.id, r.phase, r.outcome, r.error, r.attempts, r.resyncId]);
  if (signature === state.reauthSignature) return;
  state.reauthSignature = signature;
  const provider = providerName(state.integration.provider);
  const phases = PHASES[r.authType] || PHASES.api_token;
  const currentIndex = Math.max(0, phases.findIndex(([p]) => p === r.phase));
  const failed = r.outcome && r.outcome !== 'succeeded';
  const items = phases.map(([phase, label], index) => {
    let cls = '';
    if (r.outcome === 'succeeded' || index < currentIndex) cls = 'done';
    else if (index === currentIndex) cls = failed ? 'failed' : 'current';
    return h('li', { class: cls, 'data-phase': phase, 'aria-current': cls === 'current' ? 'step' : null }, label);
  });

  let message;
  let kind = 'info';
  if (r.outcome === 'succeeded') {
    kind = 'ok';
    message = `Re-authorized ${r.completedAt ? relativeTime(r.completedAt) : ''}. The new credentials are active${r.fullResync ? '; the full re-sync runs below.' : '; nothing was re-imported.'}`;
  } else if (r.outcome) {
    kind = 'error';
    message = `${OUTCOME_LABEL[r.outcome]}: ${r.error?.message || 'the re-authorization did not complete'}. Nothing was changed; start a new one when ready.`;
  } else if (r.phase === 'awaiting_user') {
    message =
      r.authType === 'oauth2'
        ? `Waiting for someone to approve access in ${provider} (here, or through the magic link). The link expires ${relativeTime(r.expiresAt)}.`
        : `Waiting for a new API token (here, or through the magic link). The link expires ${relativeTime(r.expiresAt)}.`;
  } else {
    message = `${humanize(r.phase)}…`;
  }

  const cancel = r.outcome === null ? h('button', { type: 'button', class: 'button danger small', id: 'cancel-reauth' }, 'Cancel re-authorization') : null;
  if (cancel) {
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await api('POST', `/v1/reauthorizations/${r.id}/cancel`, { reason: 'cancelled from the console' });
        state.reauthSignature = '';
        pollReauth(state.token);
        await reloadIntegration();
      } catch (err) {
        toast(err.message);
        cancel.disabled = false;
      }
    });
  }
  el.hidden = false;
  replace(
    el,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'reauth-progress-title', 'data-outcome': r.outcome ?? 'open', 'data-phase': r.phase },
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'reauth-progress-title' }, 'Re-authorization'),
        h('span', { class: 'badges' }, r.outcome ? statusText(r.outcome === 'succeeded' ? 'completed' : 'failed', OUTCOME_LABEL[r.outcome]) : statusText('running', 'In progress'), cancel),
      ),
      h(
        'div',
        { class: 'card-body' },
        h('ol', { class: 'phases', 'aria-label': 'Steps' }, items),
        h('div', { class: `callout ${kind}`, role: 'status', id: 'reauth-progress-message' }, h('p', null, message)),
        r.outcome === null && r.error
          ? h('div', { class: 'callout warn', id: 'reauth-last-error' }, h('p', null, `Last attempt: ${r.error.message} The re-authorization is still open: try again.`))
          : null,
        h(
          'p',
          { class: 'hint' },
          `Started ${formatDate(r.createdAt)} · ${r.attempts ?? 0} attempt${r.attempts === 1 ? '' : 's'} · full re-sync ${r.fullResync ? 'requested' : 'not requested'}`,
        ),
      ),
    ),
  );
}

function statusText(kind, label) {
  return h('span', { class: `status-text ${kind}` }, label);
}

// ---------------------------------------------------------------------------------------------
// Re-sync progress

async function showLatestResync(token) {
  if (state.resyncId || state.latestResyncLooked) return;
  state.latestResyncLooked = true;
  try {
    const { data } = await api('GET', `/v1/integrations/${state.integration.id}/resyncs`);
    if (token !== viewToken || state.resyncId || !data?.length) return;
    state.resyncId = data[0].id;
    renderResync(data[0]);
    if (data[0].status === 'running') schedule(token, () => pollResync(token), POLL_MS);
  } catch {
    // No re-sync history to show.
  }
}

async function pollResync(token) {
  if (!state.resyncId || token !== viewToken) return;
  let r;
  try {
    r = await api('GET', `/v1/resyncs/${state.resyncId}`);
  } catch {
    schedule(token, () => pollResync(token), POLL_MS * 2);
    return;
  }
  if (token !== viewToken || r.id !== state.resyncId) return;
  const wasRunning = state.resync?.status === 'running';
  renderResync(r);
  if (r.status === 'running') schedule(token, () => pollResync(token), POLL_MS);
  else if (wasRunning) toast(`Full re-sync ${r.status === 'completed' ? 'completed' : r.status}.`);
}

const RESYNC_LABEL = { running: 'Running', completed: 'Completed', partial: 'Partly failed', failed: 'Failed' };
const ENTITY_LABEL = { pending: 'Waiting', running: 'Running', completed: 'Completed', failed: 'Failed', waiting: 'Waiting for sync service' };

function renderResync(r) {
  const el = state.els.resync;
  const previousStatus = state.resync?.status;
  state.resync = r;
  const entities = r.entities || [];
  const done = entities.filter((e) => e.status === 'completed' || e.status === 'failed').length;
  const sum = (field) => entities.reduce((n, e) => n + (e[field] || 0), 0);
  const overall = h('progress', {
    id: 'resync-overall',
    max: String(Math.max(entities.length, 1)),
    value: String(done),
    class: r.status === 'completed' ? 'complete' : r.status === 'running' ? '' : 'failed',
    'aria-label': 'Entities finished',
  });
  const live = el.querySelector('#resync-status-line');
  const line = `${RESYNC_LABEL[r.status] ?? humanize(r.status)} · ${done} of ${entities.length} entity types finished`;
  const rows = entities.map((e) => {
    const bar = h('progress', { max: '1', class: e.status === 'completed' ? 'complete' : e.status === 'failed' ? 'failed' : '', 'aria-label': `${humanize(e.entity)} progress` });
    if (e.status === 'completed' || e.status === 'failed') bar.value = 1;
    else if (e.status === 'pending') bar.value = 0;
    // running: indeterminate (no total is known up front)
    return h(
      'tr',
      { 'data-entity': e.entity, 'data-status': e.status },
      h('th', { scope: 'row' }, humanize(e.entity)),
      h('td', null, statusText(e.status, ENTITY_LABEL[e.status] ?? humanize(e.status)), e.error ? h('span', { class: 'sub' }, e.error.message) : null),
      h('td', { class: 'num', 'data-count': 'imported' }, formatNumber(e.imported)),
      h('td', { class: 'num', 'data-count': 'updated' }, formatNumber(e.updated)),
      h('td', { class: 'num' }, formatNumber(e.pages)),
      h('td', { class: 'bar' }, bar),
    );
  });
  el.hidden = false;
  replace(
    el,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'resync-title', 'data-status': r.status },
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'resync-title' }, 'Full re-sync'),
        statusText(r.status === 'running' ? 'running' : r.status, RESYNC_LABEL[r.status] ?? humanize(r.status)),
      ),
      h(
        'div',
        { class: 'card-body' },
        h('div', { class: 'progress-line' }, overall),
        h('p', { id: 'resync-status-line', class: 'muted', role: 'status' }, line),
        h(
          'div',
          { class: 'counters' },
          h('div', { class: 'counter' }, h('b', { id: 'resync-imported' }, formatNumber(sum('imported'))), h('span', null, 'imported')),
          h('div', { class: 'counter' }, h('b', null, formatNumber(sum('updated'))), h('span', null, 'updated')),
          h('div', { class: 'counter' }, h('b', null, formatNumber(sum('pages'))), h('span', null, 'pages fetched')),
        ),
        h(
          'table',
          { class: 'entity-table', 'aria-label': 'Re-sync by entity' },
          h(
            'thead',
            null,
            h('tr', null, h('th', { scope: 'col' }, 'Entity'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col', class: 'num' }, 'Imported'), h('th', { scope: 'col', class: 'num' }, 'Updated'), h('th', { scope: 'col', class: 'num' }, 'Pages'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Progress'))),
          ),
          h('tbody', null, rows),
        ),
        h('p', { class: 'hint' }, `Started ${formatDate(r.createdAt)}${r.completedAt ? ` · finished ${formatDate(r.completedAt)}` : ''}`),
      ),
    ),
  );
  // Keep the live region quiet unless the overall status changed.
  if (live && previousStatus === r.status) el.querySelector('#resync-status-line').removeAttribute('role');
}

// ---------------------------------------------------------------------------------------------
// Start or reuse a reauthorization

function sameScopes(a, b) {
  const x = [...(a || [])].sort();
  const y = [...(b || [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * POST …/reauthorizations starts one, or answers with the one already open. With `replace`, an open
 * one with other options (re-sync, scopes, region) is cancelled and a new one started.
 */
async function startReauthorization(options, { replace: replaceOther }) {
  const id = state.integration.id;
  const body = {};
  if (options.fullResync) body.fullResync = true;
  if (options.scopes?.length) body.scopes = options.scopes;
  if (options.region) body.region = options.region;
  let started = await api('POST', `/v1/integrations/${id}/reauthorizations`, body);
  if (replaceOther) {
    let differs = Boolean(started.fullResync) !== Boolean(options.fullResync);
    if (!differs && (options.scopes?.length || options.region)) {
      const full = await api('GET', `/v1/reauthorizations/${started.id}`);
      differs = !sameScopes(full.scopes, options.scopes) || (full.region ?? null) !== (options.region ?? null);
    }
    if (differs) {
      await api('POST', `/v1/reauthorizations/${started.id}/cancel`, { reason: 'replaced from the console with other options' }).catch((err) => {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
      });
      started = await api('POST', `/v1/integrations/${id}/reauthorizations`, body);
    }
  }
  track(started.id);
  reloadIntegration().catch(() => undefined);
  return started;
}

// ---------------------------------------------------------------------------------------------
// Magic link

async function copyMagicLink(button) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = 'Creating link…';
  try {
    const started = await startReauthorization({}, { replace: false });
    showMagicLink(started);
    state.reauthSignature = '';
    pollReauth(state.token);
  } catch (err) {
    toast(err.message);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

async function writeClipboard(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    input.focus();
    input.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

async function showMagicLink(started) {
  const el = state.els.link;
  const input = h('input', { type: 'text', id: 'magic-link', readonly: true, value: started.linkUrl, 'aria-describedby': 'magic-link-hint' });
  const status = h('p', { class: 'hint', id: 'magic-link-status', role: 'status' });
  const again = h('button', { type: 'button', class: 'button secondary' }, 'Copy');
  el.hidden = false;
  replace(
    el,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'magic-link-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'magic-link-title' }, 'Magic link')),
      h(
        'div',
        { class: 'card-body' },
        h('label', { for: 'magic-link' }, 'Link for the CRM account owner'),
        h('div', { class: 'link-row field' }, input, again),
        h(
          'p',
          { class: 'hint', id: 'magic-link-hint' },
          `Anyone with this link can reconnect ${state.integration.displayName}: send it only to the account owner. It works until ${formatDate(started.expiresAt)} or until the connection is renewed.`,
        ),
        status,
      ),
    ),
  );
  input.addEventListener('focus', () => input.select());
  const copy = async () => {
    const ok = await writeClipboard(started.linkUrl, input);
    status.textContent = ok ? 'Copied to the clipboard.' : 'Select the link and copy it.';
  };
  again.addEventListener('click', copy);
  await copy();
}

// ---------------------------------------------------------------------------------------------
// Re-authorize dialog

const dialog = document.getElementById('reauth-dialog');
const form = document.getElementById('reauth-form');
const f = {
  title: document.getElementById('reauth-title'),
  desc: document.getElementById('reauth-desc'),
  what: document.getElementById('reauth-what'),
  openNote: document.getElementById('reauth-open-note'),
  resync: document.getElementById('reauth-resync'),
  warning: document.getElementById('reauth-resync-warning'),
  oauth: document.getElementById('reauth-oauth-fields'),
  scopes: document.getElementById('reauth-scopes'),
  regionField: document.getElementById('reauth-region-field'),
  region: document.getElementById('reauth-region'),
  tokenFields: document.getElementById('reauth-token-fields'),
  tokenLabel: document.getElementById('reauth-token-label'),
  token: document.getElementById('reauth-token'),
  tokenError: document.getElementById('reauth-token-error'),
  error: document.getElementById('reauth-error'),
  submit: document.getElementById('reauth-submit'),
};
let dialogOpener = null;
let dialogBusy = false;

function openDialog(opener) {
  const i = state.integration;
  const provider = providers.get(i.provider);
  const name = providerName(i.provider);
  const oauth = i.authType === 'oauth2';
  f.title.textContent = `Re-authorize ${i.displayName}`;
  f.desc.textContent = `Renews the connection to ${name} without disconnecting it.`;
  replace(
    f.what,
    h('li', null, h('strong', null, 'The integration stays active'), ' and keeps syncing on its current credentials: nothing is interrupted.'),
    h('li', null, oauth ? `You sign in to ${name} and approve access, then come back here.` : `You paste a new ${name} API token.`),
    h('li', null, `The new access is checked against ${name} (same account, required permissions) before anything changes; mappings, history and settings are kept.`),
    h('li', null, 'No re-sync happens unless you tick the box below.'),
  );
  if (i.reauthorization) {
    f.openNote.textContent = 'A re-authorization is already open. Continuing uses it; with different options it is replaced, and its magic link stops working.';
    f.openNote.hidden = false;
  } else {
    f.openNote.hidden = true;
  }
  f.resync.checked = false;
  f.warning.hidden = true;
  f.scopes.value = '';
  const regions = provider?.oauth2?.regions || [];
  f.regionField.hidden = !(oauth && regions.length);
  replace(
    f.region,
    h('option', { value: '' }, `Keep current${i.credentials?.region ? ` (${i.credentials.region})` : ''}`),
    regions.map((r) => h('option', { value: r }, r.toUpperCase())),
  );
  f.oauth.hidden = !oauth;
  f.tokenFields.hidden = oauth;
  f.tokenLabel.textContent = `New ${name} API token`;
  f.token.value = '';
  clearTokenError();
  f.error.hidden = true;
  f.submit.textContent = oauth ? `Continue to ${name}` : 'Verify and re-authorize';
  f.submit.disabled = false;
  dialogBusy = false;
  dialogOpener = opener;
  dialog.showModal();
  (oauth ? f.resync : f.token).focus();
}

function clearTokenError() {
  f.tokenError.hidden = true;
  f.tokenError.textContent = '';
  f.token.removeAttribute('aria-invalid');
}

function showTokenError(message) {
  f.tokenError.textContent = message;
  f.tokenError.hidden = false;
  f.token.setAttribute('aria-invalid', 'true');
  f.token.focus();
  f.token.select();
}

function showDialogError(message) {
  replace(f.error, h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'), h('p', null, message));
  f.error.hidden = false;
}

function setBusy(busy, label) {
  dialogBusy = busy;
  f.submit.disabled = busy;
  dialog.setAttribute('aria-busy', busy ? 'true' : 'false');
  if (label) f.submit.replaceChildren(...(busy ? [h('span', { class: 'spinner', 'aria-hidden': 'true' })] : []), label);
}

f.resync.addEventListener('change', () => {
  f.warning.hidden = !f.resync.checked;
});
f.token.addEventListener('input', clearTokenError);
document.getElementById('reauth-cancel').addEventListener('click', () => dialog.close('cancel'));
document.getElementById('reauth-close').addEventListener('click', () => dialog.close('cancel'));
dialog.addEventListener('cancel', (event) => {
  // Escape closes the dialog, except while a token is being verified.
  if (dialogBusy) event.preventDefault();
});
dialog.addEventListener('close', () => {
  if (dialogOpener && dialogOpener.isConnected) dialogOpener.focus();
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (dialogBusy) return;
  const i = state.integration;
  const oauth = i.authType === 'oauth2';
  f.error.hidden = true;
  const options = {
    fullResync: f.resync.checked,
    scopes: oauth ? f.scopes.value.split(/[\s,]+/).filter(Boolean) : [],
    region: oauth ? f.region.value || null : null,
  };
  if (oauth) {
    const label = f.submit.textContent;
    setBusy(true, 'Preparing sign-in…');
    try {
      const started = await startReauthorization(options, { replace: true });
      let url = started.authorizeUrl;
      for (let n = 0; !url && n < 20; n++) {
        await new Promise((r) => setTimeout(r, 500));
        url = (await api('GET', `/v1/reauthorizations/${started.id}`)).authorizeUrl;
      }
      if (!url) throw new ApiError(0, 'not_ready', 'The sign-in could not be prepared. Try again in a moment.');
      store()?.setItem(RETURN_KEY, JSON.stringify({ integrationId: i.id, reauthorizationId: started.id }));
      window.location.assign(url);
    } catch (err) {
      setBusy(false, label);
      showDialogError(err.message);
    }
    return;
  }

  const apiToken = f.token.value.trim();
  if (!apiToken) {
    showTokenError('Paste the new API token first.');
    return;
  }
  const label = f.submit.textContent;
  setBusy(true, 'Verifying…');
  let started;
  try {
    started = await startReauthorization(options, { replace: true });
  } catch (err) {
    setBusy(false, label);
    showDialogError(err.message);
    return;
  }
  try {
    await api('POST', `/v1/reauthorizations/${started.id}/api-token`, { apiToken });
  } catch (err) {
    setBusy(false, label);
    state.reauthSignature = '';
    pollReauth(state.token);
    if (err instanceof ApiError && [400, 409, 422, 503].includes(err.status)) showTokenError(err.message);
    else showDialogError(err.message);
    return;
  }
  setBusy(false, label);
  dialog.close('done');
  state.reauthSignature = '';
  await reloadIntegration().catch(() => undefined);
  toast(`${i.displayName} is re-authorized: credentials version ${state.integration.credentials?.version ?? ''} is active.`);
  pollReauth(state.token);
});

// ---------------------------------------------------------------------------------------------

document.getElementById('sign-out').addEventListener('click', () => {
  session.clear();
  window.location.hash = '#/integrations';
  route();
});

onUnauthorized(() => {
  session.clear();
  renderSignIn('Your API key is no longer accepted. Sign in again.');
});

window.addEventListener('hashchange', route);
route();
