// The API client and the session: the console's settings, its state, the token (kept in the
// tab's session storage), one `api` helper (Idempotency-Key, If-Match, problem+json errors as
// ApiError) and the lists and catalog reads the pages share. No DOM here.

export const CFG = window.CONSOLE_CONFIG || {};
const API = (CFG.api_base || '').replace(/\/+$/, '');
export const BASE = '/console';
export const TOKEN_KEY = 'console.token';

// ---------------------------------------------------------------- state

export const S = {
  token: null, claims: null, gen: 0, timers: [], focusNext: false, flash: null,
  tariffs: null, tariffCache: new Map(), types: null, lastOrder: null,
  // The router's render (app.js sets it: it imports the pages, which import this module).
  render: null,
};
export const isProvider = () => S.claims?.role === 'provider';

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

/** Calls the API with the token; answers the JSON body (with its ETag, as `etagOf` reads it), or
 * throws an ApiError (problem+json). `opts.ifMatch`: the ETag of the version the user saw. */
export async function api(method, path, body, opts = {}) {
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
export const etagOf = (data) => ETAGS.get(data);

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Follows a list's cursor until `want` items or the last page (at most `pages` requests). */
export async function collect(path, params, want = 50, pages = 5) {
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
export const tariffsOrEmpty = () => tariffMap().catch(() => new Map());

/** One tariff, also one no longer on sale; null when it cannot be read. */
export async function getTariff(id) {
  if (!S.tariffCache.has(id)) S.tariffCache.set(id, api('GET', `/tariffs/${encodeURIComponent(id)}`).catch(() => null));
  return S.tariffCache.get(id);
}

export function productTypes() {
  S.types ||= api('GET', '/product-types').then((r) => r.items).catch((e) => { S.types = null; throw e; });
  return S.types;
}

// ---------------------------------------------------------------- session

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

export function setToken(token) {
  let claims;
  try { claims = decodeJwt(token); } catch (e) { throw new Error(e.message.startsWith('This') ? e.message : 'The token could not be read.'); }
  if (!claims.sub) throw new Error('The token names no subject (sub).');
  if (claims.exp && claims.exp * 1000 < Date.now()) throw new Error('The token has expired. Get a new one.');
  S.token = token;
  S.claims = { sub: claims.sub, role: roleOf(claims) };
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  S.token = null;
  S.claims = null;
  S.tariffs = null;
  S.types = null;
  S.tariffCache.clear();
  sessionStorage.removeItem(TOKEN_KEY);
}

function sessionEnded() {
  forgetToken();
  S.flash = 'Your session has ended. Sign in again.';
  S.render(true);
}
