// Sign-in: the API key is checked against the API, then kept in this tab's sessionStorage only.
import { api, session } from '../api.js';
import { h, replace } from '../dom.js';
import { showChrome } from './chrome.js';
import { beginView } from './store.js';

const main = document.getElementById('main');

/** `onSignedIn`: what to show once the key is accepted (the router). */
export function renderSignIn(message, onSignedIn) {
  beginView();
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
      onSignedIn();
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
