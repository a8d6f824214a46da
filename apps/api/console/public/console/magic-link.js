// "Copy magic link": starts (or reuses) a reauthorization and puts its link on the clipboard.
import { formatDate, h, replace } from '../dom.js';
import { refreshReauth } from './reauth-progress.js';
import { startReauthorization } from './reauthorize.js';
import { store } from './store.js';
import { toast } from './toast.js';

export async function copyMagicLink(button) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = 'Creating link…';
  try {
    const started = await startReauthorization({}, { replace: false });
    showMagicLink(started);
    refreshReauth();
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
  const el = store.detail.els.link;
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
          `Anyone with this link can reconnect ${store.detail.integration.displayName}: send it only to the account owner. It works until ${formatDate(started.expiresAt)} or until the connection is renewed.`,
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
