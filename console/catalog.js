// The provider's catalog: each product type's rules (a form each) and the tariffs on sale.

import { api, collect, S } from './api.js';
import {
  alertBox, card, clearError, field, fill, h, head, input, money, months, muted, nid, onSubmit,
  put, say, select, showError, statusBox, tableBox, TYPE_NAMES,
} from './ui.js';

export async function pageCatalog(ctx) {
  head(ctx, 'Catalog');
  const box = alertBox();
  const types = h('div', { class: 'cols' }, muted('Loading…'));
  const tariffs = h('div', {}, muted('Loading…'));
  put(ctx.main, box, h('h2', {}, 'Product types'), types, card('Tariffs', tariffs));
  try {
    const [list, all] = await Promise.all([api('GET', '/product-types'), collect('/tariffs', { limit: 100 }, 1000, 10)]);
    if (!ctx.alive()) return;
    fill(types, ...list.items.map(rulesForm));
    fill(tariffs, tariffTable(all.items));
  } catch (e) { showError(box, e); }
}

function rulesForm(pt) {
  const name = TYPE_NAMES[pt.type] || pt.type;
  const f = {
    client_delete: select([['forbidden', 'Forbidden'], ['immediate', 'Immediately'], ['end_of_period', 'At the end of the period']], pt.client_delete),
    client_can_suspend: h('input', { type: 'checkbox', checked: pt.client_can_suspend }),
    abuse_limit: input({ type: 'number', min: 0, max: 1000000, value: pt.abuse_limit, required: true }),
    auto_delete_after_days: input({ type: 'number', min: 0, max: 3650, value: pt.auto_delete_after_days, required: true }),
    renew_lead_days: input({ type: 'number', min: 0, max: 365, value: pt.renew_lead_days, required: true }),
    remind_days_before: input({ value: (pt.remind_days_before || []).join(', '), autocomplete: 'off' }),
    panel_url: input({ type: 'url', value: pt.panel_url || '', autocomplete: 'off' }),
  };
  const box = alertBox();
  const note = statusBox();
  const id = nid('pt');
  const form = h('form', { class: 'card stack', 'aria-labelledby': id }, h('h3', { id }, name),
    field('Client deletion', f.client_delete), field('Clients may suspend', f.client_can_suspend),
    field('Abuse limit', f.abuse_limit, '0 turns abuse suspension off.'),
    field('Delete after non-payment (days)', f.auto_delete_after_days), field('Renew ahead (days)', f.renew_lead_days),
    field('Reminders (days before)', f.remind_days_before, 'Up to 5, comma separated; empty sends none.'),
    field('Control panel URL', f.panel_url), box,
    h('button', { type: 'submit', class: 'btn' }, `Save ${name} rules`), note);
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    const body = {
      client_delete: f.client_delete.value, client_can_suspend: f.client_can_suspend.checked,
      abuse_limit: Number(f.abuse_limit.value), auto_delete_after_days: Number(f.auto_delete_after_days.value),
      renew_lead_days: Number(f.renew_lead_days.value),
      remind_days_before: f.remind_days_before.value.split(/[\s,]+/).filter(Boolean).map(Number),
    };
    if (f.panel_url.value.trim()) body.panel_url = f.panel_url.value.trim();
    try {
      await api('PUT', `/product-types/${encodeURIComponent(pt.type)}`, body);
      S.types = null;
      say(note, `${name} rules saved.`);
    } catch (err) { showError(box, err); }
  });
  return form;
}

function tariffTable(items) {
  const prices = (t) => Object.entries(t.prices || {}).map(([m, p]) => `${months(m)}: ${money(p)}`).join(', ');
  const opts = (t) => (t.options || []).map((o) => `${o.name} (${money(o.price)}/month, up to ${o.max})`).join(', ') || '—';
  return tableBox('Tariffs on sale',
    h('thead', {}, h('tr', {}, ['Tariff', 'Id', 'Product type', 'Prices', 'Options', 'Required parameters', 'Can change to']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((t) => h('tr', {},
      h('th', { scope: 'row' }, t.name), h('td', {}, h('code', {}, t.id)), h('td', {}, TYPE_NAMES[t.product_type] || t.product_type),
      h('td', {}, prices(t)), h('td', {}, opts(t)), h('td', {}, (t.required_params || []).join(', ') || '—'),
      h('td', {}, (t.change_to || []).join(', ') || '—')))));
}
