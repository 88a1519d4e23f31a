// The trash: deleted files and folders, restorable until the sweep
// removes them for good.
import { api, hasFeature } from '../api.js';
import { h, mount, errorText, toast, confirmDialog, dataTable, folderIcon } from '../dom.js';
import { bytes, date } from '../format.js';

export async function render(main) {
  if (!hasFeature('trash')) {
    mount(main, h('h1', {}, 'Trash'), h('p', { class: 'muted' }, 'This server keeps no trash: deleting a file removes it for good.'));
    return;
  }
  let data;
  try {
    data = await api('GET', '/api/v1/trash', { query: { limit: 100 } });
  } catch (e) {
    mount(main, h('h1', {}, 'Trash'), h('p', { class: 'error' }, e.status === 404 ? 'This server keeps no trash: deletes are permanent.' : errorText(e)));
    return;
  }
  const again = () => render(main);
  const act = (method, path, done) => async () => {
    try { await api(method, path); toast(done); again(); } catch (e) { toast(errorText(e)); }
  };
  const items = data.items || [];
  const empty = h('button', { type: 'button', class: 'danger', disabled: !items.length, onclick: async () => {
    if (await confirmDialog('Remove everything in the trash for good?', 'Empty trash')) act('DELETE', '/api/v1/trash', 'Trash emptied')();
  } }, 'Empty trash');
  const rows = items.map((it) => ({ attrs: { dataset: { trashId: it.id } }, cells: [
    it.type === 'folder' ? [folderIcon(), ' ', it.name] : it.name, it.type === 'folder' ? '—' : bytes(it.sizeBytes),
    date(it.deletedAt), date(it.purgeAt),
    h('div', { class: 'row' },
      h('button', { type: 'button', 'aria-label': `Restore ${it.name}`, onclick: act('POST', `/api/v1/trash/${encodeURIComponent(it.id)}/restore`, `${it.name} restored`) }, 'Restore'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${it.name} for good`, onclick: async () => {
        if (await confirmDialog(`Remove “${it.name}” for good?`, 'Remove')) act('DELETE', `/api/v1/trash/${encodeURIComponent(it.id)}`, 'Removed')();
      } }, 'Remove')),
  ] }));
  mount(main, h('div', { class: 'row' }, h('h1', {}, 'Trash'), empty),
    items.length
      ? dataTable({ id: 'trash' }, ['Name', 'Size', 'Deleted', 'Removed for good', ''], rows)
      : h('p', { class: 'muted' }, 'The trash is empty.'),
    data.total > items.length ? h('p', { class: 'muted' }, `Showing ${items.length} of ${data.total}.`) : null);
}
