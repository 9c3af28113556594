// What every page draws with: the words for the API's codes, a small DOM helper, the formats,
// icons, error and status boxes, the page's frame (heading, title, Not found), navigation, the
// payment offer and quote, and the polling of what is under way.

import { api, BASE, isProvider, S } from './api.js';

// ---------------------------------------------------------------- words

export const STATUS_WORDS = {
  active: 'Active', ordered: 'Ordered', in_cart: 'In cart', payment_in_progress: 'Payment in progress',
  complete_configuration: 'Complete configuration', configuration_required: 'Complete configuration',
  in_progress: 'In progress', renewal_in_progress: 'Renewal in progress', transfer: 'Transfer',
  registration_in_progress: 'Registration in progress', registrar_change: 'Registrar change',
  issue: 'Issue', issue_error: 'Issue error', reissue: 'Reissue', access_to_kvm: 'Access to KVM',
  suspended: 'Suspended', suspended_by_admin: 'Suspended by administrator',
  suspended_abuse: 'Suspended due to abuse', temporarily_suspended: 'Temporarily suspended',
  not_available: 'Not available', deleted: 'Deleted',
};
export const TYPE_NAMES = {
  vps: 'VPS', shared_hosting: 'Shared hosting', dedicated: 'Dedicated server', domain: 'Domain',
  ssl: 'SSL certificate', vdc: 'Virtual data center',
};
const QUOTE_WORDS = { renewal: 'Renewal', tariff_change: 'Tariff change', options_change: 'Options change', order: 'Order' };

// ---------------------------------------------------------------- DOM helpers

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  add(el, kids);
  for (const [k, v] of Object.entries(attrs || {})) setAttr(el, k, v);
  return el;
}

function setAttr(el, k, v) {
  if (v == null || v === false) return;
  if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
  else if (k === 'value') el.value = v;
  else el.setAttribute(k, v === true ? '' : v);
}

function add(el, kids) {
  for (const k of kids.flat(Infinity)) if (k != null && k !== false) el.append(k instanceof Node ? k : String(k));
  return el;
}

/** Replaces an element's children (null and false are skipped, unlike replaceChildren). */
export function fill(el, ...kids) {
  el.replaceChildren();
  return add(el, kids);
}
export const put = (el, ...kids) => add(el, kids);

export function svg(tag, attrs, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return add(el, kids);
}

let uid = 0;
export const nid = (p = 'f') => `${p}${++uid}`;

/** A labelled form control, with an optional hint tied to it by aria-describedby. */
export function field(label, control, hint) {
  control.id ||= nid();
  const lab = h('label', { for: control.id }, label);
  const kids = control.type === 'checkbox' ? [control, lab] : [lab, control];
  if (hint) {
    const hid = nid('h');
    control.setAttribute('aria-describedby', hid);
    kids.push(h('small', { id: hid, class: 'hint' }, hint));
  }
  return h('div', { class: control.type === 'checkbox' ? 'field check' : 'field' }, kids);
}

export const input = (attrs) => h('input', { type: 'text', ...attrs });
export const button = (label, onclick, cls = 'btn secondary', attrs = {}) => h('button', { type: 'button', class: cls, onclick, ...attrs }, label);
export const select = (options, value, attrs = {}) =>
  h('select', attrs, options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, t)));
/** A table with a (visually hidden) caption, in a scrollable region the keyboard can reach. */
export const tableBox = (label, ...kids) => h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: 0 },
  h('table', {}, h('caption', { class: 'sr-only' }, label), kids));
export const card = (title, ...kids) => {
  const id = nid('s');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id, tabindex: -1 }, title), kids);
};
export const dl = (rows) => h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
export const muted = (text) => h('p', { class: 'muted' }, text);
export const link = (href, text, attrs = {}) => h('a', { href, ...attrs }, text);
export const serviceHref = (id) => `${BASE}/services/${encodeURIComponent(id)}`;
export const clientHref = (id) => `${BASE}/clients/${encodeURIComponent(id)}`;

/** An element that shows errors (role="alert"), with room after it for a payment offer. */
export const alertBox = () => h('div', { role: 'alert', class: 'alert' });
/** An element that says what was done (role="status"). */
export const statusBox = () => h('div', { role: 'status', class: 'note' });

export function showError(box, err, onPaymentStarted) {
  clearError(box);
  put(box, err.detail || err.message || 'Something went wrong.');
  if (err.status === 402 && !isProvider()) box.after(paymentOffer(err, onPaymentStarted));
}

export function clearError(box) {
  fill(box);
  if (box.nextElementSibling?.classList.contains('pay-offer')) box.nextElementSibling.remove();
}

export function say(box, text) { fill(box, text); }

/** Re-draws inside `scope` and puts the focus back on the control that had it (by data-k). */
export function keepFocus(scope, draw) {
  const had = scope.contains(document.activeElement) ? document.activeElement.dataset.k : null;
  draw();
  if (had) scope.querySelector(`[data-k="${CSS.escape(had)}"]`)?.focus();
}

export function focusIfLost(el) {
  const a = document.activeElement;
  if (!a || a === document.body || !a.isConnected) el?.focus();
}

// ---------------------------------------------------------------- formats

export const money = (m) => (m == null ? '—' : (Number(m) / 100).toFixed(2));
export const toMinor = (v) => Math.round(Number(String(v).replace(',', '.')) * 100);
const pad = (n) => String(n).padStart(2, '0');
export const months = (n) => `${n} month${Number(n) === 1 ? '' : 's'}`;
export const words = (s) => String(s ?? '').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

export function day(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
export function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : `${day(iso)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}
export const timeEl = (iso, long) => (iso ? h('time', { datetime: iso }, long ? when(iso) : day(iso)) : '—');

function statusText(s) {
  const d = s.display_status || s.status;
  if (d === 'in_progress') return s.operation ? `In progress (${s.operation})` : 'In progress';
  return STATUS_WORDS[d] || words(d);
}

export function statusBadge(s) {
  const d = s.display_status || s.status;
  const tone = ['active', 'access_to_kvm'].includes(d) ? 'ok'
    : /suspended|error|not_available|deleted/.test(d) ? 'bad'
      : /progress|transfer|change|issue|ordered|cart|configuration/.test(d) ? 'busy' : 'neutral';
  return h('span', { class: `badge ${tone}` }, statusText(s));
}

/** The service as its client knows it: the tariff and its main parameter. */
export function serviceName(s, tariffs) {
  const name = tariffs?.get(s.tariff_id)?.name || s.tariff_id;
  const p = s.params || {};
  const main = p.domain ?? p.os_template ?? p.os;
  return main ? `${name} (${main})` : name;
}

// ---------------------------------------------------------------- icons

const ICONS = {
  renew: 'M20 12a8 8 0 1 1-2.3-5.7M20 4v4h-4',
  ops: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM12 7v5l3 3',
  price: 'M3 3h8l10 10-8 8L3 11zM7.5 7.5h.01',
};
/** An icon with a text alternative; without a label it is decorative (hidden from assistive tech). */
export function icon(name, label) {
  const a11y = label ? { role: 'img', 'aria-label': label, title: label } : { 'aria-hidden': 'true' };
  return h('span', { class: `icon i-${name}`, ...a11y },
    svg('svg', { viewBox: '0 0 24 24', width: 18, height: 18, 'aria-hidden': 'true', focusable: 'false' },
      svg('path', { d: ICONS[name] })));
}

// ---------------------------------------------------------------- forms

/**
 * A form's submit handler that runs once at a time: a second submit while the first is under
 * way (a double click, Enter pressed twice) does nothing. The form is `aria-busy` meanwhile.
 */
export function onSubmit(form, handler) {
  let running = false;
  form.addEventListener('submit', async (e) => {
    if (running) {
      e.preventDefault();
      return;
    }
    running = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await handler(e);
    } finally {
      running = false;
      form.removeAttribute('aria-busy');
    }
  });
}

// ---------------------------------------------------------------- page frame and navigation

export function navigate(url, replace) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  S.render(true);
  window.scrollTo(0, 0);
}

/** Starts a page: its h1 (focused after a navigation), the document title and a pending flash. */
export function head(ctx, title) {
  document.title = `${title} · Hosting console`;
  const el = h('h1', { tabindex: -1 }, title);
  fill(ctx.main, el);
  if (S.flash) {
    put(ctx.main, h('p', { class: 'flash', role: 'status' }, S.flash));
    S.flash = null;
  }
  if (S.focusNext) el.focus();
  return el;
}

export function retitle(el, title) {
  el.textContent = title;
  document.title = `${title} · Hosting console`;
}

export function notFound(ctx, text) {
  head(ctx, 'Not found');
  put(ctx.main, h('p', {}, text), h('p', {}, link(`${BASE}/services`, 'Back to the list')));
}

// ---------------------------------------------------------------- payments (shared)

/** The "Start a payment" offer shown after a 402: the shortfall, editable. */
function paymentOffer(err, onStarted) {
  const m = /balance of (\d+) does not cover (\d+)/.exec(err.detail || '');
  const short = m ? Math.max(1, Number(m[2]) - Number(m[1])) : null;
  const amount = input({ inputmode: 'decimal', value: short ? money(short) : '', required: true, autocomplete: 'off' });
  const box = alertBox();
  const note = statusBox();
  const form = h('form', { class: 'pay-offer card inset' },
    h('p', {}, short ? `The balance is short by ${money(short)}.` : 'The balance is short.'),
    field('Amount to pay', amount), box,
    h('button', { type: 'submit', class: 'btn' }, 'Start a payment'), note);
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    const minor = toMinor(amount.value);
    if (!(minor >= 1)) return showError(box, { detail: 'Enter an amount, such as 12.50.' });
    try {
      const p = await api('POST', '/payments', { amount: minor });
      say(note, `A payment of ${money(p.amount)} was started. It is pending until the payment gateway confirms it; what it covers is then paid.`);
      onStarted?.(p);
    } catch (e2) { showError(box, e2); }
  });
  return form;
}

/** A quote (dry_run answer) as a definition list. */
export function quoteView(q, totalLabel = 'Amount to pay') {
  const credit = q.total < 0;
  return h('div', { class: 'quote' },
    h('h4', {}, 'Quote'),
    dl([
      [credit ? 'Credit' : totalLabel, money(Math.abs(q.total))],
      ['Balance after', money(q.balance_after)],
      q.expires_at && ['New expiry', timeEl(q.expires_at)],
      q.status && ['Status after', STATUS_WORDS[q.status] || words(q.status)],
    ]),
    q.lines?.length ? h('ul', { class: 'lines' }, q.lines.map((l) => h('li', {},
      `${QUOTE_WORDS[l.what] || words(l.what)}: ${months(l.period_months)}, ${l.days} days — ${money(l.amount)}`))) : null);
}

// ---------------------------------------------------------------- polling

// Re-reading while something is under way: from 1 s, doubling to a minute, for at most ten
// minutes after the last change (then a Refresh control), and never in a hidden tab (the
// next read waits until it is shown again).
const POLL_FIRST = 1000;
const POLL_MAX = 60 * 1000;
const POLL_FOR = 10 * 60 * 1000;
export const pollState = () => ({ delay: POLL_FIRST, since: Date.now() });

export function pollLater(ctx, state, run, stopped) {
  if (Date.now() - state.since > POLL_FOR) return stopped();
  if (document.hidden) {
    const shown = () => {
      if (document.hidden) return;
      document.removeEventListener('visibilitychange', shown);
      if (ctx.alive()) run();
    };
    document.addEventListener('visibilitychange', shown);
    return null;
  }
  const timer = ctx.later(run, state.delay);
  state.delay = Math.min(state.delay * 2, POLL_MAX);
  return timer;
}
