// The admin API client: bearer token from sessionStorage, problem+json
// errors turned into ApiError, a 401 signs the console out.
import { h } from './dom.js';

const TOKEN_KEY = 'tollgate.adminToken';

// The console is served at <prefix>/console/; the API at <prefix>/admin/v1
// (the server may be mounted under --base-path).
export const basePath = location.pathname.replace(/\/console(\/.*)?$/, '');

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (t) => sessionStorage.setItem(TOKEN_KEY, t);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || '';
    this.reason = problem.reason;
    this.path = problem.path;
  }

  /** The route does not exist on this server (an older binary). */
  get missingEndpoint() {
    return (this.status === 404 && this.detail === 'There is no such endpoint.') ||
      this.status === 405;
  }
}

/**
 * api('GET', '/bindings'), api('PUT', '/bindings/x/y', {json: {...}}),
 * api('POST', '/plugins', {query: {name}, body: file, type: 'application/wasm'}).
 */
export async function api(method, path, { json, body, type, query } = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, v);
  }
  const qs = params.toString();
  const url = `${basePath}/admin/v1${path}${qs ? `?${qs}` : ''}`;
  // The token travels in a header only, never in a URL.
  const token = getToken() || '';
  const headers = { Authorization: `Bearer ${token}`, 'X-Tollgate-Actor': 'console' };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (body !== undefined) {
    headers['Content-Type'] = type || 'application/octet-stream';
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: `The server could not be reached (${e.message}).` });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : { title: `HTTP ${response.status}`, detail: text.slice(0, 300) };
    const error = new ApiError(response.status, problem);
    // Only a refusal of the token still in use signs out: a late 401 for a
    // token already replaced (a new sign-in meanwhile) must not undo it.
    if (response.status === 401 && token === (getToken() || '')) onUnauthorized(error);
    throw error;
  }
  if (data === null && text) throw new ApiError(response.status, { title: 'Unreadable answer', detail: 'The server answered with something that is not JSON.' });
  return data;
}

/** An error as the problem's title and detail (never a blank page). */
export function problemView(error) {
  const e = error instanceof ApiError ? error : new ApiError(0, { title: 'Error', detail: String(error?.message || error) });
  return h('div', { class: 'problem', role: 'alert' },
    h('strong', {}, e.title), ' ',
    h('span', { class: 'detail' }, e.detail || e.message),
    e.reason && h('span', { class: 'reason' }, ` (reason: ${e.reason})`),
    e.path && h('span', { class: 'path' }, ' at ', h('code', {}, e.path)),
    e.missingEndpoint && h('span', { class: 'hint' }, ' This server does not offer this feature yet.'));
}

// Small shared lookups.
export const hookPath = (b) => `/bindings/${encodeURIComponent(b.hook)}/${encodeURIComponent(b.name)}`;
export const HOOKS = ['precheck', 'quantity-limits', 'resources'];

export async function versionsOf(plugin) {
  return api('GET', `/plugins/${encodeURIComponent(plugin)}/versions`);
}

/**
 * The full PUT body of a binding with some fields changed: the API resets
 * omitted fields (scope, priority, policy) to defaults, so always send all.
 */
export function bindingSpec(b, changes = {}) {
  const spec = {
    plugin: b.plugin,
    version: b.version,
    scope: b.scope || {},
    priority: b.priority ?? 0,
    config: b.config ?? {},
    on_failure: b.on_failure || 'reject',
    ...changes,
  };
  for (const k of Object.keys(spec)) if (spec[k] === undefined) delete spec[k];
  return spec;
}
