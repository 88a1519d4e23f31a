// The public API, as every client uses it: a login session token sent as
// `Authorization: Bearer`, JSON in and out, problem+json errors turned
// into Error objects whose message is the server's `detail`.

const TOKEN = 'mediaq.token';

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export const session = {
  get token() { return localStorage.getItem(TOKEN); },
  set token(t) { if (t) localStorage.setItem(TOKEN, t); else localStorage.removeItem(TOKEN); },
  me: null,
};

/** Headers that authenticate a request (for uploads done elsewhere). */
export function authHeaders() {
  return session.token ? { Authorization: `Bearer ${session.token}` } : {};
}

/** Reads a problem+json (or any) error body into an ApiError. */
export async function toError(res) {
  let problem = null;
  try {
    const text = await res.text();
    problem = text ? JSON.parse(text) : null;
  } catch (_) { problem = null; }
  return new ApiError(res.status, problem);
}

/**
 * api('GET', '/api/v1/files', {query, body, headers, auth}) → parsed JSON
 * (null for 204). Throws ApiError. A 401 with a stored session clears it.
 */
export async function api(method, path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json', ...(opts.auth === false ? {} : authHeaders()), ...(opts.headers || {}) };
  let body;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(url, { method, headers, body, cache: 'no-store' });
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && opts.auth !== false && session.token) {
      session.token = null;
      session.me = null;
      location.hash = '#/login';
    }
    throw err;
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

/** Who is logged in (cached), or null. */
export async function me(refresh = false) {
  if (!session.token) return null;
  if (session.me && !refresh) return session.me;
  session.me = await api('GET', '/api/v1/auth/me');
  return session.me;
}

/** What this server offers beyond the base API, learned without a 404. */
export const caps = { lists: null };

/** Whether the list parameters (sort, kind, q, folderId=root) are taken. */
export async function listsSupported() {
  if (caps.lists === null) {
    const page = await api('GET', '/api/v1/files', { query: { limit: 1 } });
    caps.lists = Object.prototype.hasOwnProperty.call(page, 'totalPages');
  }
  return caps.lists;
}

/** Optional routes this server has (`tus`, `trash`), named by the page. */
export function hasFeature(name) {
  const list = document.querySelector('meta[name="mediaq-features"]')?.content || '';
  return list.split(/\s+/).includes(name);
}
