// Paints the integration page's head, status banner, credentials and sync settings from one
// integration (GET /v1/integrations/:id) into the elements the page made (`store.detail.els`).
import { formatDate, h, relativeTime, replace, statusBadges } from '../dom.js';
import { authLabel, providerName } from './providers.js';
import { store } from './store.js';

const BANNER = {
  blocked: { kind: 'error', title: 'Syncing is paused' },
  degraded: { kind: 'warn', title: 'Action recommended' },
  pending: { kind: 'info', title: 'Not connected yet' },
  disabled: { kind: 'neutral', title: 'Turned off' },
};

/** Disabled integrations offer Enable; re-authorizing waits until then (the API would answer 409). */
function paintActions(i, actions) {
  const disabled = i.status === 'disabled';
  actions.toggle.textContent = disabled ? 'Enable' : 'Disable';
  actions.toggle.dataset.operation = disabled ? 'enable' : 'disable';
  for (const b of actions.reauthorize) {
    b.disabled = disabled;
    if (disabled) b.title = 'Enable the integration to re-authorize it';
    else b.removeAttribute('title');
  }
}

export function paintIntegration(i) {
  const { els } = store.detail;
  if (els.actions) paintActions(i, els.actions);
  store.names.set(i.id, i.displayName);
  document.title = `${i.displayName} · Reauth console`;
  replace(
    els.head,
    h('div', { class: 'title-row' }, h('h1', { id: 'integration-title', 'data-integration-id': i.id }, i.displayName), h('span', { id: 'integration-status' }, statusBadges(i))),
    h('p', { class: 'sub' }, `${providerName(i.provider)} · ${authLabel(i.authType)}`),
  );

  const banner = BANNER[i.status];
  if (banner && i.statusMessage) {
    const todo = i.status === 'disabled'
      ? 'Enable it to resume: its credentials are checked first. Nothing was deleted.'
      : i.reauthorization
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
          // When the CRM stops honouring the refresh token by itself (idle window or policy): re-authorize before then.
          ...(c.refreshTokenExpiresAt
            ? [
                h('dt', null, 'Authorization expires'),
                h('dd', { 'data-fact': 'refreshTokenExpiresAt' }, `${formatDate(c.refreshTokenExpiresAt)} (${relativeTime(c.refreshTokenExpiresAt)})`),
              ]
            : []),
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
