// The global alert bar: open alerts of the workspace, refreshed while signed in.
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { isCurrent, REFRESH_MS, schedule, store } from './store.js';

const alertBar = document.getElementById('alert-bar');

export async function refreshAlerts(token) {
  try {
    const { data } = await api('GET', '/v1/alerts');
    if (!isCurrent(token)) return;
    if (data.some((a) => !store.names.has(a.integrationId))) {
      const list = await api('GET', '/v1/integrations');
      for (const i of list.data) store.names.set(i.id, i.displayName);
    }
    if (!isCurrent(token)) return;
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
              h('a', { href: `#/integrations/${a.integrationId}` }, store.names.get(a.integrationId) || 'Integration'),
              ` — ${withoutName(a.message, store.names.get(a.integrationId))}`,
            ),
          ),
          alerts.length > shown.length ? h('li', null, `and ${alerts.length - shown.length} more`) : null,
        ),
      ),
    ),
  );
}
