// API keys (create — shown once —, list, revoke) and a ShareX custom
// uploader (.sxcu) prefilled with a new key, posting to the Chevereto
// route /api/1/upload.
import { api, me } from '../api.js';
import { h, mount, errorText, toast, copyRow, confirmDialog, field, dataTable } from '../dom.js';
import { date } from '../format.js';

/** A ShareX custom uploader for `key`. */
export function sxcu(key, username) {
  return {
    Version: '15.0.0',
    Name: `mediaq ${location.host} (${username})`,
    DestinationType: 'ImageUploader',
    RequestMethod: 'POST',
    RequestURL: `${location.origin}/api/1/upload`,
    Headers: { 'X-API-Key': key },
    Body: 'MultipartFormData',
    Arguments: { format: 'json' },
    FileFormName: 'source',
    URL: '{json:image.url}',
    ThumbnailURL: '{json:image.thumb.url}',
    DeletionURL: '{json:image.delete_url}',
    ErrorMessage: '{json:error.message}',
  };
}

function saveFile(name, text, type) {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

function shown(created, username) {
  return h('div', { class: 'card stack', role: 'status' },
    h('p', { class: 'ok' }, `Key “${created.name}” created. Copy it now: it is shown only once.`),
    copyRow('API key', created.key, 'api-key'),
    h('button', { type: 'button', onclick: () => saveFile(`mediaq-${location.hostname}.sxcu`, JSON.stringify(sxcu(created.key, username), null, 2), 'application/json') },
      'Download ShareX config (.sxcu)'));
}

export async function render(main) {
  const user = await me();
  const out = h('div', {});
  const list = h('div', {});
  async function refresh() {
    const { items } = await api('GET', '/api/v1/keys', { query: { limit: 100 } });
    const rows = (items || []).map((k) => [
      k.name || '(no name)', h('span', { class: 'mono' }, `${k.prefix}…`), date(k.createdAt), k.lastUsedAt ? date(k.lastUsedAt) : 'never',
      h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name || k.prefix}`, onclick: async () => {
        if (!(await confirmDialog(`Revoke the key “${k.name || k.prefix}”? Clients using it stop working.`, 'Revoke'))) return;
        try { await api('DELETE', `/api/v1/keys/${encodeURIComponent(k.id)}`); toast('Key revoked'); refresh(); } catch (e) { toast(errorText(e)); }
      } }, 'Revoke')]);
    mount(list, rows.length ? dataTable({ id: 'keys' }, ['Name', 'Prefix', 'Created', 'Last used', ''], rows) : h('p', { class: 'muted' }, 'No keys yet.'));
  }
  async function create(name) {
    try {
      const created = await api('POST', '/api/v1/keys', { body: { name } });
      mount(out, shown(created, user.username));
      refresh();
      return created;
    } catch (e) { mount(out, h('p', { class: 'error', role: 'alert' }, errorText(e))); return null; }
  }
  const f = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); create(f.elements.keyName.value); f.reset(); } },
    field('Key name', { name: 'keyName', required: true, maxlength: 100, placeholder: 'e.g. laptop' }),
    h('button', { type: 'submit', class: 'primary' }, 'Create key'));
  mount(main, h('h1', {}, 'API keys'),
    h('p', { class: 'muted' }, 'Keys work as Authorization: Bearer, X-API-Key or the key parameter of the Chevereto route.'),
    f,
    h('p', {}, h('button', { type: 'button', onclick: () => create('ShareX') }, 'New key for ShareX'),
      ' — then download its .sxcu and open it in ShareX (Destinations → Custom uploader settings → Import).'),
    out,
    h('h2', {}, 'Your keys'), list);
  await refresh();
}
