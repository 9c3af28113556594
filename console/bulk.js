// The provider's bulk operations: pick the services with the list's filters (or paste their
// ids), choose what to do, read the preview (each service's quote or refusal, with the totals),
// approve it, and follow its progress. Nothing is done to a service before the approval.

import { api } from './api.js';
import {
  alertBox, button, card, clearError, field, fill, h, head, money, muted, onSubmit, put, say, select,
  showError, statusBox, tableBox, timeEl, words,
} from './ui.js';

const OPERATIONS = [
  ['disable', 'Suspend'], ['enable', 'Resume'], ['renew', 'Renew'], ['change_tariff', 'Change tariff'],
  ['set_renewal_price', 'Set the renewal price'], ['transfer', 'Move to another node'], ['delete', 'Delete'],
];
const TYPES = ['', 'vps', 'shared_hosting', 'dedicated', 'domain', 'ssl', 'vdc'];
const STATUSES = ['', 'active', 'suspended', 'suspended_by_admin', 'suspended_abuse', 'temporarily_suspended',
  'in_progress', 'not_available'];

export async function pageBulk(ctx) {
  head(ctx, 'Bulk operations');
  const box = alertBox();
  const operation = select(OPERATIONS, 'disable');
  const productType = select(TYPES.map((t) => [t, t ? words(t) : 'Any type']), '');
  const status = select(STATUSES.map((s) => [s, s ? words(s) : 'Any status']), '');
  const tariff = h('input', { type: 'text', placeholder: 'Any tariff' });
  const client = h('input', { type: 'text', placeholder: 'Any client' });
  const ids = h('textarea', { rows: 3, class: 'mono', placeholder: 'Or service ids, one a line' });
  const reason = h('input', { type: 'text', maxlength: 500 });
  const periods = h('input', { type: 'number', min: 1, max: 10, value: 1 });
  const tariffTo = h('input', { type: 'text' });
  const price = h('input', { type: 'number', min: 0, placeholder: 'In minor units' });
  const percent = h('input', { type: 'number', min: -90, max: 1000, placeholder: 'Or a percentage' });
  const from = h('input', { type: 'date' });
  const fields = {
    disable: field('Reason', reason), renew: field('Periods', periods),
    change_tariff: field('New tariff', tariffTo),
    set_renewal_price: h('div', { class: 'stack' }, field('New renewal price', price), field('Change by %', percent),
      field('From (at least the notice period ahead)', from)),
  };
  const extra = h('div', {});
  const showFields = () => fill(extra, fields[operation.value] || '');
  operation.addEventListener('change', showFields);
  showFields();
  const form = h('form', { class: 'stack' },
    field('Operation', operation), field('Product type', productType), field('Status', status),
    field('Tariff', tariff), field('Client', client), field('Services', ids), extra, box,
    h('button', { type: 'submit', class: 'btn' }, 'Preview'));
  const list = h('div', {}, muted('Loading…'));
  const detail = h('div', {});
  const load = async () => {
    try {
      const page = await api('GET', '/bulk-operations?limit=20');
      if (!ctx.alive()) return;
      fill(list, page.items.length ? bulkTable(page.items, (b) => showBulk(ctx, b.id, detail, load)) : muted('No bulk operation yet.'));
    } catch (e) { showError(box, e); }
  };
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    const body = { operation: operation.value };
    const named = ids.value.split(/\s+/).filter(Boolean);
    if (named.length) body.service_ids = named;
    else {
      body.filter = {};
      if (productType.value) body.filter.product_type = productType.value;
      if (status.value) body.filter.status = status.value;
      if (tariff.value.trim()) body.filter.tariff_id = tariff.value.trim();
      if (client.value.trim()) body.filter.client_id = client.value.trim();
    }
    if (operation.value === 'disable' && reason.value.trim()) body.reason = reason.value.trim();
    if (operation.value === 'renew') body.periods = Number(periods.value);
    if (operation.value === 'change_tariff') body.tariff_id = tariffTo.value.trim();
    if (operation.value === 'transfer') body.product_type = productType.value;
    if (operation.value === 'set_renewal_price') {
      if (percent.value) body.percent = Number(percent.value); else body.renewal_price = Number(price.value);
      body.from = from.value ? `${from.value}T00:00:00Z` : '';
    }
    try {
      const made = await api('POST', '/bulk-operations', body);
      await load();
      await showBulk(ctx, made.id, detail, load);
    } catch (err) { showError(box, err); }
  });
  put(ctx.main,
    h('p', {}, 'Act on many services at once: the services are chosen and frozen when the draft is made, each with what would happen to it. Approve it to start; each service is then the ordinary operation, a few at a time on each control panel.'),
    h('div', { class: 'cols' }, card('New bulk operation', form), card('Bulk operations', list)), detail);
  await load();
}

function countsText(b) {
  const c = b.counts;
  return `${c.done} done, ${c.refused} refused, ${c.failed} failed, ${c.left} left${c.cancelled ? `, ${c.cancelled} cancelled` : ''}`;
}

function bulkTable(items, open) {
  return tableBox('Bulk operations',
    h('thead', {}, h('tr', {}, ['Created', 'Operation', 'Status', 'Progress', ''].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((b) => h('tr', {},
      h('td', {}, timeEl(b.created_at, true)), h('td', {}, words(b.operation)), h('td', {}, words(b.status)),
      h('td', {}, countsText(b)), h('td', {}, button('Open', () => open(b)))))));
}

async function showBulk(ctx, id, where, reloadList) {
  const box = alertBox();
  const note = statusBox();
  const path = `/bulk-operations/${encodeURIComponent(id)}`;
  const state = h('div', {});
  const preview = h('div', {});
  const approve = button('Approve', async () => {
    clearError(box);
    try {
      const b = await api('POST', `${path}/approve`);
      say(note, b.status === 'draft' ? 'Approved: a second provider must approve it too.' : 'Approved: it is running.');
      await refresh();
      await reloadList();
    } catch (err) { showError(box, err); }
  }, 'btn');
  const cancel = button('Cancel what has not started', async () => {
    clearError(box);
    try {
      await api('POST', `${path}/cancel`);
      say(note, 'Cancelled: what is under way finishes.');
      await refresh();
      await reloadList();
    } catch (err) { showError(box, err); }
  });
  const refresh = async () => {
    const b = await api('GET', path);
    if (!ctx.alive()) return null;
    const t = b.preview;
    fill(state,
      h('p', {}, `${words(b.operation)}: ${words(b.status)}. ${countsText(b)}.`),
      h('p', {}, `Preview: ${t.services} services, ${t.quoted} to do, ${t.refused} refused; charges ${money(t.charge)}, credits ${money(t.credit)}.`),
      h('p', {}, `Approvals: ${b.approvals.map((a) => a.by).join(', ') || 'none'} of ${b.approvals_needed}.`));
    approve.hidden = b.status !== 'draft';
    cancel.hidden = ['done', 'cancelled'].includes(b.status);
    if (['approved', 'running'].includes(b.status) || (b.status === 'cancelled' && b.under_way)) {
      ctx.later(async () => { await refresh(); await showPreview(); }, 2000);
    }
    return b;
  };
  const showPreview = async (cursor = null) => {
    const q = new URLSearchParams({ limit: '50' });
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `${path}/preview?${q}`);
    if (!ctx.alive()) return;
    fill(preview, card('Preview',
      tableBox('What happens to each service',
        h('thead', {}, h('tr', {}, ['Service', 'Client', 'Would', 'Charge', 'Credit', 'Renewal price', 'State'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, page.items.map((item) => h('tr', {},
          h('td', {}, item.service_id), h('td', {}, item.client_id),
          h('td', {}, item.quote ? words(item.quote.status) : `refused (${item.refusal.status}): ${item.refusal.detail}`),
          h('td', {}, item.quote ? money(item.quote.charge) : ''), h('td', {}, item.quote ? money(item.quote.credit) : ''),
          h('td', {}, item.quote ? money(item.quote.renewal_price) : ''),
          h('td', {}, words(item.state) + (item.reason ? `: ${item.reason}` : '')))))),
      page.next_cursor ? button('Next page', () => showPreview(page.next_cursor)) : ''));
  };
  fill(where, card(`Bulk operation ${id}`, state, h('div', { class: 'inline' }, approve, cancel), box, note), preview);
  try {
    await refresh();
    await showPreview();
  } catch (err) { showError(box, err); }
}
