// The "Re-authorize integration" dialog: what will happen, the re-sync opt-in (with its warning),
// then OAuth (extra scopes, data center; off to the CRM's consent page) or a new API token
// (validated on submit; a refused token is shown in place and changes nothing).
import { api, ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { reloadIntegration } from './integration-data.js';
import { providerName } from './providers.js';
import { pollReauth } from './reauth-progress.js';
import { startReauthorization } from './reauthorize.js';
import { RETURN_KEY, store, tabStorage } from './store.js';
import { toast } from './toast.js';

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

export function openDialog(opener) {
  const i = store.detail.integration;
  const provider = store.providers.get(i.provider);
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
  store.dialog.busy = false;
  store.dialog.opener = opener;
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
  store.dialog.busy = busy;
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
  if (store.dialog.busy) event.preventDefault();
});
dialog.addEventListener('close', () => {
  const opener = store.dialog.opener;
  if (opener && opener.isConnected) opener.focus();
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (store.dialog.busy) return;
  const i = store.detail.integration;
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
      let ready = Boolean(started.authorizeUrl);
      for (let n = 0; !ready && n < 20; n++) {
        await new Promise((r) => setTimeout(r, 500));
        ready = Boolean((await api('GET', `/v1/reauthorizations/${started.id}`)).authorizeUrl);
      }
      if (!ready) throw new ApiError(0, 'not_ready', 'The sign-in could not be prepared. Try again in a moment.');
      tabStorage()?.setItem(RETURN_KEY, JSON.stringify({ integrationId: i.id, reauthorizationId: started.id }));
      // Through the link's own "Continue" step, not straight to the CRM: it binds the sign-in to this
      // browser (the OAuth callback counts only where it was begun). The URL holds the link token,
      // never the API key, which stays in this tab's sessionStorage.
      window.location.assign(`${started.linkUrl}/authorize`);
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
    store.detail.reauthSignature = '';
    pollReauth(store.detail.token);
    if (err instanceof ApiError && [400, 409, 422, 503].includes(err.status)) showTokenError(err.message);
    else showDialogError(err.message);
    return;
  }
  setBusy(false, label);
  dialog.close('done');
  store.detail.reauthSignature = '';
  await reloadIntegration().catch(() => undefined);
  toast(`${i.displayName} is re-authorized: credentials version ${store.detail.integration.credentials?.version ?? ''} is active.`);
  pollReauth(store.detail.token);
});
