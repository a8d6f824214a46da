// Admin console: integrations, their status and alerts, re-authorization (dialog, magic link) and
// live progress of re-authorizations and re-syncs. Plain JS modules, no build step, no framework.
// This entry module routes on the URL fragment; one module per screen, state in store.js.
import { ApiError, onUnauthorized, session } from '../api.js';
import { h, replace } from '../dom.js';
import { refreshAlerts } from './alerts.js';
import { showChrome } from './chrome.js';
import { renderDetail } from './integration-page.js';
import { renderList } from './integrations-list.js';
import { renderSignIn } from './sign-in.js';
import { beginView, isCurrent } from './store.js';

const main = document.getElementById('main');

function route() {
  const token = beginView();
  if (!session.key) {
    renderSignIn(undefined, route);
    return;
  }
  showChrome(true);
  refreshAlerts(token);
  const match = /^#\/integrations\/([0-9a-fA-F-]{36})$/.exec(window.location.hash);
  const view = match ? renderDetail(match[1], token) : renderList(token);
  view.catch((err) => renderError(err, token));
}

function renderError(err, token) {
  if (!isCurrent(token)) return;
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

document.getElementById('sign-out').addEventListener('click', () => {
  session.clear();
  window.location.hash = '#/integrations';
  route();
});

onUnauthorized(() => {
  session.clear();
  renderSignIn('Your API key is no longer accepted. Sign in again.', route);
});

window.addEventListener('hashchange', route);
route();
