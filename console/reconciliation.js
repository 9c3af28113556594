// The provider's reconciliation: billing beside the control panels. Start a run, read what each
// run found by kind, and resolve each item (apply billing to the panel, take the panel's
// suspension or resumption, or ignore it with a reason).

import { api } from './api.js';
import {
  alertBox, button, card, clearError, field, h, head, input, muted, onSubmit, put, say, select,
  serviceHref, showError, statusBox, tableBox, timeEl, TYPE_NAMES, words, link, fill,
} from './ui.js';

const KINDS = ['missing_on_panel', 'not_suspended_on_panel', 'suspended_on_panel', 'tariff_differs',
  'options_differ', 'orphan_on_panel', 'deleted_but_on_panel'];
// Which actions an item of each kind may take (the API refuses the others, and says why).
const ACTIONS = {
  missing_on_panel: ['apply_billing'],
  not_suspended_on_panel: ['apply_billing', 'accept_panel'],
  suspended_on_panel: ['apply_billing', 'accept_panel'],
  tariff_differs: ['apply_billing'],
  options_differ: ['apply_billing'],
  orphan_on_panel: [],
  deleted_but_on_panel: ['apply_billing'],
};
const ACTION_WORDS = { apply_billing: 'Make the panel match billing', accept_panel: 'Take the panel\'s state' };

export async function pageReconciliation(ctx) {
  head(ctx, 'Reconciliation');
  const box = alertBox();
  const note = statusBox();
  const type = select([['', 'Every product type'], ...Object.entries(TYPE_NAMES)], '');
  const form = h('form', { class: 'stack' }, field('Product type', type), box,
    h('button', { type: 'submit', class: 'btn' }, 'Reconcile now'), note);
  const runs = h('div', {}, muted('Loading…'));
  const items = h('div', {});
  const load = async () => {
    try {
      const list = await api('GET', '/reconciliations?limit=20');
      if (!ctx.alive()) return;
      fill(runs, list.items.length ? runTable(list.items, (run) => showRun(ctx, run, items)) : muted('No reconciliation yet.'));
    } catch (e) { showError(box, e); }
  };
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    try {
      const run = await api('POST', '/reconciliations', type.value ? { product_type: type.value } : {});
      say(note, run.status === 'done' ? 'The reconciliation is done.' : 'The reconciliation is running; the hourly job finishes it.');
      await load();
      showRun(ctx, run, items);
    } catch (err) { showError(box, err); }
  });
  put(ctx.main, h('p', {}, 'A reconciliation compares what each control panel holds with billing. It changes nothing by itself: each difference waits for you here.'),
    h('div', { class: 'cols' }, card('Run one', form), card('Runs', runs)), items);
  await load();
}

function total(run) {
  return Object.values(run.counts || {}).reduce((a, b) => a + b, 0);
}

function runTable(list, open) {
  return tableBox('Reconciliation runs',
    h('thead', {}, h('tr', {}, ['Started', 'Types', 'Status', 'Found', ''].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, list.map((run) => h('tr', {},
      h('td', {}, timeEl(run.started_at, true)),
      h('td', {}, run.product_types.length === 6 ? 'All' : run.product_types.map((t) => TYPE_NAMES[t] || t).join(', ')),
      h('td', {}, words(run.status)), h('td', {}, String(total(run))),
      h('td', {}, button('Show', () => open(run)))))));
}

async function showRun(ctx, run, where) {
  const box = alertBox();
  const kind = select([['', 'Every kind'], ...KINDS.filter((k) => run.counts?.[k]).map((k) => [k, `${words(k)} (${run.counts[k]})`])], '');
  const list = h('div', {}, muted('Loading…'));
  const load = async () => {
    clearError(box);
    try {
      const q = kind.value ? `&kind=${encodeURIComponent(kind.value)}` : '';
      const page = await api('GET', `/reconciliations/${encodeURIComponent(run.id)}/items?limit=100${q}`);
      if (!ctx.alive()) return;
      fill(list, page.items.length ? page.items.map((item) => itemCard(run, item, load)) : muted('Nothing found: billing and the panels agree.'));
    } catch (e) { showError(box, e); }
  };
  kind.addEventListener('change', load);
  fill(where, card(`Found on ${timeEl(run.started_at, true).textContent}`, field('Kind', kind), box, list));
  await load();
}

function itemCard(run, item, reload) {
  const box = alertBox();
  const note = statusBox();
  const what = item.service_id ? link(serviceHref(item.service_id), item.service_id) : h('code', {}, item.account_id || '—');
  const state = (side) => (side ? [side.status, side.tariff_id].filter(Boolean).join(', ') : 'nothing');
  const rows = h('p', {}, `Billing: ${state(item.billing)}. Panel: ${state(item.panel)}.`);
  if (item.resolution) {
    const r = item.resolution;
    return h('div', { class: 'card stack' }, h('h3', {}, words(item.kind), ' — ', what), rows,
      h('p', { class: 'muted' }, `Resolved: ${words(r.action)} by ${r.by}${r.reason ? ` (${r.reason})` : ''}.`));
  }
  const act = async (action, extra = {}) => {
    clearError(box);
    try {
      await api('POST', `/reconciliations/${encodeURIComponent(run.id)}/items/${encodeURIComponent(item.id)}/resolve`, { action, ...extra });
      say(note, `${words(action)}: done.`);
      await reload();
    } catch (e) { showError(box, e); }
  };
  const reason = input({ maxlength: 500, autocomplete: 'off', required: true });
  const ignore = h('form', { class: 'inline' }, field('Reason to ignore it', reason),
    h('button', { type: 'submit', class: 'btn secondary' }, 'Ignore'));
  onSubmit(ignore, (e) => { e.preventDefault(); act('ignore', { reason: reason.value }); });
  const buttons = (ACTIONS[item.kind] || []).map((a) => button(ACTION_WORDS[a], () => act(a)));
  return h('div', { class: 'card stack' }, h('h3', {}, words(item.kind), ' — ', what), rows,
    h('div', { class: 'actions' }, buttons), ignore, box, note);
}
