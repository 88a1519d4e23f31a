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

const EXPIRES = 'mediaq.expires';

// A login session's token is forgotten once its `expiresAt` has passed,
// so an expired session goes to the log-in page without a refused request.
export const session = {
  get token() {
    const expires = localStorage.getItem(EXPIRES);
    if (expires && Date.parse(expires) <= Date.now()) this.token = null;
    return localStorage.getItem(TOKEN);
  },
  set token(t) {
    if (t) localStorage.setItem(TOKEN, t);
    else localStorage.removeItem(TOKEN);
    localStorage.removeItem(EXPIRES);
  },
  /** Keeps a login session's token until `expiresAt`. */
  start(token, expiresAt) {
    this.token = token;
    if (expiresAt) localStorage.setItem(EXPIRES, expiresAt);
  },
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

/**
 * POSTs `form` (FormData) to `path` with upload progress: `onProgress(f)`
 * gets the sent fraction (0–1). Resolves to the parsed JSON answer;
 * rejects with an ApiError carrying the server's problem+json detail.
 */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', new URL(path, location.origin));
    for (const [k, v] of Object.entries({ Accept: 'application/json', ...authHeaders() })) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress?.(e.loaded / e.total); });
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (_) { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    });
    xhr.addEventListener('error', () => reject(new Error('the connection to the server failed')));
    xhr.addEventListener('abort', () => reject(new Error('upload cancelled')));
    xhr.send(form);
  });
}

/**
 * The caller's folders as [{id, label}] ("Parent / Child"), breadth
 * first, at most `max`; the folder `exclude` and everything below it are
 * left out (a folder cannot move into itself).
 */
export async function allFolders({ exclude = null, max = 300 } = {}) {
  const out = [];
  const queue = [[null, '']];
  while (queue.length && out.length < max) {
    const [parent, prefix] = queue.shift();
    const { items } = await api('GET', '/api/v1/folders', { query: { parentId: parent, limit: 100 } });
    for (const f of items || []) {
      if (f.id === exclude) continue;
      out.push({ id: f.id, label: `${prefix}${f.name}` });
      queue.push([f.id, `${prefix}${f.name} / `]);
    }
  }
  return out;
}
