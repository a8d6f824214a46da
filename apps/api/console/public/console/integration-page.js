// The integration page: head and actions (re-authorize, magic link, disable/enable, delete), status
// banner, magic link, reauthorization and re-sync progress, credentials and sync settings, and the
// activity timeline; refreshed in place while it is shown.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { paintIntegration } from './integration-view.js';
import { lifecycleButtons } from './lifecycle.js';
import { copyMagicLink } from './magic-link.js';
import { loadProviders } from './providers.js';
import { pollReauth } from './reauth-progress.js';
import { openDialog } from './reauthorize-dialog.js';
import { showLatestResync } from './resync-progress.js';
import { isCurrent, REFRESH_MS, RETURN_KEY, schedule, store, tabStorage, TRACK_PREFIX } from './store.js';
import { refreshTimeline, timelineCard } from './timeline.js';

const main = document.getElementById('main');

export async function renderDetail(id, token) {
  const [integration] = await Promise.all([api('GET', `/v1/integrations/${id}`), loadProviders()]);
  if (!isCurrent(token)) return;
  const s = tabStorage();
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
  const { toggle, remove } = lifecycleButtons();
  store.detail = {
    token,
    integration,
    reauthId: integration.reauthorization?.id ?? s?.getItem(TRACK_PREFIX + id) ?? null,
    reauth: null,
    reauthSignature: '',
    resyncId: null,
    resync: null,
    latestResyncLooked: false,
    els: {
      head: h('div', { class: 'title-block' }),
      banner: h('div', { id: 'banner' }),
      link: h('div', { id: 'magic-link-panel', hidden: true }),
      progress: h('div', { id: 'reauth-progress', hidden: true }),
      resync: h('div', { id: 'resync-progress', hidden: true }),
      credentials: h('div', { class: 'card-body' }),
      settings: h('div', { class: 'card-body' }),
      actions: { toggle, remove, reauthorize: [reauthButton, linkButton] },
    },
  };
  const { els } = store.detail;
  replace(
    main,
    h('a', { class: 'crumb', href: '#/integrations' }, '← Integrations'),
    h('div', { class: 'page-head' }, els.head, h('div', { class: 'page-actions' }, linkButton, reauthButton, toggle, remove)),
    els.banner,
    h('div', { class: 'stack' }, els.link, els.progress, els.resync),
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
    timelineCard(),
  );
  main.focus({ preventScroll: true });
  reauthButton.addEventListener('click', () => openDialog(reauthButton));
  linkButton.addEventListener('click', () => copyMagicLink(linkButton));
  paintIntegration(integration);

  if (store.detail.reauthId) pollReauth(token);
  else showLatestResync(token);
  refreshTimeline(token);
  schedule(token, () => refreshIntegration(token), REFRESH_MS);
}

async function refreshIntegration(token) {
  try {
    const next = await api('GET', `/v1/integrations/${store.detail.integration.id}`);
    if (!isCurrent(token)) return;
    const before = JSON.stringify(store.detail.integration);
    store.detail.integration = next;
    if (JSON.stringify(next) !== before) paintIntegration(next);
    refreshTimeline(token);
    // Someone else started one (an API call, the customer's magic link): follow it.
    if (next.reauthorization && next.reauthorization.id !== store.detail.reauthId) {
      store.detail.reauthId = next.reauthorization.id;
      pollReauth(token);
    }
  } catch {
    // next tick
  }
  schedule(token, () => refreshIntegration(token), REFRESH_MS);
}
