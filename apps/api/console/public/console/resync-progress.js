// Live progress of a full re-sync: overall bar, counters and one row per entity type.
import { api } from '../api.js';
import { formatDate, formatNumber, h, humanize, replace, statusText } from '../dom.js';
import { isCurrent, POLL_MS, schedule, store } from './store.js';
import { toast } from './toast.js';

/** The integration's latest re-sync (once per visit), when no reauthorization brings one. */
export async function showLatestResync(token) {
  if (store.detail.resyncId || store.detail.latestResyncLooked) return;
  store.detail.latestResyncLooked = true;
  try {
    const { data } = await api('GET', `/v1/integrations/${store.detail.integration.id}/resyncs`);
    if (!isCurrent(token) || store.detail.resyncId || !data?.length) return;
    store.detail.resyncId = data[0].id;
    renderResync(data[0]);
    if (data[0].status === 'running') schedule(token, () => pollResync(token), POLL_MS);
  } catch {
    // No re-sync history to show.
  }
}

/** Polls `store.detail.resyncId` until it finishes. */
export async function pollResync(token) {
  if (!store.detail.resyncId || !isCurrent(token)) return;
  let r;
  try {
    r = await api('GET', `/v1/resyncs/${store.detail.resyncId}`);
  } catch {
    schedule(token, () => pollResync(token), POLL_MS * 2);
    return;
  }
  if (!isCurrent(token) || r.id !== store.detail.resyncId) return;
  const wasRunning = store.detail.resync?.status === 'running';
  renderResync(r);
  if (r.status === 'running') schedule(token, () => pollResync(token), POLL_MS);
  else if (wasRunning) toast(`Full re-sync ${r.status === 'completed' ? 'completed' : r.status}.`);
}

const RESYNC_LABEL = { running: 'Running', completed: 'Completed', partial: 'Partly failed', failed: 'Failed' };
const ENTITY_LABEL = { pending: 'Waiting', running: 'Running', completed: 'Completed', failed: 'Failed', waiting: 'Waiting for sync service' };

function renderResync(r) {
  const el = store.detail.els.resync;
  const previousStatus = store.detail.resync?.status;
  store.detail.resync = r;
  const entities = r.entities || [];
  const done = entities.filter((e) => e.status === 'completed' || e.status === 'failed').length;
  const sum = (field) => entities.reduce((n, e) => n + (e[field] || 0), 0);
  const overall = h('progress', {
    id: 'resync-overall',
    max: String(Math.max(entities.length, 1)),
    value: String(done),
    class: r.status === 'completed' ? 'complete' : r.status === 'running' ? '' : 'failed',
    'aria-label': 'Entities finished',
  });
  const live = el.querySelector('#resync-status-line');
  const line = `${RESYNC_LABEL[r.status] ?? humanize(r.status)} · ${done} of ${entities.length} entity types finished`;
  const rows = entities.map((e) => {
    const bar = h('progress', { max: '1', class: e.status === 'completed' ? 'complete' : e.status === 'failed' ? 'failed' : '', 'aria-label': `${humanize(e.entity)} progress` });
    if (e.status === 'completed' || e.status === 'failed') bar.value = 1;
    else if (e.status === 'pending') bar.value = 0;
    // running: indeterminate (no total is known up front)
    return h(
      'tr',
      { 'data-entity': e.entity, 'data-status': e.status },
      h('th', { scope: 'row' }, humanize(e.entity)),
      h('td', null, statusText(e.status, ENTITY_LABEL[e.status] ?? humanize(e.status)), e.error ? h('span', { class: 'sub' }, e.error.message) : null),
      h('td', { class: 'num', 'data-count': 'imported' }, formatNumber(e.imported)),
      h('td', { class: 'num', 'data-count': 'updated' }, formatNumber(e.updated)),
      h('td', { class: 'num' }, formatNumber(e.pages)),
      h('td', { class: 'bar' }, bar),
    );
  });
  el.hidden = false;
  replace(
    el,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'resync-title', 'data-status': r.status },
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'resync-title' }, 'Full re-sync'),
        statusText(r.status === 'running' ? 'running' : r.status, RESYNC_LABEL[r.status] ?? humanize(r.status)),
      ),
      h(
        'div',
        { class: 'card-body' },
        h('div', { class: 'progress-line' }, overall),
        h('p', { id: 'resync-status-line', class: 'muted', role: 'status' }, line),
        h(
          'div',
          { class: 'counters' },
          h('div', { class: 'counter' }, h('b', { id: 'resync-imported' }, formatNumber(sum('imported'))), h('span', null, 'imported')),
          h('div', { class: 'counter' }, h('b', null, formatNumber(sum('updated'))), h('span', null, 'updated')),
          h('div', { class: 'counter' }, h('b', null, formatNumber(sum('pages'))), h('span', null, 'pages fetched')),
        ),
        h(
          'table',
          { class: 'entity-table', 'aria-label': 'Re-sync by entity' },
          h(
            'thead',
            null,
            h('tr', null, h('th', { scope: 'col' }, 'Entity'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col', class: 'num' }, 'Imported'), h('th', { scope: 'col', class: 'num' }, 'Updated'), h('th', { scope: 'col', class: 'num' }, 'Pages'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Progress'))),
          ),
          h('tbody', null, rows),
        ),
        h('p', { class: 'hint' }, `Started ${formatDate(r.createdAt)}${r.completedAt ? ` · finished ${formatDate(r.completedAt)}` : ''}`),
      ),
    ),
  );
  // Keep the live region quiet unless the overall status changed.
  if (live && previousStatus === r.status) el.querySelector('#resync-status-line').removeAttribute('role');
}
