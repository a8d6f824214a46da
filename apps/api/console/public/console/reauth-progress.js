// Live progress of the reauthorization this page follows: phases, outcome, cancel.
import { api, ApiError } from '../api.js';
import { formatDate, h, humanize, relativeTime, replace, statusText } from '../dom.js';
import { reloadIntegration, untrack } from './integration-data.js';
import { providerName } from './providers.js';
import { pollResync, showLatestResync } from './resync-progress.js';
import { isCurrent, POLL_MS, schedule, store } from './store.js';
import { toast } from './toast.js';

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

/** Polls `store.detail.reauthId` while it is open (and briefly after, until its re-sync starts). */
export async function pollReauth(token) {
  if (!store.detail.reauthId || !isCurrent(token)) return;
  const id = store.detail.reauthId;
  let r;
  try {
    r = await api('GET', `/v1/reauthorizations/${id}`);
  } catch (err) {
    if (!isCurrent(token)) return;
    if (err instanceof ApiError && err.status === 404) {
      untrack();
      return;
    }
    schedule(token, () => pollReauth(token), POLL_MS * 2);
    return;
  }
  if (!isCurrent(token) || id !== store.detail.reauthId) return;
  const previous = store.detail.reauth;
  store.detail.reauth = r;
  renderReauthProgress(r);
  if (previous && previous.id === r.id && (previous.outcome !== r.outcome || previous.phase !== r.phase)) {
    await reloadIntegration().catch(() => undefined);
    if (r.outcome === 'succeeded' && previous.outcome !== 'succeeded') toast(`${store.detail.integration.displayName} is re-authorized.`);
  }
  if (r.resyncId && r.resyncId !== store.detail.resyncId) {
    store.detail.resyncId = r.resyncId;
    pollResync(token);
  } else if (!r.fullResync && !store.detail.resyncId) {
    showLatestResync(token);
  }
  const completedAgo = r.completedAt ? Date.now() - Date.parse(r.completedAt) : 0;
  const resyncPending = r.outcome === 'succeeded' && r.fullResync && !r.resyncId && completedAgo < 60_000;
  if (r.outcome === null || resyncPending) schedule(token, () => pollReauth(token), POLL_MS);
}

/** Polls again at once and repaints even if nothing changed (after an action of this page). */
export function refreshReauth() {
  store.detail.reauthSignature = '';
  pollReauth(store.detail.token);
}

function renderReauthProgress(r) {
  const el = store.detail.els.progress;
  const signature = JSON.stringify([r.id, r.phase, r.outcome, r.error, r.attempts, r.resyncId]);
  if (signature === store.detail.reauthSignature) return;
  store.detail.reauthSignature = signature;
  const provider = providerName(store.detail.integration.provider);
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
        refreshReauth();
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
