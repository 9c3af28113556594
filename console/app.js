// The hosting console: the client area and the provider console, served on the API's origin.
// Vanilla ES module: a small DOM helper, one `api` helper, a pushState router and one function
// per page. Data is only ever put in the page as text (no innerHTML).

const CFG = window.CONSOLE_CONFIG || {};
const API = (CFG.api_base || '').replace(/\/+$/, '');
const BASE = '/console';
const TOKEN_KEY = 'console.token';
const PKCE_KEY = 'console.pkce';

// ---------------------------------------------------------------- words

const STATUS_WORDS = {
  active: 'Active', ordered: 'Ordered', in_cart: 'In cart', payment_in_progress: 'Payment in progress',
  complete_configuration: 'Complete configuration', configuration_required: 'Complete configuration',
  in_progress: 'In progress', renewal_in_progress: 'Renewal in progress', transfer: 'Transfer',
  registration_in_progress: 'Registration in progress', registrar_change: 'Registrar change',
  issue: 'Issue', issue_error: 'Issue error', reissue: 'Reissue', access_to_kvm: 'Access to KVM',
  suspended: 'Suspended', suspended_by_admin: 'Suspended by administrator',
  suspended_abuse: 'Suspended due to abuse', temporarily_suspended: 'Temporarily suspended',
  not_available: 'Not available', deleted: 'Deleted',
};
// The stored statuses a list can be filtered by (GET /services?status=).
const STATUSES = ['active', 'ordered', 'in_progress', 'configuration_required', 'suspended',
  'suspended_by_admin', 'suspended_abuse', 'temporarily_suspended', 'not_available', 'deleted'];
const TYPE_NAMES = {
  vps: 'VPS', shared_hosting: 'Shared hosting', dedicated: 'Dedicated server', domain: 'Domain',
  ssl: 'SSL certificate', vdc: 'Virtual data center',
};
// allowed_actions keys, in the order their buttons are shown, with their labels.
const ACTIONS = [['edit', 'Edit'], ['renew', 'Renew'], ['change_tariff', 'Change tariff'],
  ['options', 'Options'], ['enable', 'Enable'], ['disable', 'Disable'], ['reboot', 'Reboot'],
  ['transfer', 'Transfer'], ['reissue', 'Reissue'], ['activate', 'Activate'], ['grace', 'Grace'],
  ['ticket', 'Ticket'], ['delete', 'Delete']];
const ACTION_LABEL = Object.fromEntries(ACTIONS);
const SIMPLE_ACTIONS = ['enable', 'disable', 'reboot', 'reissue', 'activate'];
const TIMELINE_WORDS = {
  auto_renewal: 'Auto-renewal attempt', expiry: 'Expiry', grace_end: 'Grace ends',
  suspension: 'Suspension for non-payment', deletion: 'Deletion', scheduled_deletion: 'Scheduled deletion',
};
const LEDGER_WORDS = {
  payment: 'Payment', order_charge: 'Order', renewal: 'Renewal', tariff_change: 'Tariff change',
  options: 'Options change', refund: 'Refund', reversal: 'Reversal',
};
const QUOTE_WORDS = { renewal: 'Renewal', tariff_change: 'Tariff change', options_change: 'Options change', order: 'Order' };
// Settings by product type (README, "Settings by product type").
const SETTINGS = { vps: ['ips', 'stats'], shared_hosting: ['stats'], domain: ['nameservers', 'whois'], vdc: ['vservers'] };

// ---------------------------------------------------------------- state

const S = {
  token: null, claims: null, gen: 0, timers: [], focusNext: false, flash: null,
  tariffs: null, tariffCache: new Map(), types: null, lastOrder: null,
};
const isProvider = () => S.claims?.role === 'provider';

// ---------------------------------------------------------------- DOM helpers

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  add(el, kids);
  for (const [k, v] of Object.entries(attrs || {})) setAttr(el, k, v);
  return el;
}

function setAttr(el, k, v) {
  if (v == null || v === false) return;
  if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
  else if (k === 'value') el.value = v;
  else el.setAttribute(k, v === true ? '' : v);
}

function add(el, kids) {
  for (const k of kids.flat(Infinity)) if (k != null && k !== false) el.append(k instanceof Node ? k : String(k));
  return el;
}

/** Replaces an element's children (null and false are skipped, unlike replaceChildren). */
function fill(el, ...kids) {
  el.replaceChildren();
  return add(el, kids);
}
const put = (el, ...kids) => add(el, kids);

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return add(el, kids);
}

let uid = 0;
const nid = (p = 'f') => `${p}${++uid}`;

/** A labelled form control, with an optional hint tied to it by aria-describedby. */
function field(label, control, hint) {
  control.id ||= nid();
  const lab = h('label', { for: control.id }, label);
  const kids = control.type === 'checkbox' ? [control, lab] : [lab, control];
  if (hint) {
    const hid = nid('h');
    control.setAttribute('aria-describedby', hid);
    kids.push(h('small', { id: hid, class: 'hint' }, hint));
  }
  return h('div', { class: control.type === 'checkbox' ? 'field check' : 'field' }, kids);
}

const input = (attrs) => h('input', { type: 'text', ...attrs });
const button = (label, onclick, cls = 'btn secondary', attrs = {}) => h('button', { type: 'button', class: cls, onclick, ...attrs }, label);
const select = (options, value, attrs = {}) =>
  h('select', attrs, options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, t)));
/** A table with a (visually hidden) caption, in a scrollable region the keyboard can reach. */
const tableBox = (label, ...kids) => h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: 0 },
  h('table', {}, h('caption', { class: 'sr-only' }, label), kids));
const card = (title, ...kids) => {
  const id = nid('s');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id, tabindex: -1 }, title), kids);
};
const dl = (rows) => h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
const muted = (text) => h('p', { class: 'muted' }, text);
const link = (href, text, attrs = {}) => h('a', { href, ...attrs }, text);
const serviceHref = (id) => `${BASE}/services/${encodeURIComponent(id)}`;
const clientHref = (id) => `${BASE}/clients/${encodeURIComponent(id)}`;

/** An element that shows errors (role="alert"), with room after it for a payment offer. */
const alertBox = () => h('div', { role: 'alert', class: 'alert' });
/** An element that says what was done (role="status"). */
const statusBox = () => h('div', { role: 'status', class: 'note' });

function showError(box, err, onPaymentStarted) {
  clearError(box);
  put(box, err.detail || err.message || 'Something went wrong.');
  if (err.status === 402 && !isProvider()) box.after(paymentOffer(err, onPaymentStarted));
}

function clearError(box) {
  fill(box);
  if (box.nextElementSibling?.classList.contains('pay-offer')) box.nextElementSibling.remove();
}

function say(box, text) { fill(box, text); }

/** Re-draws inside `scope` and puts the focus back on the control that had it (by data-k). */
function keepFocus(scope, draw) {
  const had = scope.contains(document.activeElement) ? document.activeElement.dataset.k : null;
  draw();
  if (had) scope.querySelector(`[data-k="${CSS.escape(had)}"]`)?.focus();
}

function focusIfLost(el) {
  const a = document.activeElement;
  if (!a || a === document.body || !a.isConnected) el?.focus();
}

// ---------------------------------------------------------------- formats

const money = (m) => (m == null ? '—' : (Number(m) / 100).toFixed(2));
const toMinor = (v) => Math.round(Number(String(v).replace(',', '.')) * 100);
const pad = (n) => String(n).padStart(2, '0');
const months = (n) => `${n} month${Number(n) === 1 ? '' : 's'}`;
const words = (s) => String(s ?? '').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

function day(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : `${day(iso)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}
const timeEl = (iso, long) => (iso ? h('time', { datetime: iso }, long ? when(iso) : day(iso)) : '—');
/** A datetime-local value (UTC) for an ISO date, and back. */
const toLocalInput = (iso) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');
function fromLocalInput(v) {
  const d = v ? new Date(v.length === 16 ? `${v}:00Z` : `${v}Z`) : null;
  return d && !isNaN(d) ? d.toISOString() : null;
}

function statusText(s) {
  const d = s.display_status || s.status;
  if (d === 'in_progress') return s.operation ? `In progress (${s.operation})` : 'In progress';
  return STATUS_WORDS[d] || words(d);
}

function statusBadge(s) {
  const d = s.display_status || s.status;
  const tone = ['active', 'access_to_kvm'].includes(d) ? 'ok'
    : /suspended|error|not_available|deleted/.test(d) ? 'bad'
      : /progress|transfer|change|issue|ordered|cart|configuration/.test(d) ? 'busy' : 'neutral';
  return h('span', { class: `badge ${tone}` }, statusText(s));
}

/** The service as its client knows it: the tariff and its main parameter. */
function serviceName(s, tariffs) {
  const name = tariffs?.get(s.tariff_id)?.name || s.tariff_id;
  const p = s.params || {};
  const main = p.domain ?? p.os_template ?? p.os;
  return main ? `${name} (${main})` : name;
}

const busy = (s) => s.status === 'in_progress' || !!s.flags?.operations_running || !!s.payment_pending;

// ---------------------------------------------------------------- icons

const ICONS = {
  renew: 'M20 12a8 8 0 1 1-2.3-5.7M20 4v4h-4',
  ops: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM12 7v5l3 3',
  price: 'M3 3h8l10 10-8 8L3 11zM7.5 7.5h.01',
};
/** An icon with a text alternative; without a label it is decorative (hidden from assistive tech). */
function icon(name, label) {
  const a11y = label ? { role: 'img', 'aria-label': label, title: label } : { 'aria-hidden': 'true' };
  return h('span', { class: `icon i-${name}`, ...a11y },
    svg('svg', { viewBox: '0 0 24 24', width: 18, height: 18, 'aria-hidden': 'true', focusable: 'false' },
      svg('path', { d: ICONS[name] })));
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The request failed (${status}).`);
    this.status = status;
    this.detail = problem?.detail || this.message;
    this.problem = problem || {};
  }
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One Idempotency-Key per intended action: the same request (method, path, body) sent again
 * after an error that may have left it done (no answer, a 5xx, a 409) goes under the same key,
 * and is answered what the first did instead of being done twice. A success, or a refusal the
 * user answers by changing the request, ends the action.
 */
const KEYS = new Map();

/**
 * A form's submit handler that runs once at a time: a second submit while the first is under
 * way (a double click, Enter pressed twice) does nothing. The form is `aria-busy` meanwhile.
 */
function onSubmit(form, handler) {
  let running = false;
  form.addEventListener('submit', async (e) => {
    if (running) {
      e.preventDefault();
      return;
    }
    running = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await handler(e);
    } finally {
      running = false;
      form.removeAttribute('aria-busy');
    }
  });
}

/** Calls the API with the token; answers the JSON body (with its ETag, as `etagOf` reads it), or
 * throws an ApiError (problem+json). `opts.ifMatch`: the ETag of the version the user saw. */
async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (S.token) headers.Authorization = `Bearer ${S.token}`;
  const action = `${method} ${path} ${JSON.stringify(body ?? null)} ${opts.ifMatch || ''}`;
  if (method !== 'GET') {
    if (!KEYS.has(action)) KEYS.set(action, newKey());
    headers['Idempotency-Key'] = KEYS.get(action);
  }
  if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, { detail: 'The server could not be reached. Check the connection and try again.' });
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  const mayBeDone = res.status >= 500 || res.status === 409;
  if (!mayBeDone) KEYS.delete(action);
  if (!res.ok) {
    if (res.status === 401 && S.token && !S.checking) sessionEnded();
    throw new ApiError(res.status, data);
  }
  const etag = res.headers.get('ETag');
  if (etag && data && typeof data === 'object') ETAGS.set(data, etag);
  return data;
}

/** The ETag each answer came with (a service's version), by the object it was parsed into. */
const ETAGS = new WeakMap();
const etagOf = (data) => ETAGS.get(data);

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const dry = (yes) => (yes ? '?dry_run=true' : '');

/** Follows a list's cursor until `want` items or the last page (at most `pages` requests). */
async function collect(path, params, want = 50, pages = 5) {
  const items = [];
  let cursor = params.cursor || null;
  let n = 0;
  do {
    const r = await api('GET', path + qs({ ...params, cursor }));
    items.push(...(r.items || []));
    cursor = r.cursor;
  } while (cursor && items.length < want && ++n < pages);
  return { items, cursor };
}

/** Every tariff on sale, by id (fetched once). */
function tariffMap() {
  S.tariffs ||= collect('/tariffs', { limit: 100 }, 1000, 10)
    .then((r) => new Map(r.items.map((t) => [t.id, t])))
    .catch((e) => { S.tariffs = null; throw e; });
  return S.tariffs;
}
const tariffsOrEmpty = () => tariffMap().catch(() => new Map());

/** One tariff, also one no longer on sale; null when it cannot be read. */
async function getTariff(id) {
  if (!S.tariffCache.has(id)) S.tariffCache.set(id, api('GET', `/tariffs/${encodeURIComponent(id)}`).catch(() => null));
  return S.tariffCache.get(id);
}

function productTypes() {
  S.types ||= api('GET', '/product-types').then((r) => r.items).catch((e) => { S.types = null; throw e; });
  return S.types;
}

// ---------------------------------------------------------------- sign-in

function decodeJwt(token) {
  const part = token.split('.')[1];
  if (!part) throw new Error('This is not a token (a JWT has three parts separated by dots).');
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function roleOf(claims) {
  const groups = claims['cognito:groups'];
  if ((Array.isArray(groups) && groups.includes('provider')) || groups === 'provider') return 'provider';
  return claims.role === 'provider' ? 'provider' : 'client';
}

function setToken(token) {
  let claims;
  try { claims = decodeJwt(token); } catch (e) { throw new Error(e.message.startsWith('This') ? e.message : 'The token could not be read.'); }
  if (!claims.sub) throw new Error('The token names no subject (sub).');
  if (claims.exp && claims.exp * 1000 < Date.now()) throw new Error('The token has expired. Get a new one.');
  S.token = token;
  S.claims = { sub: claims.sub, role: roleOf(claims) };
  sessionStorage.setItem(TOKEN_KEY, token);
}

function forgetToken() {
  S.token = null;
  S.claims = null;
  S.tariffs = null;
  S.types = null;
  S.tariffCache.clear();
  sessionStorage.removeItem(TOKEN_KEY);
}

function signOut() {
  forgetToken();
  S.flash = 'You are signed out.';
  navigate(`${BASE}/`);
}

function sessionEnded() {
  forgetToken();
  S.flash = 'Your session has ended. Sign in again.';
  render(true);
}

const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const redirectUri = () => CFG.redirect_uri || `${location.origin}${BASE}/callback`;

/** The authorization-code + PKCE request to the identity provider. */
async function authorizeUrl() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const back = location.pathname.startsWith(`${BASE}/callback`) ? `${BASE}/services` : location.pathname + location.search;
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, back }));
  const url = new URL(CFG.authorize_url, location.href);
  const params = {
    response_type: 'code', client_id: CFG.client_id, redirect_uri: redirectUri(), scope: CFG.scope || 'openid',
    code_challenge: challenge, code_challenge_method: 'S256', state,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

function pageSignIn(ctx) {
  head(ctx, 'Sign in');
  const box = alertBox();
  const wrap = h('div', { class: 'card narrow' }, h('p', {}, 'Sign in to see and manage your services.'), box);
  if (CFG.authorize_url) {
    const a = link(CFG.authorize_url, 'Sign in with your provider', { class: 'btn' });
    a.addEventListener('click', async (e) => {
      e.preventDefault();
      try { location.assign(await authorizeUrl()); } catch (err) { showError(box, err); }
    });
    put(wrap, h('p', {}, a));
  }
  if (CFG.dev_token !== false) {
    const token = input({ type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true });
    const submit = h('button', { type: 'submit', class: 'btn' }, 'Sign in');
    const form = h('form', { class: 'stack' }, field('Token', token, 'Paste a token, such as the one "make token" prints.'), submit);
    onSubmit(form, async (e) => {
      e.preventDefault();
      clearError(box);
      try {
        setToken(token.value.trim());
        S.checking = true;
        await api('GET', '/product-types');
      } catch (err) {
        forgetToken();
        const detail = err.status === 401 ? 'The API did not accept this token.' : err.detail || err.message;
        showError(box, { detail });
        token.focus();
        return;
      } finally {
        S.checking = false;
      }
      const here = location.pathname.replace(/\/+$/, '');
      navigate(here === BASE || here === '' ? `${BASE}/services` : location.pathname + location.search, true);
    });
    put(wrap, form);
  }
  put(ctx.main, wrap);
}

async function pageCallback(ctx) {
  head(ctx, 'Signing in');
  const box = alertBox();
  put(ctx.main, box);
  const q = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  sessionStorage.removeItem(PKCE_KEY);
  try {
    // Nothing the URL says is shown before its `state` is this sign-in's: a crafted link
    // could otherwise put its own words on this page.
    if (!saved || !q.get('state') || q.get('state') !== saved.state) {
      throw new Error('This sign-in answer does not match a sign-in started here. Try again.');
    }
    if (q.get('error')) throw new Error(q.get('error_description') || q.get('error'));
    if (!q.get('code')) throw new Error('The identity provider sent no sign-in code. Try again.');
    const res = await fetch(CFG.token_url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectUri(),
        client_id: CFG.client_id, code_verifier: saved.verifier,
      }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error_description || data.error || `The identity provider answered ${res.status}.`);
    setToken(data[CFG.token || 'access_token'] || data.id_token || data.access_token || '');
    navigate(saved.back && saved.back !== BASE && saved.back !== `${BASE}/` ? saved.back : `${BASE}/services`, true);
  } catch (e) {
    showError(box, e);
    put(ctx.main, h('p', {}, link(`${BASE}/`, 'Back to sign in')));
  }
}

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
];

function decodePart(part) {
  try { return decodeURIComponent(part); } catch { return part; }
}

function navigate(url, replace) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  render(true);
  window.scrollTo(0, 0);
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
    ...(isProvider() ? [['clients', 'Clients'], ['catalog', 'Catalog']] : [['account', 'Account']]), ['tickets', 'Tickets']];
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

/** Starts a page: its h1 (focused after a navigation), the document title and a pending flash. */
function head(ctx, title) {
  document.title = `${title} · Hosting console`;
  const el = h('h1', { tabindex: -1 }, title);
  fill(ctx.main, el);
  if (S.flash) {
    put(ctx.main, h('p', { class: 'flash', role: 'status' }, S.flash));
    S.flash = null;
  }
  if (S.focusNext) el.focus();
  return el;
}

function retitle(el, title) {
  el.textContent = title;
  document.title = `${title} · Hosting console`;
}

function notFound(ctx, text) {
  head(ctx, 'Not found');
  put(ctx.main, h('p', {}, text), h('p', {}, link(`${BASE}/services`, 'Back to the list')));
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

// ---------------------------------------------------------------- payments (shared)

/** The "Start a payment" offer shown after a 402: the shortfall, editable. */
function paymentOffer(err, onStarted) {
  const m = /balance of (\d+) does not cover (\d+)/.exec(err.detail || '');
  const short = m ? Math.max(1, Number(m[2]) - Number(m[1])) : null;
  const amount = input({ inputmode: 'decimal', value: short ? money(short) : '', required: true, autocomplete: 'off' });
  const box = alertBox();
  const note = statusBox();
  const form = h('form', { class: 'pay-offer card inset' },
    h('p', {}, short ? `The balance is short by ${money(short)}.` : 'The balance is short.'),
    field('Amount to pay', amount), box,
    h('button', { type: 'submit', class: 'btn' }, 'Start a payment'), note);
  onSubmit(form, async (e) => {
    e.preventDefault();
    clearError(box);
    const minor = toMinor(amount.value);
    if (!(minor >= 1)) return showError(box, { detail: 'Enter an amount, such as 12.50.' });
    try {
      const p = await api('POST', '/payments', { amount: minor });
      say(note, `A payment of ${money(p.amount)} was started. It is pending until the payment gateway confirms it; what it covers is then paid.`);
      onStarted?.(p);
    } catch (e2) { showError(box, e2); }
  });
  return form;
}

/** A quote (dry_run answer) as a definition list. */
function quoteView(q, totalLabel = 'Amount to pay') {
  const credit = q.total < 0;
  return h('div', { class: 'quote' },
    h('h4', {}, 'Quote'),
    dl([
      [credit ? 'Credit' : totalLabel, money(Math.abs(q.total))],
      ['Balance after', money(q.balance_after)],
      q.expires_at && ['New expiry', timeEl(q.expires_at)],
      q.status && ['Status after', STATUS_WORDS[q.status] || words(q.status)],
    ]),
    q.lines?.length ? h('ul', { class: 'lines' }, q.lines.map((l) => h('li', {},
      `${QUOTE_WORDS[l.what] || words(l.what)}: ${months(l.period_months)}, ${l.days} days — ${money(l.amount)}`))) : null);
}

// ---------------------------------------------------------------- services list

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
function servicesView(ctx, filters, empty) {
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

async function pageServices(ctx) {
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

// ---------------------------------------------------------------- one service

async function pageService(ctx, id) {
  const title = head(ctx, 'Service');
  const box = alertBox();
  const note = statusBox();
  put(ctx.main, box, note);
  let svc;
  try {
    svc = await api('GET', `/services/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!ctx.alive()) return;
    if (e.status === 404) return notFound(ctx, 'There is no such service.');
    return showError(box, e);
  }
  if (!ctx.alive()) return;
  const [tariffs, tariff] = await Promise.all([tariffsOrEmpty(), getTariff(svc.tariff_id)]);
  if (!ctx.alive()) return;
  if (tariff) tariffs.set(tariff.id, tariff);
  const v = {
    ctx, id, svc, tariffs, tariff, title, box, note, base: `/services/${encodeURIComponent(id)}`,
    drawn: '', busy: false, timer: null, settingsKey: null, historyCursor: null,
  };
  v.details = h('div');
  v.actionsHead = h('h2', { id: 'h-actions', tabindex: -1 }, 'Actions');
  v.toolbar = h('div', { class: 'toolbar', role: 'group', 'aria-labelledby': 'h-actions' });
  v.panel = h('div', { class: 'panel' });
  v.why = h('div');
  v.settings = h('div');
  v.timeline = h('div');
  v.historyHead = h('h2', { id: 'history', tabindex: -1 }, 'History');
  v.history = h('div');
  put(ctx.main,
    v.details,
    h('section', { class: 'card', 'aria-labelledby': 'h-actions' }, v.actionsHead, v.toolbar, v.why, v.panel),
    v.settings,
    card('Timeline', v.timeline),
    h('section', { class: 'card', 'aria-labelledby': 'history' }, v.historyHead, v.history),
    isProvider() ? abuseCard(v) : null);
  showService(v, svc);
}

function showService(v, svc) {
  v.svc = svc;
  clearTimeout(v.timer);
  const key = JSON.stringify(svc);
  if (key !== v.drawn) {
    v.drawn = key;
    v.poll = pollState();
    retitle(v.title, serviceName(svc, v.tariffs));
    const inside = v.toolbar.contains(document.activeElement) || v.why.contains(document.activeElement);
    keepFocus(v.ctx.main, () => { drawDetails(v); drawToolbar(v); });
    if (inside) focusIfLost(v.actionsHead);
    loadTimeline(v);
    loadHistory(v, false);
    drawSettings(v);
  }
  if (busy(svc)) {
    v.timer = pollLater(v.ctx, v.poll, () => refreshService(v), () => fill(v.note, h('p', {},
      'Still waiting for the operation. ', button('Refresh', () => { v.poll = pollState(); refreshService(v); }, 'btn secondary'))));
  }
}

// Re-reading while something is under way: from 1 s, doubling to a minute, for at most ten
// minutes after the last change (then a Refresh control), and never in a hidden tab (the
// next read waits until it is shown again).
const POLL_FIRST = 1000;
const POLL_MAX = 60 * 1000;
const POLL_FOR = 10 * 60 * 1000;
const pollState = () => ({ delay: POLL_FIRST, since: Date.now() });

function pollLater(ctx, state, run, stopped) {
  if (Date.now() - state.since > POLL_FOR) return stopped();
  if (document.hidden) {
    const shown = () => {
      if (document.hidden) return;
      document.removeEventListener('visibilitychange', shown);
      if (ctx.alive()) run();
    };
    document.addEventListener('visibilitychange', shown);
    return null;
  }
  const timer = ctx.later(run, state.delay);
  state.delay = Math.min(state.delay * 2, POLL_MAX);
  return timer;
}

async function refreshService(v) {
  clearTimeout(v.timer);
  let svc;
  try {
    svc = await api('GET', `/services/${encodeURIComponent(v.id)}`);
  } catch (e) {
    if (!v.ctx.alive()) return;
    if (e.status === 404) {
      S.flash = 'The service no longer exists.';
      return navigate(`${BASE}/services`, true);
    }
    showError(v.box, e);
    if (busy(v.svc)) v.timer = pollLater(v.ctx, v.poll, () => refreshService(v), () => {});
    return;
  }
  if (v.ctx.alive()) showService(v, svc);
}

function drawDetails(v) {
  const s = v.svc;
  const optName = (id) => v.tariff?.options?.find((o) => o.id === id)?.name || id;
  const params = Object.entries(s.params || {});
  const ar = s.auto_renew || {};
  fill(v.details, card('Details', dl([
    ['Status', statusBadge(s)],
    ['Product type', TYPE_NAMES[s.product_type] || s.product_type],
    ['Tariff', v.tariffs.get(s.tariff_id)?.name || s.tariff_id],
    isProvider() && ['Client', link(clientHref(s.client_id), s.client_id)],
    ['Expires', timeEl(s.expires_at)],
    ['Period', s.period_months ? months(s.period_months) : '—'],
    ['Renewal price', [money(s.renewal_price), ar.period_months ? ` for ${months(ar.period_months)}` : '',
      s.flags?.special_price ? [' ', icon('price', 'Special price')] : '']],
    ['Auto-renewal', ar.enabled ? [icon('renew', 'Auto-renewal on'), ` On, every ${months(ar.period_months)}`] : 'Off'],
    s.status === 'ordered' && !s.paid && ['Order price', money(s.order_price)],
    s.delete_at && ['Deletion scheduled', timeEl(s.delete_at, true)],
    s.grace && ['Grace', [timeEl(s.grace.until, true), ` — ${s.grace.reason}`]],
    s.last_error && ['Last error', s.last_error],
    isProvider() && s.abuse_score != null && ['Abuse score', String(s.abuse_score)],
    ['Parameters', params.length ? h('ul', { class: 'plain' }, params.map(([k, val]) => h('li', {}, h('code', {}, k), ` ${val}`))) : 'None'],
    ['Options', s.options?.length ? h('ul', { class: 'plain' }, s.options.map((o) => h('li', {}, `${optName(o.id)} × ${o.quantity}`))) : 'None'],
  ]), h('p', {}, link(`${BASE}/tickets?service_id=${encodeURIComponent(s.id)}`, 'Conversations about this service'))));
}

function drawToolbar(v) {
  const allowed = v.svc.allowed_actions || {};
  const buttons = ACTIONS.filter(([k]) => allowed[k]?.allowed === true).map(([k, label]) =>
    button(label, () => openAction(v, k), k === 'delete' ? 'btn danger' : 'btn secondary', { 'data-k': `a-${k}` }));
  buttons.push(button('History', () => showHistory(v), 'btn secondary', { 'data-k': 'a-history', 'aria-controls': 'history' }));
  fill(v.toolbar, ...buttons);
  const refused = Object.entries(allowed).filter(([, a]) => a && a.allowed === false);
  fill(v.why, refused.length ? h('details', { class: 'why' },
    h('summary', {}, 'Why some actions are unavailable'),
    h('ul', {}, refused.map(([k, a]) => h('li', {}, h('strong', {}, ACTION_LABEL[k] || words(k)), `: ${a.reason || 'not allowed now'}`)))) : '');
}

async function showHistory(v) {
  await loadHistory(v, false);
  v.historyHead.scrollIntoView({ block: 'start' });
  v.historyHead.focus();
}

/** Opens the panel of one action: a form, a quote or a confirmation; simple ones run at once. */
function openAction(v, action) {
  if (v.busy) return;
  clearError(v.box);
  say(v.note, '');
  if (SIMPLE_ACTIONS.includes(action)) {
    return runAction(v, () => api('POST', `${v.base}/${action}`, {}, seen(v)), `${ACTION_LABEL[action]} requested.`);
  }
  const panels = {
    renew: renewPanel, change_tariff: tariffPanel, options: optionsPanel, edit: editPanel,
    ticket: ticketPanel, grace: gracePanel,
    delete: (x) => confirmPanel(x, 'Delete', 'Delete this service beyond recovery? A service never activated is deleted at once and refunded; otherwise the product type\'s rules apply.',
      () => api('DELETE', x.base), 'Deletion requested.', 'btn danger'),
    transfer: (x) => confirmPanel(x, 'Transfer', x.svc.product_type === 'domain'
      ? 'Transfer this domain to another registrar?' : 'Move this service to another node?',
    () => api('POST', `${x.base}/transfer`, {}), 'Transfer requested.'),
  };
  panels[action]?.(v);
}

/** Shows a panel with a heading (focused) and a Cancel button. */
function panelFrame(v, title, ...kids) {
  const heading = h('h3', { tabindex: -1 }, title);
  fill(v.panel, h('div', { class: 'card inset' }, heading, kids,
    h('p', {}, button('Cancel', () => closePanel(v), 'btn ghost-dark'))));
  heading.focus();
}

function closePanel(v) {
  fill(v.panel);
  focusIfLost(v.actionsHead);
}

/** Runs a change, says it was done and reads the service again. */
async function runAction(v, request, done, keepPanel) {
  if (v.busy) return;
  v.busy = true;
  v.toolbar.setAttribute('aria-busy', 'true');
  clearError(v.box);
  try {
    await request();
    if (!keepPanel) fill(v.panel);
    say(v.note, done);
    await refreshService(v);
    focusIfLost(v.actionsHead);
    return true;
  } catch (e) {
    showError(v.box, e);
    v.box.scrollIntoView({ block: 'nearest' });
    // Changed since it was shown: show it as it is now (a quote is asked for again).
    if (e.status === 412) await refreshService(v);
    return false;
  } finally {
    v.busy = false;
    v.toolbar.removeAttribute('aria-busy');
  }
}

/** Asks for a quote (dry_run) and shows it with a Confirm button that makes the real call. */
async function quoteStep(v, area, request, done) {
  clearError(v.box);
  fill(area, muted('Getting a quote…'));
  let q;
  // The confirmation sends the request quoted, body and all, with the version quoted
  // (If-Match): what the user typed since, or a service changed since (412), is never charged
  // other than the quote shown.
  const quoted = seen(v);
  const send = request();
  try {
    q = await send(true, quoted);
  } catch (e) {
    fill(area);
    showError(v.box, e);
    if (e.status === 412) refreshService(v);
    return v.box.scrollIntoView({ block: 'nearest' });
  }
  fill(area, quoteView(q), h('p', {}, button('Confirm', () => runAction(v, () => send(false, quoted), done), 'btn')));
}

/** The If-Match of the service as the page shows it. */
const seen = (v) => ({ ifMatch: etagOf(v.svc) });

function confirmPanel(v, title, text, request, done, cls = 'btn') {
  panelFrame(v, title, h('p', {}, text), h('p', {}, button('Confirm', () => runAction(v, request, done), cls)));
}

function renewPanel(v) {
  const periods = input({ type: 'number', min: 1, max: 10, value: 1, inputmode: 'numeric' });
  const area = h('div');
  const request = () => {
    const body = { periods: Math.min(10, Math.max(1, Number(periods.value) || 1)) };
    return (isDry, quoted) => api('POST', `${v.base}/renew${dry(isDry)}`, body, quoted);
  };
  periods.addEventListener('change', () => quoteStep(v, area, request, 'Renewal requested.'));
  const each = v.svc.auto_renew?.period_months;
  panelFrame(v, 'Renew', field('Periods', periods, each ? `Each period is ${months(each)}.` : null), area);
  quoteStep(v, area, request, 'Renewal requested.');
}

function tariffPanel(v) {
  const targets = v.tariff?.change_to || [];
  if (!targets.length) return panelFrame(v, 'Change tariff', h('p', {}, 'This tariff cannot be changed to another one.'));
  const sel = select(targets.map((id) => [id, v.tariffs.get(id)?.name || id]), targets[0]);
  const area = h('div');
  const request = () => {
    const body = { tariff_id: sel.value };
    return (isDry, quoted) => api('POST', `${v.base}/change-tariff${dry(isDry)}`, body, quoted);
  };
  sel.addEventListener('change', () => quoteStep(v, area, request, 'Tariff change requested.'));
  panelFrame(v, 'Change tariff', field('New tariff', sel), area);
  quoteStep(v, area, request, 'Tariff change requested.');
}

async function optionsPanel(v) {
  let r;
  try { r = await api('GET', `${v.base}/options`); } catch (e) { return showError(v.box, e); }
  if (!r.items?.length) return panelFrame(v, 'Options', h('p', {}, 'This tariff offers no options.'));
  const inputs = r.items.map((o) => [o, input({ type: 'number', min: 0, max: o.max, value: o.quantity, inputmode: 'numeric' })]);
  const area = h('div');
  const request = () => {
    const body = {
      options: inputs.map(([o, i]) => ({ id: o.id, quantity: Math.max(0, Math.floor(Number(i.value) || 0)) })).filter((o) => o.quantity > 0),
    };
    return (isDry, quoted) => api('PUT', `${v.base}/options${dry(isDry)}`, body, quoted);
  };
  // A quote stands for the quantities it was made for: changing one takes it away.
  inputs.forEach(([, i]) => i.addEventListener('input', () => fill(area)));
  panelFrame(v, 'Options',
    inputs.map(([o, i]) => field(o.name, i, `0 to ${o.max}, ${money(o.price)} each per month`)),
    h('p', {}, button('Get quote', () => quoteStep(v, area, request, 'Options change requested.'))), area);
}

function editPanel(v) {
  const s = v.svc;
  const ar = s.auto_renew || { enabled: false, period_months: s.period_months };
  const periods = Object.keys(v.tariff?.prices || { [ar.period_months]: 0 }).map(Number).sort((a, b) => a - b);
  const enabled = h('input', { type: 'checkbox', checked: ar.enabled });
  const period = select(periods.map((p) => [p, months(p)]), ar.period_months);
  const fields = [field('Renew automatically', enabled), field('Renewal period', period)];
  let price; let expires;
  if (isProvider()) {
    price = input({ inputmode: 'decimal', value: money(s.renewal_price), autocomplete: 'off' });
    expires = input({ type: 'datetime-local', value: toLocalInput(s.expires_at) });
    fields.push(field('Renewal price', price, 'For the renewal period, options included. Another price than the list price is a special price.'),
      field('Expires at (UTC)', expires));
  }
  const missing = (v.tariff?.required_params || []).filter((p) => !s.params?.[p]);
  const params = s.status === 'configuration_required' ? missing.map((p) => [p, input({ autocomplete: 'off', required: true })]) : [];
  fields.push(...params.map(([p, i]) => field(p, i)));
  const form = h('form', { class: 'stack' }, fields, h('button', { type: 'submit', class: 'btn' }, 'Save'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = {};
    if (enabled.checked !== !!ar.enabled || Number(period.value) !== ar.period_months) {
      body.auto_renew = { enabled: enabled.checked, period_months: Number(period.value) };
    }
    if (price) {
      const minor = toMinor(price.value);
      if (!(minor >= 0)) return showError(v.box, { detail: 'Enter the renewal price as a number, such as 12.50.' });
      if (minor !== s.renewal_price) body.renewal_price = minor;
    }
    if (expires?.value && expires.value !== toLocalInput(s.expires_at)) body.expires_at = fromLocalInput(expires.value);
    const filled = params.filter(([, i]) => i.value.trim());
    if (filled.length) body.params = Object.fromEntries(filled.map(([p, i]) => [p, i.value.trim()]));
    if (!Object.keys(body).length) return showError(v.box, { detail: 'Nothing was changed.' });
    runAction(v, () => api('PATCH', v.base, body, seen(v)), 'Saved.');
  });
  const withdraw = s.delete_at ? h('p', {}, button('Withdraw the scheduled deletion',
    () => runAction(v, () => api('PATCH', v.base, { delete_at: null }), 'The scheduled deletion was withdrawn.'))) : null;
  panelFrame(v, 'Edit', form, withdraw);
}

function ticketPanel(v) {
  const subject = input({ maxlength: 200, required: true, autocomplete: 'off' });
  const message = h('textarea', { rows: 5, maxlength: 10000, required: true });
  const form = h('form', { class: 'stack' }, field('Subject', subject), field('Message', message),
    h('button', { type: 'submit', class: 'btn' }, 'Send'));
  onSubmit(form, async (e) => {
    e.preventDefault();
    const ok = await runAction(v, () => api('POST', `${v.base}/tickets`, { subject: subject.value.trim(), message: message.value.trim() }),
      'Ticket opened.', true);
    if (ok) {
      const done = h('p', { tabindex: -1 }, 'Ticket opened. ', link(`${BASE}/tickets?service_id=${encodeURIComponent(v.id)}`, 'See the conversation'));
      fill(v.panel, h('div', { class: 'card inset' }, done));
      done.focus();
    }
  });
  panelFrame(v, 'Ticket', form);
}

function gracePanel(v) {
  const base = v.svc.expires_at ? new Date(v.svc.expires_at) : new Date();
  const until = input({ type: 'datetime-local', required: true, value: toLocalInput(new Date(base.getTime() + 7 * 864e5).toISOString()) });
  const reason = h('textarea', { rows: 3, maxlength: 500, required: true });
  const form = h('form', { class: 'stack' }, field('Until (UTC)', until, 'After the expiry, at most 3 months past it.'),
    field('Reason', reason), h('button', { type: 'submit', class: 'btn' }, 'Confirm'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runAction(v, () => api('POST', `${v.base}/grace`, { until: fromLocalInput(until.value), reason: reason.value.trim() }), 'Grace granted.');
  });
  panelFrame(v, 'Grace', form);
}

function abuseCard(v) {
  const score = input({ type: 'number', min: 1, max: 1000, value: 10, required: true, inputmode: 'numeric' });
  const description = h('textarea', { rows: 3, maxlength: 2000, required: true });
  const form = h('form', { class: 'stack' }, field('Score', score, 'The service is suspended once its score reaches the product type\'s abuse limit.'),
    field('Description', description), h('button', { type: 'submit', class: 'btn secondary' }, 'Add abuse report'));
  onSubmit(form, async (e) => {
    e.preventDefault();
    const ok = await runAction(v, () => api('POST', `${v.base}/abuse-reports`, { score: Number(score.value), description: description.value.trim() }),
      'Abuse report added.', true);
    if (ok) description.value = '';
  });
  return card('Abuse reports', form);
}

async function loadTimeline(v) {
  try {
    const r = await api('GET', `${v.base}/timeline`);
    if (!v.ctx.alive()) return;
    fill(v.timeline, r.items?.length ? h('ol', { class: 'events' }, r.items.map((i) => h('li', {},
      timeEl(i.at, true), ' — ', TIMELINE_WORDS[i.event] || words(i.event),
      i.amount != null ? `: ${money(i.amount)}` : '',
      i.covered === true ? ' (the balance covers it)' : i.covered === false ? ' (the balance does not cover it)' : ''))) : muted('Nothing is scheduled.'));
  } catch (e) {
    fill(v.timeline, muted(e.detail || e.message));
  }
}

function detailsText(details) {
  return Object.entries(details || {}).filter(([, val]) => val != null).map(([k, val]) =>
    `${words(k)}: ${val !== null && typeof val === 'object' ? JSON.stringify(val) : val}`).join('; ');
}

async function loadHistory(v, more) {
  try {
    const r = await api('GET', `${v.base}/history${qs({ limit: 20, cursor: more ? v.historyCursor : null })}`);
    if (!v.ctx.alive()) return;
    v.historyCursor = r.cursor;
    const items = r.items.map((e) => h('li', {},
      h('strong', {}, words(e.operation)), ' — ', timeEl(e.at, true),
      ` by ${e.actor?.role === 'provider' ? 'the provider' : isProvider() ? `client ${e.actor?.id}` : 'you'}`,
      e.status_after ? `: ${e.status_before && e.status_before !== e.status_after ? `${STATUS_WORDS[e.status_before] || words(e.status_before)} → ` : ''}${STATUS_WORDS[e.status_after] || words(e.status_after)}` : '',
      detailsText(e.details) ? h('div', { class: 'small muted' }, detailsText(e.details)) : null));
    const list = more ? v.history.querySelector('ol') : h('ol', { class: 'events' });
    put(list, ...items);
    fill(v.history, list.children.length ? list : muted('No history yet.'),
      r.cursor ? h('p', {}, button('Load older entries', () => loadHistory(v, true), 'btn secondary', { 'data-k': 'h-more' })) : null);
  } catch (e) {
    fill(v.history, muted(e.detail || e.message));
  }
}

// ---------------------------------------------------------------- settings by product type

function drawSettings(v) {
  const kinds = SETTINGS[v.svc.product_type] || [];
  const ready = v.svc.status === 'active' && !v.svc.flags?.operations_running;
  const key = kinds.length ? String(ready) : '';
  if (key === v.settingsKey) return;
  v.settingsKey = key;
  if (!kinds.length) return fill(v.settings);
  if (!ready) return fill(v.settings, card('Settings', muted('Settings are available while the service is active and no operation is running.')));
  const views = { ips: ipCard, stats: statsCard, nameservers: nameserversCard, whois: whoisCard, vservers: vserversCard };
  fill(v.settings, ...kinds.map((k) => views[k](v)));
}

/** A settings card: its own error box, a body, and a load function run at once. */
function settingCard(title, load) {
  const box = alertBox();
  const note = statusBox();
  const body = h('div', {}, muted('Loading…'));
  const el = card(title, box, note, body);
  const reload = async () => {
    try { await load(body, { box, note, reload }); } catch (e) { fill(body); showError(box, e); }
  };
  reload();
  return el;
}

function ipCard(v) {
  return settingCard('IP addresses', async (body, c) => {
    const r = await api('GET', `${v.base}/ip-addresses`);
    const offer = (ver) => v.tariff?.options?.find((o) => o.id === `ipv${ver}`);
    const area = h('div');
    const add = (ver) => {
      const o = offer(ver);
      const text = o ? `An extra IPv${ver} address costs ${money(o.price)} per month; the days left of the paid period are charged now.`
        : `An IPv${ver} address is free (up to 16).`;
      fill(area, h('div', { class: 'card inset' }, h('p', { tabindex: -1 }, text),
        h('p', {}, button('Confirm', async () => {
          clearError(c.box);
          try {
            const ip = await api('POST', `${v.base}/ip-addresses`, { version: ver });
            say(c.note, `Address ${ip.address} added.`);
            await c.reload();
            refreshService(v);
          } catch (e) { showError(c.box, e); }
        }, 'btn'), ' ', button('Cancel', () => fill(area), 'btn ghost-dark'))));
      area.querySelector('p').focus();
    };
    const remove = async (ip) => {
      clearError(c.box);
      try {
        // ':' is legal in a path segment; keeping it spares the gateway an IPv6 address in %3A form.
        await api('DELETE', `${v.base}/ip-addresses/${encodeURIComponent(ip.address).replace(/%3A/gi, ':')}`);
        say(c.note, `Address ${ip.address} removed.`);
        await c.reload();
        refreshService(v);
      } catch (e) { showError(c.box, e); }
    };
    fill(body,
      r.items.length ? h('ul', { class: 'rows' }, r.items.map((ip) => h('li', {},
        h('code', {}, ip.address), ` IPv${ip.version} `,
        button('Remove', () => remove(ip), 'btn small secondary', { 'aria-label': `Remove ${ip.address}` })))) : muted('No addresses.'),
      h('p', { class: 'row' }, button('Add IPv4 address', () => add(4)), ' ', button('Add IPv6 address', () => add(6))), area);
  });
}

const METRICS = [['cpu_percent', 'CPU (%)'], ['memory_mb', 'Memory (MB)'], ['disk_mb', 'Disk (MB)'], ['traffic_mb', 'Traffic (MB)']];

function statsCard(v) {
  return settingCard('Statistics', async (body) => {
    const r = await api('GET', `${v.base}/statistics`);
    const metric = select(METRICS, 'cpu_percent');
    const chartBox = h('div');
    const draw = () => fill(chartBox, chart(r, metric.value, METRICS.find(([k]) => k === metric.value)[1]));
    metric.addEventListener('change', draw);
    draw();
    fill(body, field('Metric', metric), chartBox, h('details', {}, h('summary', {}, 'Data table'),
      tableBox('Statistics per day',
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), METRICS.map(([, t]) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.items.map((i) => h('tr', {}, h('th', { scope: 'row' }, day(i.at)), METRICS.map(([k]) => h('td', {}, String(i[k])))))))));
  });
}

/** A bar chart of one metric: inline SVG bars, labels as text beside it. */
function chart(stats, key, label) {
  const items = stats.items || [];
  if (!items.length) return muted('No samples in this period.');
  const W = 600; const H = 140;
  const max = Math.max(...items.map((i) => Number(i[key]) || 0), 1);
  const bw = W / items.length;
  const bars = items.map((i, n) => {
    const val = Number(i[key]) || 0;
    const bh = ((H - 4) * val) / max;
    return svg('rect', { x: (n * bw + bw * 0.15).toFixed(1), y: (H - bh).toFixed(1), width: (bw * 0.7).toFixed(1), height: bh.toFixed(1) },
      svg('title', {}, `${day(i.at)}: ${val}`));
  });
  const last = items[items.length - 1];
  const desc = `${label} per day from ${day(stats.from)} to ${day(stats.to)}; highest ${max}, latest ${last[key]}.`;
  return h('figure', { class: 'chart' },
    h('figcaption', { class: 'small muted' }, `${label}, highest ${max}`),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': desc, preserveAspectRatio: 'none' }, svg('g', {}, bars)),
    h('div', { class: 'axis small muted' }, h('span', {}, day(items[0].at)), h('span', {}, day(last.at))));
}

function nameserversCard(v) {
  return settingCard('Nameservers', async (body, c) => {
    const r = await api('GET', `${v.base}/nameservers`);
    const text = h('textarea', { rows: 4, value: (r.nameservers || []).join('\n'), spellcheck: 'false' });
    const form = h('form', { class: 'stack' }, field('Nameservers (one per line)', text, '2 to 13 host names.'),
      h('button', { type: 'submit', class: 'btn' }, 'Save nameservers'));
    onSubmit(form, async (e) => {
      e.preventDefault();
      clearError(c.box);
      try {
        const saved = await api('PUT', `${v.base}/nameservers`, { nameservers: text.value.split(/[\s,]+/).filter(Boolean) });
        text.value = saved.nameservers.join('\n');
        say(c.note, 'Nameservers saved.');
      } catch (err) { showError(c.box, err); }
    });
    fill(body, form);
  });
}

function whoisCard(v) {
  return settingCard('Whois', async (body, c) => {
    const r = await api('GET', `${v.base}/whois`);
    const reg = r.registrant || {};
    const adr = reg.address || {};
    const f = {
      name: input({ value: reg.name, required: true, autocomplete: 'name' }),
      organization: input({ value: reg.organization, autocomplete: 'organization' }),
      email: input({ type: 'email', value: reg.email, required: true, autocomplete: 'email' }),
      phone: input({ type: 'tel', value: reg.phone, required: true, autocomplete: 'tel' }),
      street: input({ value: adr.street, required: true, autocomplete: 'street-address' }),
      city: input({ value: adr.city, required: true, autocomplete: 'address-level2' }),
      postal_code: input({ value: adr.postal_code, required: true, autocomplete: 'postal-code' }),
      country: input({ value: adr.country, required: true, maxlength: 2, autocomplete: 'country' }),
    };
    const form = h('form', { class: 'stack' },
      r.registrant ? null : muted('No registrant contact is set yet.'),
      field('Name', f.name), field('Organization (optional)', f.organization), field('E-mail', f.email),
      field('Phone', f.phone, 'International format, such as +15551234567.'), field('Street', f.street),
      field('City', f.city), field('Postal code', f.postal_code), field('Country', f.country, 'Two letters, such as DE.'),
      h('button', { type: 'submit', class: 'btn' }, 'Save whois'));
    onSubmit(form, async (e) => {
      e.preventDefault();
      clearError(c.box);
      const val = (k) => f[k].value.trim();
      const registrant = {
        name: val('name'), email: val('email'), phone: val('phone'),
        address: { street: val('street'), city: val('city'), postal_code: val('postal_code'), country: val('country').toUpperCase() },
      };
      if (val('organization')) registrant.organization = val('organization');
      try {
        await api('PUT', `${v.base}/whois`, { registrant });
        say(c.note, 'Whois saved.');
      } catch (err) { showError(c.box, err); }
    });
    fill(body, form);
  });
}

function vserversCard(v) {
  return settingCard('Virtual servers', async (body, c) => {
    const r = await api('GET', `${v.base}/virtual-servers`);
    const del = async (btn, vs) => {
      if (btn.dataset.armed !== 'yes') {
        btn.dataset.armed = 'yes';
        btn.textContent = 'Confirm deletion';
        btn.setAttribute('aria-label', `Confirm deletion of ${vs.name}`);
        return;
      }
      clearError(c.box);
      try {
        await api('DELETE', `${v.base}/virtual-servers/${encodeURIComponent(vs.id)}`);
        say(c.note, `Virtual server ${vs.name} deleted.`);
        c.reload();
      } catch (e) { showError(c.box, e); }
    };
    const table = r.items.length ? tableBox('Virtual servers',
      h('thead', {}, h('tr', {}, ['Name', 'vCPU', 'Memory (MB)', 'Disk (GB)', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, r.items.map((vs) => {
        const b = button('Delete', () => del(b, vs), 'btn small danger', { 'aria-label': `Delete ${vs.name}` });
        return h('tr', {}, h('th', { scope: 'row' }, vs.name), h('td', {}, String(vs.vcpu)), h('td', {}, String(vs.memory_mb)), h('td', {}, String(vs.disk_gb)), h('td', {}, b));
      }))) : muted('No virtual servers yet.');
    const f = {
      name: input({ required: true, maxlength: 63, autocomplete: 'off' }),
      vcpu: input({ type: 'number', min: 1, max: 64, value: 1, required: true }),
      memory_mb: input({ type: 'number', min: 512, max: 262144, value: 1024, required: true }),
      disk_gb: input({ type: 'number', min: 10, max: 4096, value: 20, required: true }),
    };
    const form = h('form', { class: 'grid4' }, field('Name', f.name), field('vCPU', f.vcpu), field('Memory (MB)', f.memory_mb),
      field('Disk (GB)', f.disk_gb), h('div', { class: 'field end' }, h('button', { type: 'submit', class: 'btn' }, 'Create virtual server')));
    onSubmit(form, async (e) => {
      e.preventDefault();
      clearError(c.box);
      try {
        const vs = await api('POST', `${v.base}/virtual-servers`, {
          name: f.name.value.trim(), vcpu: Number(f.vcpu.value), memory_mb: Number(f.memory_mb.value), disk_gb: Number(f.disk_gb.value),
        });
        say(c.note, `Virtual server ${vs.name} created.`);
        c.reload();
      } catch (err) { showError(c.box, err); }
    });
    fill(body, table, h('h3', {}, 'New virtual server'), form);
  });
}

// ---------------------------------------------------------------- order and cart

async function pageOrder(ctx) {
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

// ---------------------------------------------------------------- account and ledger

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
function accountView(ctx, path, onMissing) {
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

async function pageAccount(ctx) {
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

function clientLookup() {
  const id = input({ required: true, autocomplete: 'off' });
  const form = h('form', { class: 'row card', role: 'search', 'aria-label': 'Find a client' }, field('Client id', id),
    h('button', { type: 'submit', class: 'btn' }, 'Open'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (id.value.trim()) navigate(clientHref(id.value.trim()));
  });
  return form;
}

async function pageClients(ctx) {
  head(ctx, 'Clients');
  put(ctx.main, h('p', {}, 'Open a client\'s account and services. Client ids also link from the services list.'), clientLookup());
}

async function pageClient(ctx, clientId) {
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

// ---------------------------------------------------------------- tickets

async function pageTickets(ctx) {
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

// ---------------------------------------------------------------- catalog (provider)

async function pageCatalog(ctx) {
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

// ---------------------------------------------------------------- start

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  try { setToken(saved); } catch { forgetToken(); }
}
render(false);
