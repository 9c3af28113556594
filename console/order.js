// Ordering: product type, tariff, period, options and parameters; the client's cart and checkout.

import { api, collect, isProvider, productTypes, qs, S, tariffsOrEmpty } from './api.js';
import {
  alertBox, button, card, clearError, field, fill, h, head, input, link, money, months, muted,
  navigate, onSubmit, put, quoteView, say, select, serviceHref, serviceName, showError,
  statusBadge, statusBox, tableBox, TYPE_NAMES,
} from './ui.js';

export async function pageOrder(ctx) {
  head(ctx, 'Order');
  const box = alertBox();
  const note = statusBox();
  const typeSel = select([['', 'Choose a product type']], '', { required: true });
  const tariffSlot = h('div');
  const config = h('div', { class: 'stack' });
  const client = isProvider() ? input({ required: true, autocomplete: 'off' }) : null;
  const submit = h('button', { type: 'submit', class: 'btn', disabled: true }, 'Add to cart');
  const form = h('form', { class: 'card stack', 'aria-labelledby': 'h-new' }, h('h2', { id: 'h-new' }, 'New service'),
    field('Product type', typeSel), tariffSlot, config, client && field('Client', client, 'The client the service is ordered for.'), submit);
  const cart = isProvider() ? null : cartView(ctx);
  put(ctx.main, box, note, form, cart?.el);
  let order = null; // () => the Order body for the chosen tariff

  typeSel.addEventListener('change', async () => {
    clearError(box);
    fill(tariffSlot);
    fill(config);
    submit.disabled = true;
    if (!typeSel.value) return;
    try {
      const r = await collect('/tariffs', { product_type: typeSel.value, limit: 100 }, 500);
      if (!r.items.length) return put(tariffSlot, muted('No tariff of this type is on sale.'));
      const tariffSel = select(r.items.map((t) => [t.id, t.name]), r.items[0].id);
      const choose = () => {
        const t = r.items.find((x) => x.id === tariffSel.value);
        S.tariffCache.set(t.id, Promise.resolve(t));
        order = drawOrderConfig(config, t, typeSel.value);
        submit.disabled = false;
      };
      tariffSel.addEventListener('change', choose);
      fill(tariffSlot, field('Tariff', tariffSel));
      choose();
    } catch (e) { showError(box, e); }
  });

  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    say(note, '');
    if (!order) return;
    const body = order();
    if (client) body.client_id = client.value.trim();
    try {
      const svc = await api('POST', '/services', body);
      S.lastOrder = svc.id;
      if (cart) {
        say(note, 'Added to the cart.');
        await cart.load();
        cart.checkout();
      } else {
        fill(note, `Ordered for client ${svc.client_id}; it waits in the client's cart. `, link(serviceHref(svc.id), 'Open the service'));
      }
    } catch (err) { showError(box, err); }
  });

  try {
    const types = await productTypes();
    put(typeSel, ...types.map((t) => h('option', { value: t.type }, TYPE_NAMES[t.type] || t.type)));
  } catch (e) { showError(box, e); }
  cart?.load();
}

/** The period, options, parameters and auto-renewal of an order; answers a function giving its body. */
function drawOrderConfig(slot, t, type) {
  const periods = Object.entries(t.prices || {}).map(([m, p]) => [Number(m), p]).sort((a, b) => a[0] - b[0]);
  const period = select(periods.map(([m, p]) => [m, `${months(m)} — ${money(p)}`]), periods[0]?.[0]);
  const options = (t.options || []).map((o) => [o, input({ type: 'number', min: 0, max: o.max, value: 0, inputmode: 'numeric' })]);
  const params = (t.required_params || []).map((p) => [p, input({ required: true, maxlength: 255, autocomplete: 'off', spellcheck: 'false' })]);
  const renew = h('input', { type: 'checkbox', checked: true });
  const kids = [field('Period', period)];
  if (options.length) {
    kids.push(h('fieldset', {}, h('legend', {}, 'Options'),
      options.map(([o, i]) => field(o.name, i, `0 to ${o.max}, ${money(o.price)} each per month`))));
  }
  if (params.length) {
    kids.push(h('fieldset', {}, h('legend', {}, 'Parameters'), params.map(([p, i]) => {
      const f = field(p, i);
      if (type === 'domain' && p === 'domain') put(f, domainCheck(i));
      return f;
    })));
  }
  kids.push(field('Renew automatically', renew));
  fill(slot, ...kids);
  return () => {
    const months_ = Number(period.value);
    const body = { tariff_id: t.id, period_months: months_, auto_renew: { enabled: renew.checked, period_months: months_ } };
    const opts = options.map(([o, i]) => ({ id: o.id, quantity: Math.floor(Number(i.value) || 0) })).filter((o) => o.quantity > 0);
    if (opts.length) body.options = opts;
    if (params.length) body.params = Object.fromEntries(params.map(([p, i]) => [p, i.value.trim()]));
    return body;
  };
}

function domainCheck(nameInput) {
  const out = h('span', { role: 'status', class: 'small' });
  const b = button('Check availability', async () => {
    out.textContent = '';
    try {
      const r = await api('GET', `/domains/check${qs({ name: nameInput.value.trim() })}`);
      out.textContent = r.available ? `${r.name} is available.` : `${r.name} is taken.`;
    } catch (e) { out.textContent = e.detail || e.message; }
  }, 'btn small secondary');
  return h('div', { class: 'row' }, b, ' ', out);
}

/** The client's cart: what is ordered and not paid, the checkout quote and Confirm. */
function cartView(ctx) {
  const box = alertBox();
  const body = h('div', {}, muted('Loading…'));
  const area = h('div');
  const el = card('Cart', box, body, area);
  let items = [];

  async function load() {
    clearError(box);
    try {
      const [r, tariffs] = await Promise.all([collect('/services', { status: 'ordered', limit: 100 }, 100), tariffsOrEmpty()]);
      if (!ctx.alive()) return;
      items = r.items.filter((s) => !s.paid);
      fill(body, items.length ? tableBox('Services in the cart',
        h('thead', {}, h('tr', {}, ['Service', 'Period', 'Price', 'Status', 'Remove'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, items.map((s) => h('tr', {},
          h('th', { scope: 'row' }, link(serviceHref(s.id), serviceName(s, tariffs))),
          h('td', {}, months(s.period_months)), h('td', {}, money(s.order_price)), h('td', {}, statusBadge(s)),
          h('td', {}, button('Remove', () => remove(s), 'btn small secondary', { 'aria-label': `Remove ${serviceName(s, tariffs)}` })))))) : muted('The cart is empty.'),
      items.length ? h('p', {}, button('Check out', checkout, 'btn')) : null);
      if (!items.length) fill(area);
    } catch (e) { showError(box, e); }
  }

  async function remove(s) {
    clearError(box);
    try { await api('DELETE', `/services/${encodeURIComponent(s.id)}`); await load(); fill(area); } catch (e) { showError(box, e); }
  }

  const target = (paid) => (paid?.find((s) => s.id === S.lastOrder) || paid?.[0] || items.find((s) => s.id === S.lastOrder) || items[0])?.id;

  async function checkout() {
    clearError(box);
    fill(area, muted('Getting a quote…'));
    const onStarted = () => {
      const id = target();
      S.flash = 'A payment was started; the service is paid and activated once the gateway confirms it.';
      if (id) navigate(serviceHref(id));
    };
    let q;
    try {
      q = await api('POST', '/cart/checkout?dry_run=true', {});
    } catch (e) {
      fill(area);
      return showError(box, e, onStarted);
    }
    const heading = h('h3', { tabindex: -1 }, 'Pay from the balance');
    const confirm = button('Confirm', async () => {
      clearError(box);
      try {
        const r = await api('POST', '/cart/checkout', {});
        const id = target(r.items);
        S.flash = 'Paid. The service is being activated.';
        if (id) navigate(serviceHref(id)); else load();
      } catch (e) { showError(box, e, onStarted); }
    }, 'btn');
    fill(area, h('div', { class: 'card inset' }, heading, quoteView(q, 'Total'), h('p', {}, confirm, ' ',
      button('Cancel', () => fill(area), 'btn ghost-dark'))));
    heading.focus();
  }

  return { el, load, checkout };
}
