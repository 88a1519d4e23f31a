// One file: viewer (image or video), facts, the embed codes image-host
// users copy (direct link, viewer link, Markdown, HTML, BBCode), public
// or private, rename / retitle / move / delete, versions, sharing.
import { api, allFolders, hasFeature, upload as sendFile } from '../api.js';
import { settled } from '../upload.js';
import { h, mount, errorText, toast, copyRow, confirmDialog, dataTable } from '../dom.js';
import { bytes, date, duration } from '../format.js';
import { sharePanel } from './share.js';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const mdText = (s) => String(s).replace(/[[\]\\]/g, '\\$&');

/** The embed codes of a public file, as Chevereto users know them. */
export function embedCodes(file) {
  const url = file.url;
  const viewer = file.viewerUrl || url;
  const isImage = (file.kind || (file.contentType || '').split('/')[0]) === 'image';
  const codes = [['Direct link', url, 'direct'], ['Viewer link', viewer, 'viewer']];
  if (isImage) {
    codes.push(['Markdown', `[![${mdText(file.name)}](${url})](${viewer})`, 'markdown']);
    codes.push(['HTML', `<a href="${esc(viewer)}"><img src="${esc(url)}" alt="${esc(file.name)}"></a>`, 'html']);
    codes.push(['BBCode', `[url=${viewer}][img]${url}[/img][/url]`, 'bbcode']);
  } else {
    codes.push(['Markdown', `[${mdText(file.name)}](${viewer})`, 'markdown']);
    codes.push(['HTML', `<a href="${esc(viewer)}">${esc(file.name)}</a>`, 'html']);
    codes.push(['BBCode', `[url=${viewer}]${file.name}[/url]`, 'bbcode']);
  }
  return codes;
}

function viewer(file) {
  const src = file.url || file.signedUrl;
  const type = file.contentType || '';
  if (file.status !== 'ready') return h('p', { class: 'muted' }, `This file is ${file.status}.`, file.error ? ` ${file.error}` : '');
  if (src && type.startsWith('image/')) return h('img', { src, alt: file.title || file.name, id: 'viewer-image' });
  if (src && type.startsWith('video/')) {
    const poster = file.variants?.frame?.url || file.variants?.medium?.url;
    return h('video', { src, controls: true, preload: 'metadata', poster, 'aria-label': file.name });
  }
  const thumb = file.variants?.medium || file.variants?.thumb;
  return thumb ? h('img', { src: thumb.url, alt: file.name }) : h('p', { class: 'muted' }, 'No preview for this file.');
}

function facts(file) {
  const rows = [
    ['Name', file.name], ['Title', file.title], ['Type', file.contentType], ['Size', bytes(file.sizeBytes)],
    ['Dimensions', file.width ? `${file.width} × ${file.height}` : null], ['Duration', file.durationMs ? duration(file.durationMs) : null],
    ['Status', file.error ? `${file.status}: ${file.error}` : file.status], ['Visibility', file.isPublic ? 'public' : 'private'],
    ['Uploaded', date(file.createdAt)], ['Expires', file.expiresAt ? date(file.expiresAt) : null],
    ['Views', file.views], ['Downloads', file.downloads], ['Version', file.version ? `${file.version} of ${file.versionCount}` : null],
    ['SHA-256', file.sha256],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
  return h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: k === 'SHA-256' ? 'mono' : null }, String(v))]));
}

async function download(id, version) {
  const path = version ? `/api/v1/files/${id}/versions/${version}/download` : `/api/v1/files/${id}/download`;
  try {
    const { url } = await api('GET', path);
    location.href = url;
  } catch (e) { toast(errorText(e)); }
}

function editForm(file, reload) {
  const f = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    const body = {};
    if (f.elements.fileName.value !== file.name) body.name = f.elements.fileName.value;
    if (f.elements.title.value !== (file.title || '')) body.title = f.elements.title.value;
    const folder = f.elements.folder.value;
    if (folder !== '__keep') body.folderId = folder || null;
    try { await api('PATCH', `/api/v1/files/${file.id}`, { body }); toast('Saved'); reload(); } catch (err) { toast(errorText(err)); }
  } },
  h('label', {}, 'Name', h('input', { name: 'fileName', value: file.name, required: true })),
  h('label', {}, 'Title', h('input', { name: 'title', value: file.title || '' })),
  h('label', {}, 'Move to folder', h('select', { name: 'folder' }, h('option', { value: '__keep' }, 'keep where it is'), h('option', { value: '' }, 'no folder (root)'))),
  h('button', { type: 'submit' }, 'Save'));
  folderOptions(f.elements.folder);
  return f;
}

/** Fills a select with the caller's folders. */
async function folderOptions(sel) {
  try {
    for (const f of await allFolders()) sel.append(h('option', { value: f.id }, f.label));
  } catch (e) { toast(errorText(e)); }
}

async function versions(file, reload, readOnly = false) {
  const box = h('div', { class: 'stack' });
  const list = await api('GET', `/api/v1/files/${file.id}/versions`);
  const input = h('input', { type: 'file', id: 'version-file', name: 'version' });
  const vname = h('input', { name: 'versionName', maxlength: 255, placeholder: 'optional' });
  const progress = h('progress', { max: 1, value: 0, 'aria-label': 'Upload of the new version', hidden: true });
  const note = h('span', { class: 'msg muted', role: 'status' });
  const button = h('button', { type: 'submit' }, 'Upload new version');
  const upload = h('form', { class: 'toolbar', id: 'new-version', onsubmit: async (e) => {
    e.preventDefault();
    if (!input.files.length) { note.textContent = 'Choose a file first.'; return; }
    const body = new FormData();
    if (vname.value.trim()) body.append('versionName', vname.value.trim());
    body.append('file', input.files[0]);
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    note.className = 'msg muted';
    note.textContent = 'uploading…';
    try {
      await sendFile(`/api/v1/files/${file.id}/versions`, body, (f) => { progress.value = f; });
      progress.value = 1;
      note.textContent = 'processing…';
      const done = await settled(file.id);
      if (done.status === 'failed') throw new Error(done.error || 'processing failed');
      toast('New version uploaded');
      reload();
    } catch (err) {
      note.className = 'msg error';
      note.textContent = errorText(err);
      button.disabled = false;
    }
  } }, h('label', { for: 'version-file' }, 'New version', input), h('label', {}, 'Version name', vname), button, progress, note);
  const rows = (list.items || []).map((v) => [
    `${v.version}${v.current ? ' (current)' : ''}`, v.versionName || '', bytes(v.sizeBytes), date(v.createdAt),
    h('div', { class: 'row' },
      h('button', { type: 'button', 'aria-label': `Download version ${v.version}`, onclick: () => download(file.id, v.version) }, 'Download'),
      v.current || readOnly ? null : h('button', { type: 'button', 'aria-label': `Restore version ${v.version}`, onclick: async () => {
        try { await api('POST', `/api/v1/files/${file.id}/versions/${v.version}/restore`); toast('Restored'); reload(); } catch (e) { toast(errorText(e)); }
      } }, 'Restore'),
      v.current || readOnly ? null : h('button', { type: 'button', class: 'danger', 'aria-label': `Remove version ${v.version}`, onclick: async () => {
        try { await api('DELETE', `/api/v1/files/${file.id}/versions/${v.version}`); reload(); } catch (e) { toast(errorText(e)); }
      } }, 'Remove'))]);
  mount(box, dataTable({ id: 'versions' }, ['Version', 'Name', 'Size', 'Date', ''], rows), readOnly ? null : upload);
  return box;
}

function publicSection(file, reload, readOnly = false) {
  const toggle = h('button', { type: 'button', id: 'toggle-public', onclick: async () => {
    try { await api('PATCH', `/api/v1/files/${file.id}`, { body: { isPublic: !file.isPublic } }); reload(); } catch (e) { toast(errorText(e)); }
  } }, file.isPublic ? 'Make private' : 'Make public');
  if (!file.isPublic || !file.url) {
    return h('section', { 'aria-labelledby': 'embed-h' }, h('h2', { id: 'embed-h' }, 'Links'),
      h('p', { class: 'muted' }, 'This file is private. Make it public to get its direct link, viewer link and embed codes, or share it with a public link below.'), toggle);
  }
  return h('section', { 'aria-labelledby': 'embed-h', id: 'embed-codes' }, h('h2', { id: 'embed-h' }, 'Links'),
    embedCodes(file).map(([label, value, name]) => copyRow(label, value, name)), readOnly ? null : toggle);
}

/** A file someone shared with the caller: read-only (view, facts, downloads). */
export function sharedFile(main, params, user) {
  return render(main, params, user, true);
}

export async function render(main, [id], _user, readOnly = false) {
  const reload = () => render(main, [id], _user, readOnly);
  const file = await api('GET', `/api/v1/files/${encodeURIComponent(id)}`);
  let versionsShown = Promise.resolve();
  const remove = readOnly ? null : h('button', { type: 'button', class: 'danger', onclick: async () => {
    const where = hasFeature('trash') ? 'It goes to the trash, where you can restore it.' : 'This cannot be undone.';
    if (!(await confirmDialog(`Delete “${file.name}”? ${where}`))) return;
    // The versions still on their way would find the file gone.
    await versionsShown;
    try {
      await api('DELETE', `/api/v1/files/${file.id}`);
      toast(hasFeature('trash') ? 'Deleted: find it in the trash' : 'Deleted');
      location.hash = '#/';
    } catch (e) { toast(errorText(e)); }
  } }, 'Delete');
  const side = h('div', { class: 'stack' },
    h('section', { class: 'card' }, facts(file)),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => download(file.id) }, 'Download'), remove),
    readOnly ? h('p', { class: 'muted' }, 'Shared with you, read-only.')
      : h('details', { class: 'card' }, h('summary', {}, 'Rename, retitle, move'), editForm(file, reload)));
  const versionBox = h('div', {});
  const from = sessionStorage.getItem('mediaq.gallery') || '';
  const back = readOnly && !from.startsWith('#/shared/') ? h('a', { href: '#/shared' }, '← Shared with me')
    : h('a', { href: /^#\/(folder|shared\/folder)\//.test(from) ? from : '#/' }, '← Back to files');
  const links = readOnly ? (file.isPublic && file.url ? publicSection(file, reload, true) : null) : publicSection(file, reload);
  mount(main,
    h('p', {}, back),
    h('h1', {}, file.title || file.name),
    h('div', { class: 'split' }, h('div', { class: 'stack' }, h('div', { class: 'viewer' }, viewer(file)), links), side),
    'version' in file ? h('section', { class: 'card', 'aria-labelledby': 'versions-h' }, h('h2', { id: 'versions-h' }, 'Versions'), versionBox) : null,
    readOnly ? null : h('section', { class: 'card', 'aria-labelledby': 'sharing-h' }, h('h2', { id: 'sharing-h' }, 'Sharing'), sharePanel({ fileId: file.id })));
  if ('version' in file) {
    versionsShown = versions(file, reload, readOnly).then((b) => mount(versionBox, b))
      .catch((e) => mount(versionBox, h('p', { class: 'error' }, errorText(e))));
  }
}
