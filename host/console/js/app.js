// The console shell: sign-in, hash routing (#/page?query), navigation.
import { api, clearToken, getToken, problemView, setToken, whenUnauthorized } from './api.js';
import { h, replace } from './dom.js';
import * as rules from './pages/rules.js';
import * as plugins from './pages/plugins.js';
import * as decisions from './pages/decisions.js';
import * as shadow from './pages/shadow.js';
import * as subscriptions from './pages/subscriptions.js';
import * as overview from './pages/overview.js';

const PAGES = {
  rules: { title: 'Rules', page: rules },
  plugins: { title: 'Plugins', page: plugins },
  decisions: { title: 'Decisions', page: decisions },
  shadow: { title: 'Shadow', page: shadow },
  subscriptions: { title: 'Subscriptions and events', page: subscriptions },
  overview: { title: 'Overview', page: overview },
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOutButton = document.getElementById('sign-out');

/** '#/decisions?id=x' → {name: 'decisions', params}. */
function current() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { name: path, params: new URLSearchParams(query || '') };
}

/** Navigate to a page with query parameters (empty values dropped). */
export function go(name, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const hash = `#/${name}${q.toString() ? `?${q}` : ''}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

/** A link `/console/#token=…` signs in directly; the token leaves the address bar at once. */
function takeTokenFromHash() {
  if (!location.hash.startsWith('#token=')) return false;
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  history.replaceState(null, '', `${location.pathname}${location.search}#/rules`);
  if (token) setToken(token);
  return true;
}

function signIn(message) {
  nav.hidden = true;
  signOutButton.hidden = true;
  document.title = 'Sign in · Tollgate console';
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', tabindex: '-1' }, 'Sign in'),
    h('p', { class: 'lead' }, 'The tenant console manages your plugins, bindings and decision log. Sign in with your tenant\'s admin token (it starts with tga_). It is kept for this browser tab only and sent in a header, never in a URL.'),
    message && h('div', { class: 'problem', role: 'alert' }, message),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Admin token'), input),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    try {
      await api('GET', '/bindings'); // checks the token; a 401 comes back here via whenUnauthorized
      history.replaceState(null, '', `${location.pathname}${location.search}#/rules`);
      render();
    } catch (e) {
      if (e.status !== 401) replace(status, problemView(e));
    }
  });
  replace(main, form);
  input.focus();
}

whenUnauthorized((error) => {
  clearToken();
  signIn(`Signed out: the server refused the admin token (HTTP 401). ${error.detail} Sign in with a valid token.`);
});

signOutButton.addEventListener('click', () => {
  clearToken();
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  signIn('You are signed out.');
});

let renders = 0;
async function render() {
  takeTokenFromHash();
  if (!getToken()) return signIn();
  let { name, params } = current();
  if (!PAGES[name]) {
    history.replaceState(null, '', `${location.pathname}${location.search}#/rules`);
    ({ name, params } = current());
  }
  const { title, page } = PAGES[name];
  nav.hidden = false;
  signOutButton.hidden = false;
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${title} · Tollgate console`;
  const ticket = ++renders;
  const container = h('div', { class: 'page', 'aria-busy': 'true', dataset: { page: name } });
  replace(main, container);
  try {
    await page.render(container, params, { go, refresh: render });
  } catch (e) {
    // A page failed as a whole: say why rather than leave it blank.
    if (ticket === renders && e.status !== 401) container.append(problemView(e));
  } finally {
    container.removeAttribute('aria-busy');
    container.dataset.ready = 'true';
  }
  const heading = container.querySelector('h1');
  if (heading && ticket === renders && document.activeElement === document.body) heading.focus({ preventScroll: true });
}

window.addEventListener('hashchange', render);
render();
