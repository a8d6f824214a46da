// Disable / Enable and Delete on the integration page, each behind a confirmation dialog that says
// what happens. The API does the work (POST …/disable, POST …/enable, DELETE …) and answers once
// it is done; the page then shows the new state (or, after a delete, goes back to the list).
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { reloadIntegration } from './integration-data.js';
import { providerName } from './providers.js';
import { store } from './store.js';
import { refreshTimeline } from './timeline.js';
import { toast } from './toast.js';

const lifecycle = {
  dialog: document.getElementById('lifecycle-dialog'),
  form: document.getElementById('lifecycle-form'),
  title: document.getElementById('lifecycle-title'),
  desc: document.getElementById('lifecycle-desc'),
  what: document.getElementById('lifecycle-what'),
  error: document.getElementById('lifecycle-error'),
  submit: document.getElementById('lifecycle-submit'),
};
const removal = {
  dialog: document.getElementById('delete-dialog'),
  form: document.getElementById('delete-form'),
  title: document.getElementById('delete-title'),
  desc: document.getElementById('delete-desc'),
  what: document.getElementById('delete-what'),
  confirm: document.getElementById('delete-confirm'),
  confirmError: document.getElementById('delete-confirm-error'),
  error: document.getElementById('delete-error'),
  submit: document.getElementById('delete-submit'),
};

/** Which dialog is open, the button that opened it (focus returns there), and whether a request is under way. */
const state = { opener: null, busy: false, operation: null };

/** The page's lifecycle buttons; integration-view.js keeps their words in step with the integration. */
export function lifecycleButtons() {
  const toggle = h('button', { type: 'button', class: 'button secondary', id: 'toggle-enabled' }, 'Disable');
  const remove = h('button', { type: 'button', class: 'button danger', id: 'delete-integration' }, 'Delete');
  toggle.addEventListener('click', () => openLifecycleDialog(toggle, store.detail.integration.status === 'disabled' ? 'enable' : 'disable'));
  remove.addEventListener('click', () => openDeleteDialog(remove));
  return { toggle, remove };
}

function showError(el, message) {
  replace(el, h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'), h('p', null, message));
  el.hidden = false;
}

function setBusy(f, busy, label) {
  state.busy = busy;
  f.submit.disabled = busy;
  f.dialog.setAttribute('aria-busy', busy ? 'true' : 'false');
  f.submit.replaceChildren(...(busy ? [h('span', { class: 'spinner', 'aria-hidden': 'true' })] : []), label);
}

function openLifecycleDialog(opener, operation) {
  const i = store.detail.integration;
  const name = providerName(i.provider);
  state.opener = opener;
  state.operation = operation;
  if (operation === 'disable') {
    lifecycle.title.textContent = `Disable ${i.displayName}`;
    lifecycle.desc.textContent = `Turns the connection to ${name} off until you enable it again. Nothing is deleted.`;
    replace(
      lifecycle.what,
      h('li', null, h('strong', null, 'Refreshes and health checks stop'), `: nothing is sent to ${name} for this integration.`),
      h('li', null, 'An open re-authorization is cancelled and its magic link stops working.'),
      h('li', null, 'No re-authorization or re-sync can start while it is disabled; a running re-sync is cancelled.'),
      h('li', null, 'Credentials, sync settings, mappings and history are kept.'),
    );
  } else {
    lifecycle.title.textContent = `Enable ${i.displayName}`;
    lifecycle.desc.textContent = `Turns the connection to ${name} back on.`;
    replace(
      lifecycle.what,
      h('li', null, h('strong', null, `The credentials are checked against ${name} first`), ' (refreshed if they expired meanwhile).'),
      h('li', null, 'If they still work the integration is active again; if not, it is marked blocked or degraded and you can re-authorize it.'),
      h('li', null, 'Refreshes and health checks resume.'),
    );
  }
  lifecycle.error.hidden = true;
  setBusy(lifecycle, false, operation === 'disable' ? 'Disable integration' : 'Enable integration');
  lifecycle.dialog.showModal();
  lifecycle.submit.focus();
}

function openDeleteDialog(opener) {
  const i = store.detail.integration;
  const name = providerName(i.provider);
  state.opener = opener;
  state.operation = 'delete';
  removal.title.textContent = `Delete ${i.displayName}`;
  removal.desc.textContent = `Disconnects ${name} for good and removes this integration.`;
  replace(
    removal.what,
    h('li', null, 'Every stored credential is destroyed; the engine can no longer reach this CRM account.'),
    h('li', null, 'Refreshes, an open re-authorization (its magic link stops working) and a running re-sync are ended.'),
    h('li', null, 'Its sync settings, mappings and imported records are removed.'),
    h('li', null, 'The audit trail stays: who did what, and when, remains readable.'),
  );
  removal.confirm.value = '';
  removal.confirm.placeholder = i.displayName;
  clearConfirmError();
  removal.error.hidden = true;
  setBusy(removal, false, 'Delete integration');
  removal.dialog.showModal();
  removal.confirm.focus();
}

function clearConfirmError() {
  removal.confirmError.hidden = true;
  removal.confirmError.textContent = '';
  removal.confirm.removeAttribute('aria-invalid');
}

for (const f of [lifecycle, removal]) {
  f.dialog.addEventListener('cancel', (event) => {
    // Escape closes the dialog, except while the change is under way.
    if (state.busy) event.preventDefault();
  });
  f.dialog.addEventListener('close', () => {
    const opener = state.opener;
    if (opener && opener.isConnected) opener.focus();
  });
}
document.getElementById('lifecycle-cancel').addEventListener('click', () => lifecycle.dialog.close('cancel'));
document.getElementById('lifecycle-close').addEventListener('click', () => lifecycle.dialog.close('cancel'));
document.getElementById('delete-cancel').addEventListener('click', () => removal.dialog.close('cancel'));
document.getElementById('delete-close').addEventListener('click', () => removal.dialog.close('cancel'));
removal.confirm.addEventListener('input', clearConfirmError);

lifecycle.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (state.busy) return;
  const i = store.detail.integration;
  const operation = state.operation;
  const label = lifecycle.submit.textContent;
  lifecycle.error.hidden = true;
  setBusy(lifecycle, true, operation === 'disable' ? 'Disabling…' : 'Checking credentials…');
  let next;
  try {
    next = await api('POST', `/v1/integrations/${i.id}/${operation}`);
  } catch (err) {
    setBusy(lifecycle, false, label);
    showError(lifecycle.error, err.message);
    return;
  }
  setBusy(lifecycle, false, label);
  lifecycle.dialog.close('done');
  await reloadIntegration().catch(() => undefined);
  refreshTimeline(store.detail.token);
  if (operation === 'disable') toast(`${i.displayName} is disabled.`);
  else if (next.status === 'active') toast(`${i.displayName} is enabled and its credentials work.`);
  else toast(`${i.displayName} is enabled, but it is ${next.status}: ${next.statusMessage ?? 'see the banner'}`);
});

removal.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (state.busy) return;
  const i = store.detail.integration;
  if (removal.confirm.value.trim() !== i.displayName) {
    removal.confirmError.textContent = `Type “${i.displayName}” exactly to confirm.`;
    removal.confirmError.hidden = false;
    removal.confirm.setAttribute('aria-invalid', 'true');
    removal.confirm.focus();
    return;
  }
  removal.error.hidden = true;
  setBusy(removal, true, 'Deleting…');
  try {
    await api('DELETE', `/v1/integrations/${i.id}`);
  } catch (err) {
    // Already gone (another tab, the API): the outcome the admin asked for.
    if (err.status !== 404) {
      setBusy(removal, false, 'Delete integration');
      showError(removal.error, err.message);
      return;
    }
  }
  setBusy(removal, false, 'Delete integration');
  state.opener = null;
  removal.dialog.close('done');
  toast(`${i.displayName} was deleted. Its audit trail is kept.`);
  window.location.hash = '#/integrations';
});
