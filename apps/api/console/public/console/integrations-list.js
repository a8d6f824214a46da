// The integrations list: status per row (a word, not colour alone), refreshed in place.
import { api } from '../api.js';
import { formatDate, h, relativeTime, replace, statusBadges } from '../dom.js';
import { authLabel, loadProviders, providerName } from './providers.js';
import { isCurrent, REFRESH_MS, schedule, store } from './store.js';

const main = document.getElementById('main');

export async function renderList(token) {
  document.title = 'Integrations · Reauth console';
  const [list] = await Promise.all([api('GET', '/v1/integrations'), loadProviders()]);
  if (!isCurrent(token)) return;
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
    for (const i of data) store.names.set(i.id, i.displayName);
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
      if (isCurrent(token)) paint(next.data);
    } catch {
      // try again on the next tick
    }
    schedule(token, refresh, REFRESH_MS);
  };
  schedule(token, refresh, REFRESH_MS);
}
