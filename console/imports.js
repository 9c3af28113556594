// The provider's imports from WHMCS: stage one with its mapping, upload WHMCS's API answers as
// WHMCS gave them, read the preview (what would happen to each record, with the totals), and
// apply it, following its progress. Nothing is written before the apply.

import { api } from './api.js';
import {
  alertBox, button, card, clearError, field, fill, h, head, muted, onSubmit, put, say, select,
  showError, statusBox, tableBox, timeEl, words,
} from './ui.js';

const EXAMPLE_MAPPING = {
  products: { 1: 'vps-start' }, configoptions: {}, servers: { 1: 'vps' },
  clients: { prefix: 'whmcs-' }, currencies: { USD: 2 },
};

export async function pageImports(ctx) {
  head(ctx, 'Imports');
  const box = alertBox();
  const mapping = h('textarea', { rows: 10, spellcheck: 'false', class: 'mono' });
  mapping.value = JSON.stringify(EXAMPLE_MAPPING, null, 2);
  const form = h('form', { class: 'stack' },
    field('Mapping', mapping, 'Which WHMCS product is which tariff, which option, server, client id and currency digits.'),
    box, h('button', { type: 'submit', class: 'btn' }, 'Stage an import'));
  const list = h('div', {}, muted('Loading…'));
  const detail = h('div', {});
  const load = async () => {
    try {
      const page = await api('GET', '/imports?limit=20');
      if (!ctx.alive()) return;
      fill(list, page.items.length ? importTable(page.items, (imp) => showImport(ctx, imp.id, detail, load)) : muted('No import yet.'));
    } catch (e) { showError(box, e); }
  };
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    let parsed;
    try { parsed = JSON.parse(mapping.value); } catch { showError(box, new Error('The mapping is not JSON.')); return; }
    try {
      const made = await api('POST', '/imports', { source: 'whmcs', mapping: parsed });
      await load();
      await showImport(ctx, made.id, detail, load);
    } catch (err) { showError(box, err); }
  });
  put(ctx.main,
    h('p', {}, 'Bring a provider\'s clients and services across from WHMCS: upload the answers of its API (GetClients, GetClientsDetails, GetClientsProducts), read what would happen to each record, then apply. Nothing is done on a panel, charged or mailed; run a reconciliation afterwards to see whether the panels agree.'),
    h('div', { class: 'cols' }, card('New import', form), card('Imports', list)), detail);
  await load();
}

function importTable(items, open) {
  return tableBox('Imports',
    h('thead', {}, h('tr', {}, ['Created', 'Status', 'Preview', ''].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((imp) => h('tr', {},
      h('td', {}, timeEl(imp.created_at, true)), h('td', {}, words(imp.status)),
      h('td', {}, words(imp.preview.status)), h('td', {}, button('Open', () => open(imp)))))));
}

async function showImport(ctx, id, where, reloadList) {
  const box = alertBox();
  const note = statusBox();
  const path = `/imports/${encodeURIComponent(id)}`;
  const files = h('input', { type: 'file', multiple: true, accept: 'application/json,.json' });
  const upload = h('form', { class: 'stack' }, field('WHMCS answers (one page a file)', files),
    h('button', { type: 'submit', class: 'btn secondary' }, 'Upload'));
  const state = h('div', {});
  const preview = h('div', {});
  const skip = h('input', { type: 'checkbox' });
  const apply = h('form', { class: 'inline' }, h('label', {}, skip, ' Skip the records in error'),
    h('button', { type: 'submit', class: 'btn' }, 'Apply'));
  const refresh = async () => {
    const imp = await api('GET', path);
    if (!ctx.alive()) return null;
    fill(state, h('p', {}, `Status: ${words(imp.status)}. Files: ${imp.files.map((f) => `${f.name} (${f.kind}, ${f.records})`).join(', ') || 'none'}.`),
      imp.apply ? h('p', {}, `Applied ${imp.apply.lines_done} of ${imp.apply.lines} records: `,
        Object.entries(imp.apply.done).map(([k, n]) => `${n} ${words(k)}`).join(', '),
        imp.apply.failed ? `; ${imp.apply.failed} failed (${imp.apply.failures.join('; ')})` : '', '.') : '');
    upload.hidden = imp.status !== 'staged';
    apply.hidden = imp.status === 'done';
    if (imp.status === 'applying') ctx.later(refresh, 2000);
    return imp;
  };
  const showPreview = async (action = '', cursor = null) => {
    const q = new URLSearchParams({ limit: '50' });
    if (action) q.set('action', action);
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `${path}/preview?${q}`);
    if (!ctx.alive()) return;
    if (!page.summary) { fill(preview, muted('Working out the preview…')); ctx.later(() => showPreview(action, cursor), 1000); return; }
    const filter = select([['', 'Every record'], ['create', 'Create'], ['update', 'Update'], ['skip', 'Skip'], ['error', 'Error']], action);
    filter.addEventListener('change', () => showPreview(filter.value));
    fill(preview, card('Preview', summaryView(page.summary), field('Show', filter),
      tableBox('What would happen to each record',
        h('thead', {}, h('tr', {}, ['Record', 'WHMCS id', 'Action', 'Why'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, page.items.map((item) => h('tr', {}, h('td', {}, words(item.record)), h('td', {}, String(item.whmcs_id)),
          h('td', {}, words(item.action)), h('td', {}, item.reason || ''))))),
      page.next_cursor ? button('Next page', () => showPreview(action, page.next_cursor)) : ''));
  };
  onSubmit(upload, async (e) => {
    e.preventDefault();
    clearError(box);
    try {
      for (const file of files.files) {
        const body = JSON.parse(await file.text());
        await api('PUT', `${path}/files/${encodeURIComponent(file.name)}`, body);
      }
      say(note, `${files.files.length} file(s) uploaded.`);
      await refresh();
      await showPreview();
    } catch (err) { showError(box, err); }
  });
  onSubmit(apply, async (e) => {
    e.preventDefault();
    clearError(box);
    try {
      const imp = await api('POST', `${path}/apply`, { skip_errors: skip.checked });
      say(note, imp.status === 'done' ? 'The import is applied.' : 'The import is being applied; its progress follows.');
      await refresh();
      await reloadList();
    } catch (err) { showError(box, err); }
  });
  fill(where, card(`Import ${id}`, state, upload, apply, box, note), preview);
  try {
    const imp = await refresh();
    if (imp && imp.files.length) await showPreview();
  } catch (err) { showError(box, err); }
}

function summaryView(s) {
  const counts = (c) => Object.entries(c || {}).map(([k, n]) => `${n} ${words(k)}`).join(', ') || 'none';
  const money = (minor) => (minor / 100).toFixed(2);
  return h('div', { class: 'stack' },
    h('p', {}, `Clients: ${counts(s.clients)}. Services: ${counts(s.services)}.`),
    h('p', {}, 'Services per tariff: ', Object.entries(s.tariffs).map(([t, n]) => `${t} ${n}`).join(', ') || 'none', '.'),
    h('p', {}, `Balances to import: ${s.balances.filter((b) => b.balance > 0).map((b) => `${b.client_id} ${money(b.balance)}`).join(', ') || 'none'}.`),
    h('p', {}, `Special prices: ${s.special_prices.map((p) => `#${p.whmcs_id} ${money(p.renewal_price)} (list ${money(p.list_price)})`).join(', ') || 'none'}.`));
}
