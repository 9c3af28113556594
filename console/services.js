// The services list: filters, the table and its paging, refreshed while a service is busy.

import { BASE, collect, isProvider, productTypes, qs, tariffsOrEmpty } from './api.js';
import {
  alertBox, button, clearError, clientHref, field, fill, h, head, icon, input, keepFocus, link,
  muted, pollLater, pollState, put, select, serviceHref, serviceName, showError, STATUS_WORDS,
  statusBadge, tableBox, timeEl, TYPE_NAMES,
} from './ui.js';

// The stored statuses a list can be filtered by (GET /services?status=).
const STATUSES = ['active', 'ordered', 'in_progress', 'configuration_required', 'suspended',
  'suspended_by_admin', 'suspended_abuse', 'temporarily_suspended', 'not_available', 'deleted'];

function legend() {
  return h('p', { class: 'legend' },
    h('span', {}, 'Legend:'),
    h('span', {}, icon('price'), ' Special price'),
    h('span', {}, icon('ops'), ' Operations running'),
    h('span', {}, icon('renew'), ' Auto-renewal on'));
}

function serviceRow(s, tariffs) {
  const name = h('th', { scope: 'row' }, link(serviceHref(s.id), serviceName(s, tariffs), { 'data-k': `s-${s.id}` }));
  const expires = h('td', {}, timeEl(s.expires_at));
  const status = h('td', {}, statusBadge(s));
  const renew = s.flags?.auto_renew ? icon('renew', 'Auto-renewal on') : h('span', { class: 'muted' }, 'Off');
  if (!isProvider()) return h('tr', {}, name, status, expires, h('td', {}, renew));
  const flags = [s.flags?.special_price && icon('price', 'Special price'),
    s.flags?.operations_running && icon('ops', 'Operations running'),
    s.flags?.auto_renew && icon('renew', 'Auto-renewal on')].filter(Boolean);
  return h('tr', {}, name,
    h('td', {}, link(clientHref(s.client_id), s.client_id, { 'data-k': `c-${s.id}` })),
    status, expires, h('td', {}, flags.length ? h('span', { class: 'flags' }, flags) : h('span', { class: 'muted' }, '—')));
}

function servicesTable(items, tariffs, caption) {
  const cols = isProvider() ? ['Service', 'Client', 'Status', 'Expires', 'Flags'] : ['Service', 'Status', 'Expires', 'Auto-renewal'];
  return tableBox(caption,
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, items.map((s) => serviceRow(s, tariffs))));
}

/** A services list for `filters()`, with "Load more", that refreshes itself while one is busy. */
export function servicesView(ctx, filters, empty) {
  const box = alertBox();
  const body = h('div', { 'aria-busy': 'true' }, muted('Loading…'));
  const el = h('div', {}, box, body);
  let state = { items: [], cursor: null };
  let drawn = '';
  let poll = null;
  let polling = pollState();
  let seq = 0;

  async function load(more) {
    const mine = ++seq;
    clearTimeout(poll);
    clearError(box);
    body.setAttribute('aria-busy', 'true');
    let r;
    let tariffs;
    try {
      // A refresh reads again every page the user loaded; so does a reload of the page (the
      // count is kept in its history entry).
      const kept = Math.min(Number(history.state?.shown) || 0, 1000);
      const want = more ? 50 : Math.max(50, state.items.length || kept);
      [r, tariffs] = await Promise.all([
        collect('/services', { ...filters(), limit: 50, cursor: more ? state.cursor : null }, want, Math.ceil(want / 50)),
        tariffsOrEmpty()]);
    } catch (e) {
      if (mine !== seq) return;
      body.setAttribute('aria-busy', 'false');
      return showError(box, e);
    }
    if (!ctx.alive() || mine !== seq) return;
    state = { items: more ? state.items.concat(r.items) : r.items, cursor: r.cursor };
    history.replaceState({ ...(history.state || {}), shown: state.items.length }, '');
    body.setAttribute('aria-busy', 'false');
    const key = JSON.stringify(state);
    if (key !== drawn) {
      drawn = key;
      polling = pollState();
      keepFocus(body, () => draw(tariffs));
    }
    if (state.items.some((s) => s.status === 'in_progress' || s.flags?.operations_running)) {
      poll = pollLater(ctx, polling, () => load(false), () => {
        body.querySelector('.stale')?.remove();
        put(body, h('p', { class: 'stale' }, 'Some services are still busy. ',
          button('Refresh', () => { polling = pollState(); load(false); }, 'btn secondary')));
      });
    }
  }

  function draw(tariffs) {
    const n = state.items.length;
    const caption = `${n}${state.cursor ? '+' : ''} service${n === 1 ? '' : 's'}`;
    fill(body,
      n ? servicesTable(state.items, tariffs, caption) : empty(),
      state.cursor ? h('p', {}, button('Load more', () => load(true), 'btn secondary', { 'data-k': 'more' })) : null);
  }

  return { el, load };
}

export async function pageServices(ctx) {
  head(ctx, 'Products/Services');
  const q = new URLSearchParams(location.search);
  const typeSel = select([['', 'All product types']], '', { name: 'product_type' });
  const statusSel = select([['', 'All statuses'], ...STATUSES.filter((s) => isProvider() || s !== 'deleted')
    .map((s) => [s, STATUS_WORDS[s]])], q.get('status'), { name: 'status' });
  const client = isProvider() ? input({ name: 'client_id', value: q.get('client_id') || '', autocomplete: 'off' }) : null;
  const filters = () => ({ product_type: typeSel.value, status: statusSel.value, client_id: client?.value.trim() || '' });
  const form = h('form', { class: 'filters card', role: 'search', 'aria-label': 'Filter services' },
    field('Product type', typeSel), field('Status', statusSel), client && field('Client', client),
    h('button', { type: 'submit', class: 'btn secondary' }, 'Apply filters'));
  const view = servicesView(ctx, filters, () => h('p', { class: 'empty' },
    Object.values(filters()).some(Boolean) ? 'No services match these filters.' : 'No services yet. Use Order to order one.'));
  const apply = (e) => {
    e?.preventDefault();
    history.replaceState(null, '', `${BASE}/services${qs(filters())}`);
    view.load(false);
  };
  form.addEventListener('submit', apply);
  typeSel.addEventListener('change', apply);
  statusSel.addEventListener('change', apply);
  put(ctx.main, form, isProvider() ? legend() : null, view.el);
  try {
    const types = await productTypes();
    put(typeSel, ...types.map((t) => h('option', { value: t.type }, TYPE_NAMES[t.type] || t.type)));
    typeSel.value = q.get('product_type') || '';
  } catch { /* the list still works without the type names */ }
  view.load(false);
}
