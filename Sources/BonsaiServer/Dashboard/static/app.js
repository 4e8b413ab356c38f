// The dashboard's entry: sign-in with a bearer token (kept in localStorage), and a hash router
// over the four pages. Each page gets an AbortSignal that fires when the user navigates away.
import { api, ApiError, token } from './api.js';
import { comparePage } from './compare.js';
import { jobPage } from './job.js';
import { jobsPage } from './jobs.js';
import { submitPage } from './submit.js';
import { h, problemBox } from './util.js';

const main = document.getElementById('main');
const logout = document.getElementById('logout');
let current = null;

function loginPage(message) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true,
    'aria-describedby': 'token-hint login-error' });
  const error = h('div', { id: 'login-error', 'aria-live': 'polite' }, message ? h('p', { class: 'problem' }, message) : null);
  const form = h('form', { id: 'login-form', class: 'card' },
    h('h1', {}, 'Sign in'),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'API token'), input,
      h('span', { class: 'hint', id: 'token-hint' }, 'A tenant token (bns_…) from `bonsai token create`. It is kept in this browser\'s storage.')),
    h('button', { type: 'submit', id: 'login' }, 'Sign in'), error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    token.set(input.value.trim());
    try {
      await api('/v1/jobs?limit=1', { signingIn: true });
      route();
    } catch (e) {
      token.clear();
      error.replaceChildren(e instanceof ApiError && e.status === 401 ? h('p', { class: 'problem', role: 'alert' }, 'That token was not accepted.') : problemBox(e));
      input.focus();
    }
  });
  main.replaceChildren(form);
  input.focus();
}

async function route() {
  if (current) current.abort();
  current = new AbortController();
  const signal = current.signal;
  logout.hidden = !token.get();
  if (!token.get()) { loginPage(); return; }
  const [path, queryString] = (location.hash.slice(1) || '/jobs').split('?');
  const query = new URLSearchParams(queryString || '');
  const parts = path.split('/').filter(Boolean);
  const page = parts[0] || 'jobs';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const titles = { jobs: 'Jobs', submit: 'Submit', job: 'Job', compare: 'Compare' };
  document.title = `${titles[page] || 'Bonsai'} · Bonsai`;
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    if (page === 'submit') await submitPage(main, signal);
    else if (page === 'job' && parts[1]) await jobPage(main, signal, parts[1]);
    else if (page === 'compare') await comparePage(main, signal, query);
    else await jobsPage(main, signal);
  } catch (e) {
    if (signal.aborted) return;
    main.replaceChildren(h('h1', {}, 'Something went wrong'), problemBox(e));
  }
  main.dataset.page = page;
  main.dataset.ready = String(Date.now());
}

logout.addEventListener('click', () => { token.clear(); location.hash = '#/jobs'; route(); });
window.addEventListener('hashchange', route);
window.addEventListener('bonsai:unauthorized', () => { token.clear(); loginPage('The token was rejected; sign in again.'); });
route();
