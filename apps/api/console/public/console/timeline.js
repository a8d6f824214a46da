// The integration page's activity timeline: its audit trail (GET /v1/audit-events), newest first,
// 20 at a time with "Load more". Refreshed in place: new events are added on top, pages already
// loaded stay.
import { api } from '../api.js';
import { formatDate, h, humanize, relativeTime, replace } from '../dom.js';
import { isCurrent, store } from './store.js';

const PAGE = 20;

const ACTOR = { api_key: 'API key', console: 'Console', connect_page: 'Connect page', engine: 'Engine' };
const OUTCOME_KIND = { succeeded: 'completed', unchanged: 'pending', cancelled: 'pending', partial: 'partial', failed: 'failed', rejected: 'failed', expired: 'failed' };

const version = (v) => (typeof v === 'number' ? `v${v}` : '?');

/** What happened, in words; the details add what a reader needs (versions, reasons, error codes). */
function describe(e) {
  const d = e.details || {};
  switch (e.type) {
    case 'integration.created':
      return ['Integration created', d.withCredentials ? 'Connected with credentials' : 'Not connected yet'];
    case 'integration.disabled':
      return [e.outcome === 'unchanged' ? 'Disable requested (already disabled)' : 'Disabled', null];
    case 'integration.enabled':
      return [e.outcome === 'unchanged' ? 'Enable requested (already enabled)' : 'Enabled', 'Credentials checked against the CRM'];
    case 'integration.deleted':
      return ['Deleted', `${d.credentialVersions ?? 0} credential version(s) destroyed`];
    case 'integration.status_changed':
      return [`Status: ${humanize(d.from)} → ${humanize(d.to)}`, d.reason ? humanize(d.reason) : null];
    case 'credentials.swapped':
      return [`Credentials replaced (${version(d.fromVersion)} → ${version(d.toVersion)})`, null];
    case 'credentials.refreshed':
      return [`Token refreshed (${version(d.fromVersion)} → ${version(d.toVersion)})`, d.rotated ? 'Refresh token rotated' : null];
    case 'reauthorization.started':
      return ['Re-authorization started', [d.reason, d.fullResync ? 'with a full re-sync' : null].filter(Boolean).join(' · ') || null];
    case 'reauthorization.attempt_rejected':
      return ['Re-authorization attempt rejected', d.error && d.error.code ? humanize(d.error.code) : null];
    default: {
      const [subject, verb] = e.type.split('.');
      return [`${humanize(subject)} ${String(verb || '').replace(/_/g, ' ')}`.trim(), d.error && d.error.code ? humanize(d.error.code) : null];
    }
  }
}

function item(e) {
  const [title, summary] = describe(e);
  const actor = ACTOR[e.actor && e.actor.kind] || 'Engine';
  return h(
    'li',
    { class: 'timeline-item', 'data-id': e.id, 'data-type': e.type, 'data-outcome': e.outcome },
    h(
      'div',
      { class: 'timeline-head' },
      h('span', { class: 'timeline-title' }, title),
      e.outcome !== 'succeeded' ? h('span', { class: `status-text ${OUTCOME_KIND[e.outcome] || 'pending'}` }, humanize(e.outcome)) : null,
    ),
    summary ? h('p', { class: 'timeline-summary' }, summary) : null,
    h('p', { class: 'timeline-meta' }, `${actor} · `, h('time', { datetime: e.createdAt, title: formatDate(e.createdAt) }, relativeTime(e.createdAt))),
  );
}

/** The timeline card; its state lives in `store.detail.timeline`. */
export function timelineCard() {
  const list = h('ol', { class: 'timeline', id: 'timeline', 'aria-live': 'polite' });
  const empty = h('p', { class: 'muted', id: 'timeline-empty', hidden: true }, 'Nothing recorded yet.');
  const more = h('button', { type: 'button', class: 'button secondary small', id: 'timeline-more', hidden: true }, 'Load more');
  const error = h('p', { class: 'field-error', id: 'timeline-error', role: 'alert', hidden: true });
  store.detail.timeline = { ids: new Set(), nextCursor: null, loaded: false, els: { list, empty, more, error } };
  more.addEventListener('click', () => loadMore(store.detail.token));
  return h(
    'section',
    { class: 'card timeline-card', 'aria-labelledby': 'timeline-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'timeline-title' }, 'Activity'), h('span', { class: 'muted' }, 'Audit trail')),
    h('div', { class: 'card-body' }, list, empty, error, h('div', { class: 'timeline-foot' }, more)),
  );
}

async function page(cursor) {
  const params = new URLSearchParams({ integrationId: store.detail.integration.id, limit: String(PAGE) });
  if (cursor) params.set('cursor', cursor);
  return api('GET', `/v1/audit-events?${params}`);
}

function paintFoot(t) {
  t.els.more.hidden = !t.nextCursor;
  t.els.empty.hidden = t.ids.size > 0;
}

/** The first page on the first call; afterwards only what is new (added on top). */
export async function refreshTimeline(token) {
  const t = store.detail?.timeline;
  if (!t) return;
  let res;
  try {
    res = await page(null);
  } catch (err) {
    if (!isCurrent(token)) return;
    t.els.error.textContent = `The activity could not be loaded: ${err.message}`;
    t.els.error.hidden = false;
    return;
  }
  if (!isCurrent(token) || store.detail.timeline !== t) return;
  t.els.error.hidden = true;
  const fresh = res.data.filter((e) => !t.ids.has(e.id));
  if (!t.loaded) {
    t.loaded = true;
    t.nextCursor = res.nextCursor;
    replace(t.els.list, fresh.map(item));
  } else if (fresh.length) {
    // Newer than anything shown. More than a page of them at once: start over from the top.
    if (fresh.length === res.data.length && res.nextCursor) {
      t.ids.clear();
      t.nextCursor = res.nextCursor;
      replace(t.els.list, fresh.map(item));
    } else {
      t.els.list.prepend(...fresh.map(item));
    }
  }
  for (const e of fresh) t.ids.add(e.id);
  paintFoot(t);
}

async function loadMore(token) {
  const t = store.detail?.timeline;
  if (!t || !t.nextCursor) return;
  t.els.more.disabled = true;
  try {
    const res = await page(t.nextCursor);
    if (!isCurrent(token) || store.detail.timeline !== t) return;
    const older = res.data.filter((e) => !t.ids.has(e.id));
    t.els.list.append(...older.map(item));
    for (const e of older) t.ids.add(e.id);
    t.nextCursor = res.nextCursor;
    t.els.error.hidden = true;
  } catch (err) {
    t.els.error.textContent = `More activity could not be loaded: ${err.message}`;
    t.els.error.hidden = false;
  } finally {
    t.els.more.disabled = false;
  }
  paintFoot(t);
}
