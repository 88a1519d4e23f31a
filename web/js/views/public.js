// What a public link shows to anyone holding it (`#/l/{token}`), no
// account needed: a file (an image or video shown in the page when
// downloads are allowed) or a folder's files, behind its password if it
// has one. Every load spends one of the link's views, as the API says.
import { api, toError } from '../api.js';
import { h, mount, errorText, field } from '../dom.js';
import { bytes } from '../format.js';

async function fetchBlob(url, password) {
  const res = await fetch(url, { headers: password ? { 'X-Link-Password': password } : {}, cache: 'no-store' });
  if (!res.ok) throw await toError(res);
  return res.blob();
}

function downloadButton(url, name, password) {
  const status = h('span', { role: 'status' });
  return h('span', {}, h('button', { type: 'button', onclick: async () => {
    try {
      const blob = await fetchBlob(url, password);
      const a = h('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) { status.textContent = errorText(e); }
  } }, `Download ${name}`), ' ', status);
}

async function showFile(box, data, password) {
  const f = data.file;
  const parts = [h('h1', {}, f.name), h('p', { class: 'muted' }, `${f.contentType}, ${bytes(f.size)}`,
    f.width ? `, ${f.width}×${f.height}` : '')];
  if (data.downloadUrl && /^(image|video)\//.test(f.contentType)) {
    const viewer = h('div', { class: 'viewer' }, h('span', { class: 'muted' }, 'Loading…'));
    parts.push(viewer);
    fetchBlob(data.downloadUrl, password).then((blob) => {
      const src = URL.createObjectURL(blob);
      mount(viewer, f.contentType.startsWith('image/')
        ? h('img', { src, alt: f.name, id: 'shared-image' })
        : h('video', { src, controls: true, 'aria-label': f.name }));
    }).catch((e) => mount(viewer, h('p', { class: 'error' }, errorText(e))));
  }
  if (data.downloadUrl) parts.push(h('p', {}, downloadButton(data.downloadUrl, f.name, password)));
  else parts.push(h('p', { class: 'muted' }, 'This link is view-only: downloads are not allowed.'));
  mount(box, parts);
}

function showFolder(box, data, token, password) {
  mount(box, h('h1', {}, data.folder.name),
    data.folders.length ? h('ul', {}, data.folders.map((sub) => h('li', {}, h('button', { type: 'button', onclick: () => open(box, token, password, sub.id) }, `📁 ${sub.name}`)))) : null,
    h('ul', {}, data.files.map((f) => h('li', {}, `${f.name} (${bytes(f.size)}) `, f.downloadUrl ? downloadButton(f.downloadUrl, f.name, password) : null))),
    data.files.length ? null : h('p', { class: 'muted' }, 'No files here.'));
}

async function open(box, token, password, folderId) {
  try {
    const data = await api('GET', `/api/v1/public/links/${encodeURIComponent(token)}`, {
      auth: false, query: { folderId }, headers: password ? { 'X-Link-Password': password } : {},
    });
    if (data.kind === 'file') await showFile(box, data, password);
    else showFolder(box, data, token, password);
  } catch (e) {
    if (e.status === 401 || (e.status === 403 && password)) {
      askPassword(box, token, e.status === 403 ? errorText(e) : '');
    } else {
      mount(box, h('h1', {}, 'Link unavailable'), h('p', { class: 'error' }, errorText(e)));
    }
  }
}

function askPassword(box, token, problem) {
  const f = h('form', { class: 'stack narrow card', onsubmit: (e) => {
    e.preventDefault();
    open(box, token, f.elements.password.value);
  } }, h('h1', {}, 'This link is password-protected'),
  field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'off' }),
  problem ? h('p', { class: 'error', role: 'alert' }, problem) : null,
  h('button', { type: 'submit', class: 'primary' }, 'Open'));
  mount(box, f);
  f.elements.password.focus();
}

export async function render(main, [token]) {
  const box = h('div', { class: 'stack' });
  mount(main, box);
  await open(box, token, null);
}
