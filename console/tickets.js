// Tickets: the conversations, each opened on demand, with a reply form.

import { api, BASE, isProvider, qs } from './api.js';
import {
  alertBox, button, clearError, clientHref, field, fill, h, head, link, muted, nid, onSubmit, put,
  serviceHref, showError, timeEl,
} from './ui.js';

export async function pageTickets(ctx) {
  head(ctx, 'Tickets');
  const serviceId = new URLSearchParams(location.search).get('service_id');
  const box = alertBox();
  const list = h('div', {}, muted('Loading…'));
  let cursor = null;
  put(ctx.main, serviceId ? h('p', {}, 'About the service ', link(serviceHref(serviceId), serviceId), '. ',
    link(`${BASE}/tickets`, 'Show all')) : null, box, list);
  async function load(more) {
    clearError(box);
    try {
      const r = await api('GET', `/tickets${qs({ service_id: serviceId, limit: 20, cursor: more ? cursor : null })}`);
      if (!ctx.alive()) return;
      cursor = r.cursor;
      const cards = r.items.map(ticketCard);
      if (!more) fill(list);
      list.querySelector('.more')?.remove();
      if (!more && !cards.length) put(list, muted(serviceId ? 'No tickets about this service yet; open one from its page.' : 'No tickets yet. Open one from a service\'s page (Ticket).'));
      put(list, ...cards);
      if (cursor) put(list, h('p', { class: 'more' }, button('Load more', () => load(true))));
    } catch (e) { showError(box, e); }
  }
  await load(false);
}

function ticketCard(t) {
  const id = nid('t');
  const thread = h('div', {}, muted('Loading…'));
  const box = alertBox();
  const message = h('textarea', { rows: 3, maxlength: 10000, required: true });
  const form = h('form', { class: 'stack' }, field('Reply', message), box, h('button', { type: 'submit', class: 'btn' }, 'Send reply'));
  const count = (tk) => `Messages (${tk.messages?.length ?? 0})`;
  const summary = h('summary', {}, count(t));
  const draw = (tk) => {
    summary.textContent = count(tk);
    fill(thread, h('ol', { class: 'thread' }, (tk.messages || []).map((m) => h('li', { class: m.author?.role === 'provider' ? 'from-provider' : 'from-client' },
      h('div', { class: 'small muted' }, m.author?.role === 'provider' ? 'Provider' : (isProvider() ? `Client ${m.author?.id}` : 'You'), ' · ', timeEl(m.at, true)),
      h('p', { class: 'msg' }, m.message)))));
  };
  const details = h('details', {}, summary, thread, form);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try { draw(await api('GET', `/tickets/${encodeURIComponent(t.id)}`)); } catch (e) { loaded = false; showError(box, e); }
  });
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    try {
      draw(await api('POST', `/tickets/${encodeURIComponent(t.id)}/messages`, { message: message.value.trim() }));
      message.value = '';
    } catch (err) { showError(box, err); }
  });
  return h('article', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, t.subject),
    h('p', { class: 'small muted' }, 'Opened ', timeEl(t.created_at, true),
      t.service_id ? [' · about ', link(serviceHref(t.service_id), 'the service')] : ' · the service was deleted',
      isProvider() ? [' · client ', link(clientHref(t.client_id), t.client_id)] : ''),
    details);
}
