// Tiny DOM helpers: elements are built with textContent only, so API data is never parsed as HTML.

/** h('a', {href: '#', class: 'x'}, 'text', child) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const STATUS_LABEL = { active: 'Active', degraded: 'Degraded', blocked: 'Blocked', pending: 'Pending', disabled: 'Disabled' };

/** The status indicator: colour, dot and a word (colour is never the only signal). */
export function statusBadge(status) {
  const known = Object.prototype.hasOwnProperty.call(STATUS_LABEL, status);
  return h('span', { class: `badge ${known ? status : 'disabled'}`, 'data-status': status }, known ? STATUS_LABEL[status] : status);
}

export function reauthorizingBadge() {
  return h('span', { class: 'badge reauthorizing', 'data-status': 'reauthorizing' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Re-authorizing…');
}

export function statusBadges(integration) {
  return h('span', { class: 'badges' }, statusBadge(integration.status), integration.reauthorization ? reauthorizingBadge() : null);
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const numberFmt = new Intl.NumberFormat();

export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
}

export function formatNumber(n) {
  return typeof n === 'number' ? numberFmt.format(n) : '—';
}

export function relativeTime(iso) {
  if (!iso) return '—';
  const diff = (new Date(iso).getTime() - Date.now()) / 1000;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 60) return rtf.format(Math.round(diff), 'second');
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

export function humanize(word) {
  return String(word || '').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** A status word with its colour dot (progress cards). */
export function statusText(kind, label) {
  return h('span', { class: `status-text ${kind}` }, label);
}
