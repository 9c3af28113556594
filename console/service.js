// A service's page: its details, a button for each allowed action with its panel (quote, then
// Confirm), the reasons of the refused ones, its type's settings, its timeline and history.

import { api, BASE, etagOf, getTariff, isProvider, qs, S, tariffsOrEmpty } from './api.js';
import {
  alertBox, button, card, clearError, clientHref, day, dl, field, fill, focusIfLost, h, head, icon,
  input, keepFocus, link, money, months, muted, navigate, notFound, onSubmit, pollLater, pollState,
  put, quoteView, retitle, say, select, serviceName, showError, STATUS_WORDS, statusBadge,
  statusBox, svg, tableBox, timeEl, toMinor, TYPE_NAMES, words,
} from './ui.js';

// allowed_actions keys, in the order their buttons are shown, with their labels.
const ACTIONS = [['panel_login', 'Open control panel'], ['edit', 'Edit'], ['renew', 'Renew'], ['change_tariff', 'Change tariff'],
  ['options', 'Options'], ['enable', 'Enable'], ['disable', 'Disable'], ['reboot', 'Reboot'],
  ['transfer', 'Transfer'], ['reissue', 'Reissue'], ['activate', 'Activate'], ['grace', 'Grace'],
  ['ticket', 'Ticket'], ['delete', 'Delete']];
const ACTION_LABEL = Object.fromEntries(ACTIONS);
const SIMPLE_ACTIONS = ['enable', 'disable', 'reboot', 'reissue', 'activate'];
const TIMELINE_WORDS = {
  auto_renewal: 'Auto-renewal attempt', expiry: 'Expiry', grace_end: 'Grace ends',
  suspension: 'Suspension for non-payment', deletion: 'Deletion', scheduled_deletion: 'Scheduled deletion',
};
// Settings by product type (docs/api.md, "Settings by product type").
const SETTINGS = { vps: ['ips', 'stats'], shared_hosting: ['stats'], domain: ['nameservers', 'whois'], vdc: ['vservers'] };

/** A datetime-local value (UTC) for an ISO date, and back. */
const toLocalInput = (iso) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');
function fromLocalInput(v) {
  const d = v ? new Date(v.length === 16 ? `${v}:00Z` : `${v}Z`) : null;
  return d && !isNaN(d) ? d.toISOString() : null;
}

const busy = (s) => s.status === 'in_progress' || !!s.flags?.operations_running || !!s.payment_pending;

const dry = (yes) => (yes ? '?dry_run=true' : '');

export async function pageService(ctx, id) {
  const title = head(ctx, 'Service');
  const box = alertBox();
  const note = statusBox();
  put(ctx.main, box, note);
  let svc;
  try {
    svc = await api('GET', `/services/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!ctx.alive()) return;
    if (e.status === 404) return notFound(ctx, 'There is no such service.');
    return showError(box, e);
  }
  if (!ctx.alive()) return;
  const [tariffs, tariff] = await Promise.all([tariffsOrEmpty(), getTariff(svc.tariff_id)]);
  if (!ctx.alive()) return;
  if (tariff) tariffs.set(tariff.id, tariff);
  const v = {
    ctx, id, svc, tariffs, tariff, title, box, note, base: `/services/${encodeURIComponent(id)}`,
    drawn: '', busy: false, timer: null, settingsKey: null, historyCursor: null,
  };
  v.details = h('div');
  v.actionsHead = h('h2', { id: 'h-actions', tabindex: -1 }, 'Actions');
  v.toolbar = h('div', { class: 'toolbar', role: 'group', 'aria-labelledby': 'h-actions' });
  v.panel = h('div', { class: 'panel' });
  v.why = h('div');
  v.settings = h('div');
  v.timeline = h('div');
  v.historyHead = h('h2', { id: 'history', tabindex: -1 }, 'History');
  v.history = h('div');
  put(ctx.main,
    v.details,
    h('section', { class: 'card', 'aria-labelledby': 'h-actions' }, v.actionsHead, v.toolbar, v.why, v.panel),
    v.settings,
    card('Timeline', v.timeline),
    h('section', { class: 'card', 'aria-labelledby': 'history' }, v.historyHead, v.history),
    isProvider() ? abuseCard(v) : null);
  showService(v, svc);
}

function showService(v, svc) {
  v.svc = svc;
  clearTimeout(v.timer);
  const key = JSON.stringify(svc);
  if (key !== v.drawn) {
    v.drawn = key;
    v.poll = pollState();
    retitle(v.title, serviceName(svc, v.tariffs));
    const inside = v.toolbar.contains(document.activeElement) || v.why.contains(document.activeElement);
    keepFocus(v.ctx.main, () => { drawDetails(v); drawToolbar(v); });
    if (inside) focusIfLost(v.actionsHead);
    loadTimeline(v);
    loadHistory(v, false);
    drawSettings(v);
  }
  if (busy(svc)) {
    v.timer = pollLater(v.ctx, v.poll, () => refreshService(v), () => fill(v.note, h('p', {},
      'Still waiting for the operation. ', button('Refresh', () => { v.poll = pollState(); refreshService(v); }, 'btn secondary'))));
  }
}

async function refreshService(v) {
  clearTimeout(v.timer);
  let svc;
  try {
    svc = await api('GET', `/services/${encodeURIComponent(v.id)}`);
  } catch (e) {
    if (!v.ctx.alive()) return;
    if (e.status === 404) {
      S.flash = 'The service no longer exists.';
      return navigate(`${BASE}/services`, true);
    }
    showError(v.box, e);
    if (busy(v.svc)) v.timer = pollLater(v.ctx, v.poll, () => refreshService(v), () => {});
    return;
  }
  if (v.ctx.alive()) showService(v, svc);
}

function drawDetails(v) {
  const s = v.svc;
  const optName = (id) => v.tariff?.options?.find((o) => o.id === id)?.name || id;
  const params = Object.entries(s.params || {});
  const ar = s.auto_renew || {};
  fill(v.details, card('Details', dl([
    ['Status', statusBadge(s)],
    ['Product type', TYPE_NAMES[s.product_type] || s.product_type],
    ['Tariff', v.tariffs.get(s.tariff_id)?.name || s.tariff_id],
    isProvider() && ['Client', link(clientHref(s.client_id), s.client_id)],
    ['Expires', timeEl(s.expires_at)],
    ['Period', s.period_months ? months(s.period_months) : '—'],
    ['Renewal price', [money(s.renewal_price), ar.period_months ? ` for ${months(ar.period_months)}` : '',
      s.flags?.special_price ? [' ', icon('price', 'Special price')] : '']],
    ['Auto-renewal', ar.enabled ? [icon('renew', 'Auto-renewal on'), ` On, every ${months(ar.period_months)}`] : 'Off'],
    s.status === 'ordered' && !s.paid && ['Order price', money(s.order_price)],
    s.delete_at && ['Deletion scheduled', timeEl(s.delete_at, true)],
    s.grace && ['Grace', [timeEl(s.grace.until, true), ` — ${s.grace.reason}`]],
    s.last_error && ['Last error', s.last_error],
    isProvider() && s.abuse_score != null && ['Abuse score', String(s.abuse_score)],
    ['Parameters', params.length ? h('ul', { class: 'plain' }, params.map(([k, val]) => h('li', {}, h('code', {}, k), ` ${val}`))) : 'None'],
    ['Options', s.options?.length ? h('ul', { class: 'plain' }, s.options.map((o) => h('li', {}, `${optName(o.id)} × ${o.quantity}`))) : 'None'],
  ]), h('p', {}, link(`${BASE}/tickets?service_id=${encodeURIComponent(s.id)}`, 'Conversations about this service'))));
}

function drawToolbar(v) {
  const allowed = v.svc.allowed_actions || {};
  const buttons = ACTIONS.filter(([k]) => allowed[k]?.allowed === true).map(([k, label]) =>
    button(label, () => openAction(v, k), k === 'delete' ? 'btn danger' : 'btn secondary', { 'data-k': `a-${k}` }));
  buttons.push(button('History', () => showHistory(v), 'btn secondary', { 'data-k': 'a-history', 'aria-controls': 'history' }));
  fill(v.toolbar, ...buttons);
  // The control panel's button is there when it can be used; no reason is listed without it.
  const refused = Object.entries(allowed).filter(([k, a]) => a && a.allowed === false && k !== 'panel_login');
  fill(v.why, refused.length ? h('details', { class: 'why' },
    h('summary', {}, 'Why some actions are unavailable'),
    h('ul', {}, refused.map(([k, a]) => h('li', {}, h('strong', {}, ACTION_LABEL[k] || words(k)), `: ${a.reason || 'not allowed now'}`)))) : '');
}

async function showHistory(v) {
  await loadHistory(v, false);
  v.historyHead.scrollIntoView({ block: 'start' });
  v.historyHead.focus();
}

/** Opens the panel of one action: a form, a quote or a confirmation; simple ones run at once. */
function openAction(v, action) {
  if (v.busy) return;
  clearError(v.box);
  say(v.note, '');
  if (SIMPLE_ACTIONS.includes(action)) {
    return runAction(v, () => api('POST', `${v.base}/${action}`, {}, seen(v)), `${ACTION_LABEL[action]} requested.`);
  }
  if (action === 'panel_login') return openControlPanel(v);
  const panels = {
    renew: renewPanel, change_tariff: tariffPanel, options: optionsPanel, edit: editPanel,
    ticket: ticketPanel, grace: gracePanel,
    delete: (x) => confirmPanel(x, 'Delete', 'Delete this service beyond recovery? A service never activated is deleted at once and refunded; otherwise the product type\'s rules apply.',
      () => api('DELETE', x.base), 'Deletion requested.', 'btn danger'),
    transfer: (x) => confirmPanel(x, 'Transfer', x.svc.product_type === 'domain'
      ? 'Transfer this domain to another registrar?' : 'Move this service to another node?',
    () => api('POST', `${x.base}/transfer`, {}), 'Transfer requested.'),
  };
  panels[action]?.(v);
}

/**
 * Signs in to the service's control panel: a one-time link (good once, for a minute) opened in
 * a new tab with no opener. Should the browser have blocked the tab, the link is offered until
 * it expires; it is kept nowhere else.
 */
async function openControlPanel(v) {
  if (v.busy) return;
  v.busy = true;
  v.toolbar.setAttribute('aria-busy', 'true');
  clearError(v.box);
  try {
    const session = await api('POST', `${v.base}/panel-session`, {});
    if (!/^https?:\/\//i.test(session?.url || '')) throw new Error('The control panel gave no usable link.');
    window.open(session.url, '_blank', 'noopener,noreferrer');
    const offer = h('p', {}, 'The control panel opened in a new tab. If it did not, ',
      h('a', { href: session.url, target: '_blank', rel: 'noopener noreferrer' }, 'open the control panel'),
      ' (the link works once, until ', timeEl(session.expires_at, true), ').');
    fill(v.panel, h('div', { class: 'card inset' }, offer));
    const left = Math.max(0, Math.min(60_000, new Date(session.expires_at) - Date.now()));
    setTimeout(() => { if (v.panel.contains(offer)) fill(v.panel); }, left);
  } catch (e) {
    showError(v.box, e);
    v.box.scrollIntoView({ block: 'nearest' });
  } finally {
    v.busy = false;
    v.toolbar.removeAttribute('aria-busy');
  }
}

/** Shows a panel with a heading (focused) and a Cancel button. */
function panelFrame(v, title, ...kids) {
  const heading = h('h3', { tabindex: -1 }, title);
  fill(v.panel, h('div', { class: 'card inset' }, heading, kids,
    h('p', {}, button('Cancel', () => closePanel(v), 'btn ghost-dark'))));
  heading.focus();
}

function closePanel(v) {
  fill(v.panel);
  focusIfLost(v.actionsHead);
}

/** Runs a change, says it was done and reads the service again. */
async function runAction(v, request, done, keepPanel) {
  if (v.busy) return;
  v.busy = true;
  v.toolbar.setAttribute('aria-busy', 'true');
  clearError(v.box);
  try {
    await request();
    if (!keepPanel) fill(v.panel);
    say(v.note, done);
    await refreshService(v);
    focusIfLost(v.actionsHead);
    return true;
  } catch (e) {
    showError(v.box, e);
    v.box.scrollIntoView({ block: 'nearest' });
    // Changed since it was shown: show it as it is now (a quote is asked for again).
    if (e.status === 412) await refreshService(v);
    return false;
  } finally {
    v.busy = false;
    v.toolbar.removeAttribute('aria-busy');
  }
}

/** Asks for a quote (dry_run) and shows it with a Confirm button that makes the real call. */
async function quoteStep(v, area, request, done) {
  clearError(v.box);
  fill(area, muted('Getting a quote…'));
  let q;
  // The confirmation sends the request quoted, body and all, with the version quoted
  // (If-Match): what the user typed since, or a service changed since (412), is never charged
  // other than the quote shown.
  const quoted = seen(v);
  const send = request();
  try {
    q = await send(true, quoted);
  } catch (e) {
    fill(area);
    showError(v.box, e);
    if (e.status === 412) refreshService(v);
    return v.box.scrollIntoView({ block: 'nearest' });
  }
  fill(area, quoteView(q), h('p', {}, button('Confirm', () => runAction(v, () => send(false, quoted), done), 'btn')));
}

/** The If-Match of the service as the page shows it. */
const seen = (v) => ({ ifMatch: etagOf(v.svc) });

function confirmPanel(v, title, text, request, done, cls = 'btn') {
  panelFrame(v, title, h('p', {}, text), h('p', {}, button('Confirm', () => runAction(v, request, done), cls)));
}

function renewPanel(v) {
  const periods = input({ type: 'number', min: 1, max: 10, value: 1, inputmode: 'numeric' });
  const area = h('div');
  const request = () => {
    const body = { periods: Math.min(10, Math.max(1, Number(periods.value) || 1)) };
    return (isDry, quoted) => api('POST', `${v.base}/renew${dry(isDry)}`, body, quoted);
  };
  periods.addEventListener('change', () => quoteStep(v, area, request, 'Renewal requested.'));
  const each = v.svc.auto_renew?.period_months;
  panelFrame(v, 'Renew', field('Periods', periods, each ? `Each period is ${months(each)}.` : null), area);
  quoteStep(v, area, request, 'Renewal requested.');
}

function tariffPanel(v) {
  const targets = v.tariff?.change_to || [];
  if (!targets.length) return panelFrame(v, 'Change tariff', h('p', {}, 'This tariff cannot be changed to another one.'));
  const sel = select(targets.map((id) => [id, v.tariffs.get(id)?.name || id]), targets[0]);
  const area = h('div');
  const request = () => {
    const body = { tariff_id: sel.value };
    return (isDry, quoted) => api('POST', `${v.base}/change-tariff${dry(isDry)}`, body, quoted);
  };
  sel.addEventListener('change', () => quoteStep(v, area, request, 'Tariff change requested.'));
  panelFrame(v, 'Change tariff', field('New tariff', sel), area);
  quoteStep(v, area, request, 'Tariff change requested.');
}

async function optionsPanel(v) {
  let r;
  try { r = await api('GET', `${v.base}/options`); } catch (e) { return showError(v.box, e); }
  if (!r.items?.length) return panelFrame(v, 'Options', h('p', {}, 'This tariff offers no options.'));
  const inputs = r.items.map((o) => [o, input({ type: 'number', min: 0, max: o.max, value: o.quantity, inputmode: 'numeric' })]);
  const area = h('div');
  const request = () => {
    const body = {
      options: inputs.map(([o, i]) => ({ id: o.id, quantity: Math.max(0, Math.floor(Number(i.value) || 0)) })).filter((o) => o.quantity > 0),
    };
    return (isDry, quoted) => api('PUT', `${v.base}/options${dry(isDry)}`, body, quoted);
  };
  // A quote stands for the quantities it was made for: changing one takes it away.
  inputs.forEach(([, i]) => i.addEventListener('input', () => fill(area)));
  panelFrame(v, 'Options',
    inputs.map(([o, i]) => field(o.name, i, `0 to ${o.max}, ${money(o.price)} each per month`)),
    h('p', {}, button('Get quote', () => quoteStep(v, area, request, 'Options change requested.'))), area);
}

function editPanel(v) {
  const s = v.svc;
  const ar = s.auto_renew || { enabled: false, period_months: s.period_months };
  const periods = Object.keys(v.tariff?.prices || { [ar.period_months]: 0 }).map(Number).sort((a, b) => a - b);
  const enabled = h('input', { type: 'checkbox', checked: ar.enabled });
  const period = select(periods.map((p) => [p, months(p)]), ar.period_months);
  const fields = [field('Renew automatically', enabled), field('Renewal period', period)];
  let price; let expires;
  if (isProvider()) {
    price = input({ inputmode: 'decimal', value: money(s.renewal_price), autocomplete: 'off' });
    expires = input({ type: 'datetime-local', value: toLocalInput(s.expires_at) });
    fields.push(field('Renewal price', price, 'For the renewal period, options included. Another price than the list price is a special price.'),
      field('Expires at (UTC)', expires));
  }
  const missing = (v.tariff?.required_params || []).filter((p) => !s.params?.[p]);
  const params = s.status === 'configuration_required' ? missing.map((p) => [p, input({ autocomplete: 'off', required: true })]) : [];
  fields.push(...params.map(([p, i]) => field(p, i)));
  const form = h('form', { class: 'stack' }, fields, h('button', { type: 'submit', class: 'btn' }, 'Save'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = {};
    if (enabled.checked !== !!ar.enabled || Number(period.value) !== ar.period_months) {
      body.auto_renew = { enabled: enabled.checked, period_months: Number(period.value) };
    }
    if (price) {
      const minor = toMinor(price.value);
      if (!(minor >= 0)) return showError(v.box, { detail: 'Enter the renewal price as a number, such as 12.50.' });
      if (minor !== s.renewal_price) body.renewal_price = minor;
    }
    if (expires?.value && expires.value !== toLocalInput(s.expires_at)) body.expires_at = fromLocalInput(expires.value);
    const filled = params.filter(([, i]) => i.value.trim());
    if (filled.length) body.params = Object.fromEntries(filled.map(([p, i]) => [p, i.value.trim()]));
    if (!Object.keys(body).length) return showError(v.box, { detail: 'Nothing was changed.' });
    runAction(v, () => api('PATCH', v.base, body, seen(v)), 'Saved.');
  });
  const withdraw = s.delete_at ? h('p', {}, button('Withdraw the scheduled deletion',
    () => runAction(v, () => api('PATCH', v.base, { delete_at: null }), 'The scheduled deletion was withdrawn.'))) : null;
  panelFrame(v, 'Edit', form, withdraw);
}

function ticketPanel(v) {
  const subject = input({ maxlength: 200, required: true, autocomplete: 'off' });
  const message = h('textarea', { rows: 5, maxlength: 10000, required: true });
  const form = h('form', { class: 'stack' }, field('Subject', subject), field('Message', message),
    h('button', { type: 'submit', class: 'btn' }, 'Send'));
  onSubmit(form, async (e) => {
    e.preventDefault();
    const ok = await runAction(v, () => api('POST', `${v.base}/tickets`, { subject: subject.value.trim(), message: message.value.trim() }),
      'Ticket opened.', true);
    if (ok) {
      const done = h('p', { tabindex: -1 }, 'Ticket opened. ', link(`${BASE}/tickets?service_id=${encodeURIComponent(v.id)}`, 'See the conversation'));
      fill(v.panel, h('div', { class: 'card inset' }, done));
      done.focus();
    }
  });
  panelFrame(v, 'Ticket', form);
}

function gracePanel(v) {
  const base = v.svc.expires_at ? new Date(v.svc.expires_at) : new Date();
  const until = input({ type: 'datetime-local', required: true, value: toLocalInput(new Date(base.getTime() + 7 * 864e5).toISOString()) });
  const reason = h('textarea', { rows: 3, maxlength: 500, required: true });
  const form = h('form', { class: 'stack' }, field('Until (UTC)', until, 'After the expiry, at most 3 months past it.'),
    field('Reason', reason), h('button', { type: 'submit', class: 'btn' }, 'Confirm'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runAction(v, () => api('POST', `${v.base}/grace`, { until: fromLocalInput(until.value), reason: reason.value.trim() }), 'Grace granted.');
  });
  panelFrame(v, 'Grace', form);
}

function abuseCard(v) {
  const score = input({ type: 'number', min: 1, max: 1000, value: 10, required: true, inputmode: 'numeric' });
  const description = h('textarea', { rows: 3, maxlength: 2000, required: true });
  const form = h('form', { class: 'stack' }, field('Score', score, 'The service is suspended once its score reaches the product type\'s abuse limit.'),
    field('Description', description), h('button', { type: 'submit', class: 'btn secondary' }, 'Add abuse report'));
  onSubmit(form, async (e) => {
    e.preventDefault();
    const ok = await runAction(v, () => api('POST', `${v.base}/abuse-reports`, { score: Number(score.value), description: description.value.trim() }),
      'Abuse report added.', true);
    if (ok) description.value = '';
  });
  return card('Abuse reports', form);
}

async function loadTimeline(v) {
  try {
    const r = await api('GET', `${v.base}/timeline`);
    if (!v.ctx.alive()) return;
    fill(v.timeline, r.items?.length ? h('ol', { class: 'events' }, r.items.map((i) => h('li', {},
      timeEl(i.at, true), ' — ', TIMELINE_WORDS[i.event] || words(i.event),
      i.amount != null ? `: ${money(i.amount)}` : '',
      i.covered === true ? ' (the balance covers it)' : i.covered === false ? ' (the balance does not cover it)' : ''))) : muted('Nothing is scheduled.'));
  } catch (e) {
    fill(v.timeline, muted(e.detail || e.message));
  }
}

function detailsText(details) {
  return Object.entries(details || {}).filter(([, val]) => val != null).map(([k, val]) =>
    `${words(k)}: ${val !== null && typeof val === 'object' ? JSON.stringify(val) : val}`).join('; ');
}

async function loadHistory(v, more) {
  try {
    const r = await api('GET', `${v.base}/history${qs({ limit: 20, cursor: more ? v.historyCursor : null })}`);
    if (!v.ctx.alive()) return;
    v.historyCursor = r.cursor;
    const items = r.items.map((e) => h('li', {},
      h('strong', {}, words(e.operation)), ' — ', timeEl(e.at, true),
      ` by ${e.actor?.role === 'provider' ? 'the provider' : isProvider() ? `client ${e.actor?.id}` : 'you'}`,
      e.status_after ? `: ${e.status_before && e.status_before !== e.status_after ? `${STATUS_WORDS[e.status_before] || words(e.status_before)} → ` : ''}${STATUS_WORDS[e.status_after] || words(e.status_after)}` : '',
      detailsText(e.details) ? h('div', { class: 'small muted' }, detailsText(e.details)) : null));
    const list = more ? v.history.querySelector('ol') : h('ol', { class: 'events' });
    put(list, ...items);
    fill(v.history, list.children.length ? list : muted('No history yet.'),
      r.cursor ? h('p', {}, button('Load older entries', () => loadHistory(v, true), 'btn secondary', { 'data-k': 'h-more' })) : null);
  } catch (e) {
    fill(v.history, muted(e.detail || e.message));
  }
}

// ---------------------------------------------------------------- settings by product type

function drawSettings(v) {
  const kinds = SETTINGS[v.svc.product_type] || [];
  const ready = v.svc.status === 'active' && !v.svc.flags?.operations_running;
  const key = kinds.length ? String(ready) : '';
  if (key === v.settingsKey) return;
  v.settingsKey = key;
  if (!kinds.length) return fill(v.settings);
  if (!ready) return fill(v.settings, card('Settings', muted('Settings are available while the service is active and no operation is running.')));
  const views = { ips: ipCard, stats: statsCard, nameservers: nameserversCard, whois: whoisCard, vservers: vserversCard };
  fill(v.settings, ...kinds.map((k) => views[k](v)));
}

/** A settings card: its own error box, a body, and a load function run at once. */
function settingCard(title, load) {
  const box = alertBox();
  const note = statusBox();
  const body = h('div', {}, muted('Loading…'));
  const el = card(title, box, note, body);
  const reload = async () => {
    try { await load(body, { box, note, reload }); } catch (e) { fill(body); showError(box, e); }
  };
  reload();
  return el;
}

function ipCard(v) {
  return settingCard('IP addresses', async (body, c) => {
    const r = await api('GET', `${v.base}/ip-addresses`);
    const offer = (ver) => v.tariff?.options?.find((o) => o.id === `ipv${ver}`);
    const area = h('div');
    const add = (ver) => {
      const o = offer(ver);
      const text = o ? `An extra IPv${ver} address costs ${money(o.price)} per month; the days left of the paid period are charged now.`
        : `An IPv${ver} address is free (up to 16).`;
      fill(area, h('div', { class: 'card inset' }, h('p', { tabindex: -1 }, text),
        h('p', {}, button('Confirm', async () => {
          clearError(c.box);
          try {
            const ip = await api('POST', `${v.base}/ip-addresses`, { version: ver });
            say(c.note, `Address ${ip.address} added.`);
            await c.reload();
            refreshService(v);
          } catch (e) { showError(c.box, e); }
        }, 'btn'), ' ', button('Cancel', () => fill(area), 'btn ghost-dark'))));
      area.querySelector('p').focus();
    };
    const remove = async (ip) => {
      clearError(c.box);
      try {
        // ':' is legal in a path segment; keeping it spares the gateway an IPv6 address in %3A form.
        await api('DELETE', `${v.base}/ip-addresses/${encodeURIComponent(ip.address).replace(/%3A/gi, ':')}`);
        say(c.note, `Address ${ip.address} removed.`);
        await c.reload();
        refreshService(v);
      } catch (e) { showError(c.box, e); }
    };
    fill(body,
      r.items.length ? h('ul', { class: 'rows' }, r.items.map((ip) => h('li', {},
        h('code', {}, ip.address), ` IPv${ip.version} `,
        button('Remove', () => remove(ip), 'btn small secondary', { 'aria-label': `Remove ${ip.address}` })))) : muted('No addresses.'),
      h('p', { class: 'row' }, button('Add IPv4 address', () => add(4)), ' ', button('Add IPv6 address', () => add(6))), area);
  });
}

const METRICS = [['cpu_percent', 'CPU (%)'], ['memory_mb', 'Memory (MB)'], ['disk_mb', 'Disk (MB)'], ['traffic_mb', 'Traffic (MB)']];

function statsCard(v) {
  return settingCard('Statistics', async (body) => {
    const r = await api('GET', `${v.base}/statistics`);
    const metric = select(METRICS, 'cpu_percent');
    const chartBox = h('div');
    const draw = () => fill(chartBox, chart(r, metric.value, METRICS.find(([k]) => k === metric.value)[1]));
    metric.addEventListener('change', draw);
    draw();
    fill(body, field('Metric', metric), chartBox, h('details', {}, h('summary', {}, 'Data table'),
      tableBox('Statistics per day',
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), METRICS.map(([, t]) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.items.map((i) => h('tr', {}, h('th', { scope: 'row' }, day(i.at)), METRICS.map(([k]) => h('td', {}, String(i[k])))))))));
  });
}

/** A bar chart of one metric: inline SVG bars, labels as text beside it. */
function chart(stats, key, label) {
  const items = stats.items || [];
  if (!items.length) return muted('No samples in this period.');
  const W = 600; const H = 140;
  const max = Math.max(...items.map((i) => Number(i[key]) || 0), 1);
  const bw = W / items.length;
  const bars = items.map((i, n) => {
    const val = Number(i[key]) || 0;
    const bh = ((H - 4) * val) / max;
    return svg('rect', { x: (n * bw + bw * 0.15).toFixed(1), y: (H - bh).toFixed(1), width: (bw * 0.7).toFixed(1), height: bh.toFixed(1) },
      svg('title', {}, `${day(i.at)}: ${val}`));
  });
  const last = items[items.length - 1];
  const desc = `${label} per day from ${day(stats.from)} to ${day(stats.to)}; highest ${max}, latest ${last[key]}.`;
  return h('figure', { class: 'chart' },
    h('figcaption', { class: 'small muted' }, `${label}, highest ${max}`),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': desc, preserveAspectRatio: 'none' }, svg('g', {}, bars)),
    h('div', { class: 'axis small muted' }, h('span', {}, day(items[0].at)), h('span', {}, day(last.at))));
}

function nameserversCard(v) {
  return settingCard('Nameservers', async (body, c) => {
    const r = await api('GET', `${v.base}/nameservers`);
    const text = h('textarea', { rows: 4, value: (r.nameservers || []).join('\n'), spellcheck: 'false' });
    const form = h('form', { class: 'stack' }, field('Nameservers (one per line)', text, '2 to 13 host names.'),
      h('button', { type: 'submit', class: 'btn' }, 'Save nameservers'));
    onSubmit(form, async (e) => {
      e.preventDefault();
      clearError(c.box);
      try {
        const saved = await api('PUT', `${v.base}/nameservers`, { nameservers: text.value.split(/[\s,]+/).filter(Boolean) });
        text.value = saved.nameservers.join('\n');
        say(c.note, 'Nameservers saved.');
      } catch (err) { showError(c.box, err); }
    });
    fill(body, form);
  });
}

function whoisCard(v) {
  return settingCard('Whois', async (body, c) => {
    const r = await api('GET', `${v.base}/whois`);
    const reg = r.registrant || {};
    const adr = reg.address || {};
    const f = {
      name: input({ value: reg.name, required: true, autocomplete: 'name' }),
      organization: input({ value: reg.organization, autocomplete: 'organization' }),
      email: input({ type: 'email', value: reg.email, required: true, autocomplete: 'email' }),
      phone: input({ type: 'tel', value: reg.phone, required: true, autocomplete: 'tel' }),
      street: input({ value: adr.street, required: true, autocomplete: 'street-address' }),
      city: input({ value: adr.city, required: true, autocomplete: 'address-level2' }),
      postal_code: input({ value: adr.postal_code, required: true, autocomplete: 'postal-code' }),
      country: input({ value: adr.country, required: true, maxlength: 2, autocomplete: 'country' }),
    };
    const form = h('form', { class: 'stack' },
      r.registrant ? null : muted('No registrant contact is set yet.'),
      field('Name', f.name), field('Organization (optional)', f.organization), field('E-mail', f.email),
      field('Phone', f.phone, 'International format, such as +15551234567.'), field('Street', f.street),
      field('City', f.city), field('Postal code', f.postal_code), field('Country', f.country, 'Two letters, such as DE.'),
      h('button', { type: 'submit', class: 'btn' }, 'Save whois'));
    onSubmit(form, async (e) => {
      e.preventDefault();
      clearError(c.box);
      const val = (k) => f[k].value.trim();
      const registrant = {
        name: val('name'), email: val('email'), phone: val('phone'),
        address: { street: val('street'), city: val('city'), postal_code: val('postal_code'), country: val('country').toUpperCase() },
      };
      if (val('organization')) registrant.organization = val('organization');
      try {
        await api('PUT', `${v.base}/whois`, { registrant });
        say(c.note, 'Whois saved.');
      } catch (err) { showError(c.box, err); }
    });
    fill(body, form);
  });
}

function vserversCard(v) {
  return settingCard('Virtual servers', async (body, c) => {
    const r = await api('GET', `${v.base}/virtual-servers`);
    const del = async (btn, vs) => {
      if (btn.dataset.armed !== 'yes') {
        btn.dataset.armed = 'yes';
        btn.textContent = 'Confirm deletion';
        btn.setAttribute('aria-label', `Confirm deletion of ${vs.name}`);
        return;
      }
      clearError(c.box);
      try {
        await api('DELETE', `${v.base}/virtual-servers/${encodeURIComponent(vs.id)}`);
        say(c.note, `Virtual server ${vs.name} deleted.`);
        c.reload();
      } catch (e) { showError(c.box, e); }
    };
    const table = r.items.length ? tableBox('Virtual servers',
      h('thead', {}, h('tr', {}, ['Name', 'vCPU', 'Memory (MB)', 'Disk (GB)', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, r.items.map((vs) => {
        const b = button('Delete', () => del(b, vs), 'btn small danger', { 'aria-label': `Delete ${vs.name}` });
        return h('tr', {}, h('th', { scope: 'row' }, vs.name), h('td', {}, String(vs.vcpu)), h('td', {}, String(vs.memory_mb)), h('td', {}, String(vs.disk_gb)), h('td', {}, b));
      }))) : muted('No virtual servers yet.');
    const f = {
      name: input({ required: true, maxlength: 63, autocomplete: 'off' }),
      vcpu: input({ type: 'number', min: 1, max: 64, value: 1, required: true }),
      memory_mb: input({ type: 'number', min: 512, max: 262144, value: 1024, required: true }),
      disk_gb: input({ type: 'number', min: 10, max: 4096, value: 20, required: true }),
    };
    const form = h('form', { class: 'grid4' }, field('Name', f.name), field('vCPU', f.vcpu), field('Memory (MB)', f.memory_mb),
      field('Disk (GB)', f.disk_gb), h('div', { class: 'field end' }, h('button', { type: 'submit', class: 'btn' }, 'Create virtual server')));
    onSubmit(form, async (e) => {
      e.preventDefault();
      clearError(c.box);
      try {
        const vs = await api('POST', `${v.base}/virtual-servers`, {
          name: f.name.value.trim(), vcpu: Number(f.vcpu.value), memory_mb: Number(f.memory_mb.value), disk_gb: Number(f.disk_gb.value),
        });
        say(c.note, `Virtual server ${vs.name} created.`);
        c.reload();
      } catch (err) { showError(c.box, err); }
    });
    fill(body, table, h('h3', {}, 'New virtual server'), form);
  });
}
