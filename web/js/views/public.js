// What a public link shows to anyone holding it (`#/l/{token}`), no
// account needed: a file (an image or video shown in the page) or a
// folder's files, behind its password if it has one.
//
// The page first asks the link's `/meta` (200 for any token, no view
// spent): an unavailable link and the password prompt are reached without
// a failed request, and a password is checked there before the link is
// opened. Opening spends one of the link's views; the image or video is
// shown from the view's signed `preview` URL, which spends none, so a
// one-view link still shows its picture. Downloads spend a view each.
import { api, toError } from '../api.js';
import { h, mount, errorText, field, folderIcon } from '../dom.js';
import { bytes, date, ext } from '../format.js';

const enc = encodeURIComponent;
const withPassword = (password) => (password ? { 'X-Link-Password': password } : {});

function meta(token, password) {
  return api('GET', `/api/v1/public/links/${enc(token)}/meta`, { auth: false, headers: withPassword(password) });
}

async function fetchBlob(url, password) {
  const res = await fetch(url, { headers: withPassword(password), cache: 'no-store' });
  if (!res.ok) throw await toError(res);
  return res.blob();
}

/** A download: a plain link, or (behind a password, sent as a header) a fetch. */
function downloadButton(url, name, password, text = `Download ${name}`) {
  if (!password) return h('a', { class: 'button', href: url, download: name, 'aria-label': `Download ${name}` }, text);
  const status = h('span', { role: 'status' });
  return h('span', {}, h('button', { type: 'button', 'aria-label': `Download ${name}`, onclick: async () => {
    status.textContent = 'Downloading…';
    try {
      const blob = await fetchBlob(url, password);
      const a = h('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(a);
      a.click();
      a.remove();
      status.textContent = '';
    } catch (e) { status.textContent = errorText(e); }
  } }, text), ' ', status);
}

function preview(data) {
  const p = data.preview;
  if (!p || !p.url) return null;
  const shown = p.type === 'video'
    ? h('video', { src: p.url, controls: true, preload: 'metadata', 'aria-label': data.file.name, id: 'shared-video' })
    : h('img', { src: p.url, alt: data.file.name, id: 'shared-image' });
  return h('div', { class: 'viewer' }, shown);
}

function showFile(box, data, password) {
  const f = data.file;
  mount(box, h('h1', {}, f.name),
    h('p', { class: 'muted' }, `${f.contentType}, ${bytes(f.size)}`, f.width ? `, ${f.width} × ${f.height}` : ''),
    preview(data),
    data.downloadUrl
      ? h('p', {}, downloadButton(data.downloadUrl, f.name, password))
      : h('p', { class: 'muted' }, 'This link is view-only: downloads are not allowed.'));
}

function publicTile(f, password) {
  const picture = f.thumbUrl
    ? h('img', { src: f.thumbUrl, alt: f.name, loading: 'lazy', width: 160, height: 160 })
    : h('span', { class: 'filetype' }, ext(f.name));
  return h('li', { class: 'tile' }, h('div', { class: 'thumb' }, picture),
    h('div', { class: 'name', title: f.name }, f.name),
    h('div', { class: 'badge' }, bytes(f.size)),
    f.downloadUrl ? h('div', { class: 'tile-action' }, downloadButton(f.downloadUrl, f.name, password, 'Download')) : null);
}

/** Folders of a folder link: `trail` is the way down from the linked one. */
function showFolder(box, data, token, password, trail) {
  const here = [...trail, { id: data.folder.id, name: data.folder.name }];
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('ol', {}, here.map((c, i) => h('li', {},
    i === here.length - 1 ? h('span', { 'aria-current': 'page' }, c.name)
      : h('button', { type: 'button', class: 'linkish', onclick: () => open(box, token, password, i ? c.id : undefined, here.slice(0, i)) }, c.name)))));
  const sub = data.folders.length
    ? h('ul', { class: 'grid', 'aria-label': 'Folders' }, data.folders.map((s) => h('li', { class: 'tile folder' },
      h('button', { type: 'button', class: 'tile-button', onclick: () => open(box, token, password, s.id, here) },
        h('div', { class: 'thumb' }, folderIcon('big')), h('div', { class: 'name' }, s.name)))))
    : null;
  mount(box, here.length > 1 ? crumbs : null, h('h1', {}, data.folder.name), sub,
    data.files.length
      ? h('ul', { class: 'grid', id: 'shared-files', 'aria-label': 'Files' }, data.files.map((f) => publicTile(f, password)))
      : h('p', { class: 'muted' }, 'No files here.'),
    data.allowDownload ? null : h('p', { class: 'muted' }, 'This link is view-only: downloads are not allowed.'));
}

function unavailable(box, why) {
  mount(box, h('h1', {}, 'Link unavailable'),
    h('p', { class: why ? 'error' : 'muted' }, why || 'This link does not exist, has expired, has used up its views or was revoked.'));
}

async function open(box, token, password, folderId, trail = []) {
  try {
    const data = await api('GET', `/api/v1/public/links/${enc(token)}`, {
      auth: false, query: { folderId }, headers: withPassword(password),
    });
    if (data.kind === 'file') showFile(box, data, password);
    else showFolder(box, data, token, password, trail);
  } catch (e) {
    unavailable(box, e.status === 404 ? '' : errorText(e));
  }
}

function askPassword(box, token, info) {
  const problem = h('p', { class: 'error', role: 'alert' });
  const f = h('form', { class: 'stack narrow card', id: 'link-password', onsubmit: async (e) => {
    e.preventDefault();
    const password = f.elements.password.value;
    problem.textContent = '';
    try {
      const checked = await meta(token, password);
      if (!checked.available) unavailable(box);
      else if (checked.passwordAccepted) await open(box, token, password);
      else {
        problem.textContent = 'Wrong password.';
        f.elements.password.select();
      }
    } catch (err) { problem.textContent = errorText(err); }
  } }, h('h1', {}, 'This link is password-protected'),
  h('p', { class: 'muted' }, `Enter the password you were given to open this ${info.kind === 'folder' ? 'folder' : 'file'}.`),
  field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'off' }),
  problem,
  h('button', { type: 'submit', class: 'primary' }, 'Open'));
  mount(box, f);
  f.elements.password.focus();
}

export async function render(main, [token]) {
  const box = h('div', { class: 'stack' });
  mount(main, box);
  const info = await meta(token);
  if (!info.available) unavailable(box);
  else if (info.passwordRequired) askPassword(box, token, info);
  else await open(box, token, null);
  if (info.available && info.expiresAt) box.append(h('p', { class: 'muted' }, `This link expires ${date(info.expiresAt)}.`));
}
