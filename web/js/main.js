// The app's shell: a hash router (`#/…`, so no page path can collide with
// the API's) and the navigation bar. Each view module exports
// `render(main, params)`.
import { api, me, session } from './api.js';
import { h, mount, errorText } from './dom.js';

const routes = [
  [/^\/login$/, () => import('./views/auth.js'), 'login', false],
  [/^\/register$/, () => import('./views/auth.js'), 'register', false],
  [/^\/l\/([A-Za-z0-9]+)$/, () => import('./views/public.js'), 'render', false],
  [/^\/$/, () => import('./views/gallery.js'), 'render', true],
  [/^\/folder\/([^/]+)$/, () => import('./views/gallery.js'), 'render', true],
  [/^\/files\/([^/]+)$/, () => import('./views/file.js'), 'render', true],
  [/^\/shared\/files\/([^/]+)$/, () => import('./views/file.js'), 'sharedFile', true],
  [/^\/shared\/folder\/([^/]+)$/, () => import('./views/gallery.js'), 'sharedFolder', true],
  [/^\/shared$/, () => import('./views/share.js'), 'sharedWithMe', true],
  [/^\/links$/, () => import('./views/share.js'), 'myLinks', true],
  [/^\/trash$/, () => import('./views/trash.js'), 'render', true],
  [/^\/keys$/, () => import('./views/keys.js'), 'render', true],
  [/^\/account$/, () => import('./views/auth.js'), 'account', true],
  [/^\/admin$/, () => import('./views/admin.js'), 'render', true],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');

function navBar(user, path) {
  const link = (href, text) => h('a', { href, 'aria-current': `#${path}` === href ? 'page' : null }, text);
  if (!user) {
    return [link('#/login', 'Log in'), link('#/register', 'Register')];
  }
  return [
    link('#/', 'Files'), link('#/shared', 'Shared with me'), link('#/links', 'Links'), link('#/trash', 'Trash'),
    link('#/keys', 'API keys'), user.role === 'admin' ? link('#/admin', 'Admin') : null,
    h('span', { class: 'spacer' }),
    link('#/account', user.username),
    h('button', { type: 'button', id: 'logout', onclick: logout }, 'Log out'),
  ];
}

async function logout() {
  // Only a login session can be ended; an API key is just forgotten here.
  if ((session.token || '').startsWith('mqs_')) {
    try { await api('POST', '/api/v1/auth/logout'); } catch (_) { /* the session may be gone already */ }
  }
  session.token = null;
  session.me = null;
  location.hash = '#/login';
}

let current = 0;
async function route() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // in-page anchors (skip link)
  const path = hash.slice(1).split('?')[0];
  const run = ++current;
  const found = routes.find(([re]) => re.test(path));
  if (!found) { location.hash = '#/'; return; }
  const [re, load, fn, needsLogin] = found;
  let user = null;
  try { user = await me(); } catch (_) { user = null; }
  if (run !== current) return;
  mount(nav, navBar(user, path));
  if (needsLogin && !user) { location.hash = '#/login'; return; }
  const params = re.exec(path).slice(1).map(decodeURIComponent);
  try {
    const view = await load();
    if (run !== current) return;
    await view[fn](main, params, user);
  } catch (e) {
    if (run === current) mount(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, errorText(e)));
  }
  // Focus moves to the new view (for screen readers and the keyboard),
  // unless the view put it on one of its fields already.
  if (run === current && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  // When the first view was on screen, in ms since navigation (tests read it).
  document.documentElement.dataset.firstRender ??= String(Math.round(performance.now()));
}

window.addEventListener('hashchange', route);
document.querySelector('.skip').addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
route();
