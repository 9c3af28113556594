// The client's account: balance, ledger, adding funds and the notification address; the
// balance and ledger views the provider's client page shares.

import { api, isProvider, qs } from './api.js';
import {
  alertBox, button, card, clearError, clientHref, dl, field, fill, h, head, input, link, money,
  muted, navigate, onSubmit, put, say, serviceHref, showError, statusBox, tableBox, timeEl,
  toMinor, when, words,
} from './ui.js';

const LEDGER_WORDS = {
  payment: 'Payment', order_charge: 'Order', renewal: 'Renewal', tariff_change: 'Tariff change',
  options: 'Options change', refund: 'Refund', reversal: 'Reversal',
};

function ledgerTable(entries) {
  const rows = (list) => list.map((e) => h('tr', {},
    h('td', {}, timeEl(e.at, true)), h('td', {}, LEDGER_WORDS[e.kind] || words(e.kind)),
    h('td', { class: 'num' }, money(e.amount)),
    h('td', {}, e.service_id ? link(serviceHref(e.service_id), e.service_id) : '—'),
    h('td', { class: 'num' }, money(e.balance_after))));
  const tbody = h('tbody', {}, rows(entries));
  const el = tableBox('Ledger, newest first',
    h('thead', {}, h('tr', {}, ['Date', 'Kind', 'Amount', 'Service', 'Balance after'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody);
  return { el, append: (list) => put(tbody, ...rows(list)) };
}

/** Balance and ledger of `path` (GET /account or /clients/{id}/account), with "Load more". */
export function accountView(ctx, path, onMissing) {
  const box = alertBox();
  const balance = h('div');
  const ledger = h('div', {}, muted('Loading…'));
  let cursor = null;
  let table = null;
  async function load(more) {
    clearError(box);
    try {
      const r = await api('GET', path + qs({ limit: 50, cursor: more ? cursor : null }));
      if (!ctx.alive()) return;
      cursor = r.cursor;
      fill(balance, h('p', { class: 'balance' }, h('span', {}, 'Balance '), h('strong', {}, money(r.balance))));
      if (more && table) table.append(r.entries); else table = ledgerTable(r.entries);
      fill(ledger, r.entries.length || more ? table.el : muted('No ledger entries yet.'),
        cursor ? h('p', {}, button('Load more', () => load(true))) : null);
    } catch (e) {
      if (e.status === 404 && onMissing) { fill(balance); fill(ledger); return onMissing(); }
      showError(box, e);
    }
  }
  return { balance: h('div', {}, box, balance), ledger, load };
}

export async function pageAccount(ctx) {
  head(ctx, 'Account');
  if (isProvider()) {
    put(ctx.main, h('p', {}, 'The provider has no account of its own. Open a client\'s account:'), clientLookup());
    return;
  }
  const acc = accountView(ctx, '/account');
  const amount = input({ inputmode: 'decimal', required: true, autocomplete: 'off' });
  const box = alertBox();
  const note = statusBox();
  const form = h('form', { class: 'stack' }, field('Amount', amount, 'Such as 25.00.'), box,
    h('button', { type: 'submit', class: 'btn' }, 'Start a payment'), note);
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    const minor = toMinor(amount.value);
    if (!(minor >= 1)) return showError(box, { detail: 'Enter an amount, such as 25.00.' });
    try {
      const p = await api('POST', '/payments', { amount: minor });
      say(note, `A payment of ${money(p.amount)} was started; it is credited when the payment gateway confirms it.`);
      amount.value = '';
    } catch (err) { showError(box, err); }
  });
  put(ctx.main, h('div', { class: 'cols' }, card('Balance', acc.balance), card('Add funds', form)),
    card('E-mail notifications', notificationsPanel()), card('Ledger', acc.ledger));
  await acc.load(false);
}

/**
 * The client's notification address: the confirmed one, one waiting for its token, a form to
 * set another (it is sent a token first) and one to enter the token. A link from the
 * confirmation e-mail (`?confirm=TOKEN`) confirms at once.
 */
function notificationsPanel() {
  const shown = h('div', {}, muted('Loading…'));
  const email = input({ type: 'email', autocomplete: 'email', required: true });
  const token = input({ autocomplete: 'one-time-code', required: true, spellcheck: 'false' });
  const box = alertBox();
  const note = statusBox();
  const show = (s) => fill(shown, dl([
    ['Sent to', s.email || 'No confirmed address: nothing is e-mailed'],
    s.pending_email && ['Waiting for confirmation', `${s.pending_email} (the code sent there works until ${when(s.pending_until)})`],
  ]));
  const setForm = h('form', { class: 'stack' }, field('New address', email, 'It is sent a code; e-mails go there once you enter it.'),
    h('button', { type: 'submit', class: 'btn' }, 'Send a code'));
  const confirmForm = h('form', { class: 'stack' }, field('Code', token, 'From the e-mail sent to the new address.'),
    h('button', { type: 'submit', class: 'btn secondary' }, 'Confirm the address'));
  let current = { muted: [] };
  const load = async () => { current = await api('GET', '/account/notifications'); show(current); };
  onSubmit(setForm, async (e) => {
    e.preventDefault();
    clearError(box);
    try {
      current = await api('PUT', '/account/notifications', { email: email.value.trim(), muted: current.muted || [] });
      show(current);
      say(note, current.pending_email ? `A code was sent to ${current.pending_email}.` : 'Saved.');
      email.value = '';
    } catch (err) { showError(box, err); }
  });
  const confirm = async (code) => {
    clearError(box);
    try {
      current = await api('POST', '/account/notifications/confirm', { token: code.trim() });
      show(current);
      say(note, `Confirmed: e-mails go to ${current.email}.`);
      token.value = '';
    } catch (err) { showError(box, err); }
  };
  onSubmit(confirmForm, async (e) => { e.preventDefault(); await confirm(token.value); });
  const linked = new URLSearchParams(location.search).get('confirm');
  load().then(async () => {
    if (!linked) return;
    history.replaceState(null, '', location.pathname);
    await confirm(linked);
  }).catch((err) => showError(box, err));
  return h('div', { class: 'stack' }, shown, setForm, confirmForm, box, note);
}

export function clientLookup() {
  const id = input({ required: true, autocomplete: 'off' });
  const form = h('form', { class: 'row card', role: 'search', 'aria-label': 'Find a client' }, field('Client id', id),
    h('button', { type: 'submit', class: 'btn' }, 'Open'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (id.value.trim()) navigate(clientHref(id.value.trim()));
  });
  return form;
}
