// The hosting console: the client area and the provider console, served on the API's origin.
// Vanilla ES modules, no build step: api.js (the API client and the session), ui.js (a small
// DOM helper and the page's frame), one module per page, and this one: a pushState router, the
// header and the start. Data is only ever put in the page as text (no innerHTML).

import { BASE, forgetToken, isProvider, S, setToken, TOKEN_KEY } from './api.js';
import { button, fill, h, link, navigate, notFound } from './ui.js';
import { pageAccount } from './account.js';
import { pageCatalog } from './catalog.js';
import { pageImports } from './imports.js';
import { pageBulk } from './bulk.js';
import { pageClient, pageClients } from './clients.js';
import { pageOrder } from './order.js';
import { pageService } from './service.js';
import { pageReconciliation } from './reconciliation.js';
import { pageServices } from './services.js';
import { pageCallback, pageSignIn } from './signin.js';
import { pageTickets } from './tickets.js';

// ---------------------------------------------------------------- router and layout

const ROUTES = [
  [/^\/console$/, (ctx) => {
    history.replaceState(null, '', `${BASE}/services${location.search}`);
    renderHeader();
    return pageServices(ctx);
  }],
  [/^\/console\/services$/, pageServices],
  [/^\/console\/services\/([^/]+)$/, pageService],
  [/^\/console\/order$/, pageOrder],
  [/^\/console\/account$/, pageAccount],
  [/^\/console\/tickets$/, pageTickets],
  [/^\/console\/clients$/, pageClients, 'provider'],
  [/^\/console\/clients\/([^/]+)$/, pageClient, 'provider'],
  [/^\/console\/catalog$/, pageCatalog, 'provider'],
  [/^\/console\/reconciliation$/, pageReconciliation, 'provider'],
  [/^\/console\/imports$/, pageImports, 'provider'],
  [/^\/console\/bulk$/, pageBulk, 'provider'],
];

function decodePart(part) {
  try { return decodeURIComponent(part); } catch { return part; }
}

async function render(focus) {
  const gen = ++S.gen;
  S.timers.forEach(clearTimeout);
  S.timers = [];
  const ctx = {
    main: document.getElementById('main'),
    alive: () => gen === S.gen,
    later(fn, ms) {
      const t = setTimeout(() => gen === S.gen && fn(), ms);
      S.timers.push(t);
      return t;
    },
  };
  S.focusNext = !!focus;
  renderHeader();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  try {
    if (path === `${BASE}/callback`) return await pageCallback(ctx);
    if (!S.token) return pageSignIn(ctx);
    for (const [re, page, role] of ROUTES) {
      const m = path.match(re);
      if (!m) continue;
      if (role && S.claims.role !== role) return notFound(ctx, 'This page is for the provider.');
      return await page(ctx, ...m.slice(1).map(decodePart));
    }
    notFound(ctx, 'There is no such page.');
  } finally {
    if (ctx.alive()) S.focusNext = false;
  }
}

function renderHeader() {
  const nav = document.getElementById('nav');
  const user = document.getElementById('user');
  if (!S.claims) {
    nav.hidden = true;
    fill(nav);
    fill(user);
    return;
  }
  const pages = [['services', 'Services'], ['order', 'Order'],
    ...(isProvider() ? [['clients', 'Clients'], ['catalog', 'Catalog'], ['reconciliation', 'Reconciliation'], ['imports', 'Imports'], ['bulk', 'Bulk']] : [['account', 'Account']]), ['tickets', 'Tickets']];
  const here = location.pathname;
  nav.hidden = false;
  fill(nav, h('ul', {}, pages.map(([p, text]) => {
    const href = `${BASE}/${p}`;
    const current = here === href || here.startsWith(`${href}/`);
    return h('li', {}, link(href, text, { 'aria-current': current ? 'page' : null }));
  })));
  fill(user,
    h('span', { class: 'who' }, h('span', { class: 'sub' }, S.claims.sub), h('span', { class: 'role' }, isProvider() ? 'Provider' : 'Client')),
    button('Sign out', signOut, 'btn ghost'),
  );
}

function signOut() {
  forgetToken();
  S.flash = 'You are signed out.';
  navigate(`${BASE}/`);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !(u.pathname === BASE || u.pathname.startsWith(`${BASE}/`))) return;
  if (u.hash && u.pathname === location.pathname && u.search === location.search) return;
  e.preventDefault();
  navigate(u.pathname + u.search + u.hash);
});
window.addEventListener('popstate', () => render(true));

// ---------------------------------------------------------------- start

S.render = render;
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  try { setToken(saved); } catch { forgetToken(); }
}
render(false);
