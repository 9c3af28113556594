// The provider's client pages: the lookup, and one client's account, recorded payments and services.

import { api } from './api.js';
import {
  alertBox, card, clearError, field, h, head, input, money, muted, onSubmit, put, say, showError,
  statusBox, toMinor,
} from './ui.js';
import { accountView, clientLookup } from './account.js';
import { servicesView } from './services.js';

export async function pageClients(ctx) {
  head(ctx, 'Clients');
  put(ctx.main, h('p', {}, 'Open a client\'s account and services. Client ids also link from the services list.'), clientLookup());
}

export async function pageClient(ctx, clientId) {
  head(ctx, `Client ${clientId}`);
  const missing = muted('This client has no account yet. Recording a payment with "New client" opens one.');
  const acc = accountView(ctx, `/clients/${encodeURIComponent(clientId)}/account`, () => put(acc.balance, missing));
  const amount = input({ inputmode: 'decimal', required: true, autocomplete: 'off' });
  const ref = input({ required: true, maxlength: 128, autocomplete: 'off' });
  const fresh = h('input', { type: 'checkbox' });
  const box = alertBox();
  const note = statusBox();
  const form = h('form', { class: 'stack' }, field('Amount', amount, 'Such as 25.00.'),
    field('Reference', ref, 'The bank\'s or gateway\'s reference (printable ASCII); each is recorded once.'),
    field('New client (open the account)', fresh), box, h('button', { type: 'submit', class: 'btn' }, 'Record payment'), note);
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    const minor = toMinor(amount.value);
    if (!(minor >= 1)) return showError(box, { detail: 'Enter an amount, such as 25.00.' });
    const body = { amount: minor, external_id: ref.value.trim() };
    if (fresh.checked) body.new_client = true;
    try {
      const p = await api('POST', `/clients/${encodeURIComponent(clientId)}/payments`, body);
      const out = p.checked_out?.length ? ` It paid for ${p.checked_out.length} service(s) in the cart.` : '';
      say(note, `Payment of ${money(p.settled_amount ?? p.amount)} recorded.${out}`);
      amount.value = '';
      ref.value = '';
      missing.remove();
      acc.load(false);
      list.load(false);
    } catch (err) { showError(box, err); }
  });
  const list = servicesView(ctx, () => ({ client_id: clientId }), () => muted('No services.'));
  put(ctx.main, h('div', { class: 'cols' }, card('Balance', acc.balance), card('Record a payment', form)),
    card('Services', list.el), card('Ledger', acc.ledger));
  acc.load(false);
  list.load(false);
}
