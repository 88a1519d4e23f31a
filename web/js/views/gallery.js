// The gallery: folders and breadcrumbs, a thumbnail grid with lazy images
// and infinite scroll, search / sort / kind filter, and the upload area
// (file picker, drag and drop, paste).
import { api, allFolders, listsSupported } from '../api.js';
import { h, mount, errorText, toast, confirmDialog, folderIcon } from '../dom.js';
import { duration, ext } from '../format.js';
import { uploader } from '../upload.js';
import { sharePanel } from './share.js';

const PAGE = 40;

/** A file tile: its thumbnail (signed for private files) or its type. */
export function fileTile(file, base = '#/files/') {
  const thumb = file.variants && file.variants.thumb;
  const picture = thumb && file.status === 'ready'
    ? h('img', { src: thumb.url, alt: file.name, loading: 'lazy', width: 160, height: 160 })
    : h('span', { class: 'filetype' }, file.status === 'ready' || file.status === 'failed' ? ext(file.name) : '…');
  const facts = [file.kind === 'video' ? `video ${file.durationMs ? duration(file.durationMs) : ''}`.trim() : null,
    file.isAnimated ? 'animated' : null, file.status === 'ready' ? (file.isPublic ? 'public' : null) : file.status];
  const note = facts.filter(Boolean).join(' · ');
  return h('li', { class: 'tile', dataset: { fileId: file.id } },
    h('a', { href: `${base}${encodeURIComponent(file.id)}` },
      h('div', { class: 'thumb' }, picture),
      h('div', { class: 'name', title: file.name }, file.name),
      note ? h('div', { class: 'badge' }, note) : null));
}

function folderTile(folder, base = '#/folder/') {
  return h('li', { class: 'tile folder' },
    h('a', { href: `${base}${encodeURIComponent(folder.id)}` },
      h('div', { class: 'thumb' }, folderIcon('big')),
      h('div', { class: 'name', title: folder.name }, folder.name)));
}

function crumbs(folder, readOnly) {
  if (readOnly) {
    return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('ol', {}, h('li', {}, h('a', { href: '#/shared' }, 'Shared with me')),
      h('li', {}, h('span', { 'aria-current': 'page' }, folder.name))));
  }
  const items = [h('li', {}, h('a', { href: '#/' }, 'All files'))];
  for (const p of (folder && folder.path) || []) {
    const here = p.id === folder.id;
    items.push(h('li', {}, here ? h('span', { 'aria-current': 'page' }, p.name) : h('a', { href: `#/folder/${encodeURIComponent(p.id)}` }, p.name)));
  }
  if (folder && !(folder.path || []).length) items.push(h('li', {}, h('span', { 'aria-current': 'page' }, folder.name)));
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, h('ol', {}, items));
}

function select(label, name, options, value) {
  return h('label', {}, label, h('select', { name },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
}

/** Paste anywhere on the gallery page uploads the pasted files. */
let pasteTarget = null;
document.addEventListener('paste', (e) => {
  if (!pasteTarget || !document.body.contains(pasteTarget.el)) return;
  const files = Array.from(e.clipboardData?.files || []);
  if (files.length) { e.preventDefault(); pasteTarget.add(files); }
});

/** A folder someone shared with the caller: browse it, read-only. */
export function sharedFolder(main, params, user) {
  return render(main, params, user, true);
}

export async function render(main, [folderId], _user, readOnly = false) {
  const base = readOnly ? { file: '#/shared/files/', folder: '#/shared/folder/' } : { file: '#/files/', folder: '#/folder/' };
  // The file page's "back" goes to the gallery or folder it was opened from.
  sessionStorage.setItem('mediaq.gallery', location.hash || '#/');
  const lists = await listsSupported();
  const folder = folderId ? await api('GET', `/api/v1/folders/${encodeURIComponent(folderId)}`) : null;
  const subfolders = folder ? folder.children || [] : (await api('GET', '/api/v1/folders', { query: { limit: 100 } })).items || [];
  const state = { q: '', sort: 'createdAt', order: 'desc', kind: '', page: 0, done: false, loading: false, gen: 0 };

  const grid = h('ul', { class: 'grid', id: 'files', 'aria-label': 'Files' });
  const status = h('p', { class: 'muted', role: 'status' });
  const sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
  const list = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  const up = uploader(list, { folderId: () => folderId, onReady: (f) => grid.prepend(fileTile(f)) });

  // A reload while a page is on its way makes that page stale: `gen` tells.
  async function more() {
    if (state.loading || state.done) return;
    state.loading = true;
    const gen = state.gen;
    let page = null;
    let error = null;
    try {
      const query = { page: state.page + 1, limit: PAGE, folderId };
      if (lists) Object.assign(query, { q: state.q, sort: state.sort, order: state.order, kind: state.kind, folderId: folderId || 'root' });
      page = await api('GET', '/api/v1/files', { query });
    } catch (e) {
      error = e;
    }
    state.loading = false;
    if (gen !== state.gen) { more(); return; }
    if (error) {
      status.textContent = errorText(error);
      state.done = true;
      return;
    }
    state.page += 1;
    for (const f of page.items) grid.append(fileTile(f, base.file));
    state.done = page.totalPages !== undefined ? state.page >= page.totalPages : !page.hasMore;
    status.textContent = grid.children.length || subfolders.length ? '' : (state.q || state.kind ? 'Nothing matches.' : (readOnly ? 'No files here.' : 'No files yet: upload some.'));
    if (!state.done && sentinel.getBoundingClientRect().top < innerHeight + 400) more();
  }
  function reload() {
    Object.assign(state, { page: 0, done: false, gen: state.gen + 1 });
    grid.replaceChildren();
    more();
  }

  const input = h('input', { type: 'file', id: 'file-input', name: 'file', multiple: true,
    onchange: () => { up.add(input.files); input.value = ''; } });
  const zone = h('section', { class: 'dropzone', 'aria-label': 'Upload' },
    h('label', { for: 'file-input', class: 'inline' }, 'Upload files: '), input,
    h('span', { class: 'muted' }, 'or drop them here, or paste an image.'));
  const page = h('div', { class: 'gallery' });
  for (const ev of ['dragenter', 'dragover']) page.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); });
  page.addEventListener('dragleave', (e) => { if (e.target === page) zone.classList.remove('over'); });
  page.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    up.add(e.dataTransfer?.files);
  });
  pasteTarget = readOnly ? null : { el: zone, add: (f) => up.add(f) };

  const tools = lists ? h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => { e.preventDefault(); } },
    h('label', {}, 'Search', h('input', { type: 'search', name: 'q', placeholder: 'name contains…',
      oninput: debounce((e) => { state.q = e.target.value; reload(); }) })),
    select('Sort', 'sort', [['createdAt', 'Date'], ['name', 'Name'], ['size', 'Size'], ['updatedAt', 'Changed'], ['views', 'Views'], ['downloads', 'Downloads']], state.sort),
    select('Order', 'order', [['desc', 'Descending'], ['asc', 'Ascending']], state.order),
    select('Kind', 'kind', [['', 'All'], ['image', 'Images'], ['video', 'Videos'], ['file', 'Other files']], state.kind),
  ) : null;
  tools?.addEventListener('change', (e) => {
    if (e.target.name in state && e.target.name !== 'q') { state[e.target.name] = e.target.value; reload(); }
  });

  mount(main, mount(page,
    crumbs(folder, readOnly),
    h('div', { class: 'row' }, h('h1', {}, folder ? folder.name : 'Files'), h('span', { class: 'spacer' })),
    readOnly ? h('p', { class: 'muted' }, 'Shared with you, read-only.') : [zone, list, folderTools(folder, subfolders)],
    tools,
    subfolders.length ? h('ul', { class: 'grid', 'aria-label': 'Folders' }, subfolders.map((f) => folderTile(f, base.folder))) : null,
    subfolders.length ? h('h2', { class: 'visually-hidden' }, 'Files') : null,
    grid, status, sentinel));
  new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) more(); }, { rootMargin: '400px' }).observe(sentinel);
  await more();
}

function debounce(fn, ms = 300) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

/** New folder; in a folder also rename, delete, share. */
function folderTools(folder, subfolders) {
  const name = h('input', { name: 'folderName', required: true, maxlength: 255, 'aria-label': 'New folder name', placeholder: 'New folder' });
  const create = h('form', { class: 'row new-folder', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const made = await api('POST', '/api/v1/folders', { body: { name: name.value, parentId: folder ? folder.id : undefined } });
      location.hash = `#/folder/${encodeURIComponent(made.id)}`;
    } catch (err) { toast(errorText(err)); }
  } }, name, h('button', { type: 'submit' }, 'Create folder'));
  if (!folder) return h('div', { class: 'toolbar' }, create);
  const rename = h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('PATCH', `/api/v1/folders/${encodeURIComponent(folder.id)}`, { body: { name: e.target.elements.rename.value } });
      toast('Folder renamed');
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) { toast(errorText(err)); }
  } }, h('input', { name: 'rename', value: folder.name, 'aria-label': 'Folder name', required: true }), h('button', { type: 'submit' }, 'Rename'));
  const remove = h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!(await confirmDialog(`Delete the folder “${folder.name}” and everything in it?`))) return;
    try {
      await api('DELETE', `/api/v1/folders/${encodeURIComponent(folder.id)}`);
      location.hash = folder.parentId ? `#/folder/${encodeURIComponent(folder.parentId)}` : '#/';
    } catch (err) { toast(errorText(err)); }
  } }, 'Delete folder');
  return h('div', { class: 'stack folder-tools' }, h('div', { class: 'toolbar' }, create),
    h('div', { class: 'toolbar', role: 'group', 'aria-label': `This folder (${folder.name})` },
      h('span', { class: 'muted group-label' }, 'This folder:'), rename, moveForm(folder), remove),
    h('details', {}, h('summary', {}, 'Share this folder'), sharePanel({ folderId: folder.id })));
}

/** Moves the folder under another one (or to the top level). */
function moveForm(folder) {
  const target = h('select', { name: 'moveTo', 'aria-label': `Move “${folder.name}” to` },
    h('option', { value: '__keep' }, 'Move to…'), h('option', { value: '' }, 'top level (All files)'));
  allFolders({ exclude: folder.id }).then((list) => {
    for (const f of list) target.append(h('option', { value: f.id, disabled: f.id === folder.parentId }, f.label));
  }).catch((e) => toast(errorText(e)));
  return h('form', { class: 'row', id: 'move-folder', onsubmit: async (e) => {
    e.preventDefault();
    if (target.value === '__keep') return;
    try {
      await api('PATCH', `/api/v1/folders/${encodeURIComponent(folder.id)}`, { body: { parentId: target.value || null } });
      toast('Folder moved');
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) { toast(errorText(err)); }
  } }, target, h('button', { type: 'submit' }, 'Move'));
}
