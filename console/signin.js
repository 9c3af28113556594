// The sign-in page (the identity provider's authorization code with PKCE, or a pasted token
// where a development secret is set) and the page the identity provider sends back to.

import { api, BASE, CFG, forgetToken, S, setToken } from './api.js';
import { alertBox, clearError, field, h, head, input, link, navigate, onSubmit, put, showError } from './ui.js';

const PKCE_KEY = 'console.pkce';

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

export function pageSignIn(ctx) {
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

export async function pageCallback(ctx) {
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
