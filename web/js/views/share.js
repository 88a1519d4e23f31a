// Sharing: public links (password, expiry, view-only, view budget) and
// shares with other users, for a file or a folder; the "shared with me"
// and "my links" pages.
import { api } from '../api.js';
import { h, mount, errorText, toast, copyRow, field, folderIcon } from '../dom.js';
import { date } from '../format.js';

/** The page that shows a link to someone without an account. */
export const linkPage = (token) => `${location.origin}/#/l/${token}`;

function linkForm(target, onMade) {
  const out = h('div', { class: 'stack', 'aria-live': 'polite' });
  const f = h('form', { class: 'stack link-form', onsubmit: async (e) => {
    e.preventDefault();
    const d = new FormData(f);
    const body = { ...target, allowDownload: d.get('viewOnly') !== 'on' };
    if (d.get('linkPassword')) body.password = String(d.get('linkPassword'));
    if (d.get('expiresIn')) body.expiresIn = String(d.get('expiresIn'));
    if (d.get('maxViews')) body.maxViews = Number(d.get('maxViews'));
    try {
      const link = await api('POST', '/api/v1/links', { body });
      mount(out, h('p', { class: 'ok' }, 'Link created. Copy it now: its token is shown only once.'),
        copyRow('Link page', linkPage(link.token), 'link-page'),
        copyRow('API URL', link.url, 'link-api'));
      f.reset();
      onMade?.();
    } catch (err) { mount(out, h('p', { class: 'error', role: 'alert' }, errorText(err))); }
  } },
  field('Password (optional)', { name: 'linkPassword', type: 'password', autocomplete: 'new-password', minlength: 8 }),
  h('label', {}, 'Expires', h('select', { name: 'expiresIn' },
    [['', 'never'], ['PT1H', 'in an hour'], ['P1D', 'in a day'], ['P7D', 'in a week'], ['P30D', 'in 30 days']]
      .map(([v, t]) => h('option', { value: v }, t)))),
  field('Max views (optional)', { name: 'maxViews', type: 'number', min: 1, step: 1 }),
  h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'viewOnly' }), ' view only (no downloads)'),
  h('button', { type: 'submit', class: 'primary' }, 'Create public link'));
  return h('div', { class: 'stack' }, f, out);
}

function linkRow(link, refresh) {
  const facts = [
    link.hasPassword ? 'password' : 'no password',
    link.allowDownload ? 'downloads allowed' : 'view only',
    link.maxViews ? `${link.views}/${link.maxViews} views` : `${link.views} views`,
    link.expiresAt ? `expires ${date(link.expiresAt)}` : 'never expires',
  ].join(' · ');
  return h('span', { class: 'link-facts' }, h('span', { class: 'muted' }, facts), ' ', h('button', { type: 'button', onclick: async () => {
    try { await api('DELETE', `/api/v1/links/${encodeURIComponent(link.id)}`); toast('Link revoked'); refresh(); } catch (e) { toast(errorText(e)); }
  } }, 'Revoke'));
}

function shareForm(target, onMade) {
  const f = h('form', { class: 'row share-form', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/api/v1/shares', { body: { ...target, username: f.elements.shareWith.value } });
      toast('Shared');
      f.reset();
      onMade?.();
    } catch (err) { toast(errorText(err)); }
  } }, h('input', { name: 'shareWith', required: true, 'aria-label': 'Username to share with', placeholder: 'username' }),
  h('button', { type: 'submit' }, 'Share (read-only)'));
  return f;
}

/** Links and shares of one file ({fileId}) or folder ({folderId}). */
export function sharePanel(target) {
  const id = target.fileId || target.folderId;
  const links = h('ul', { 'aria-label': 'Public links' });
  const shares = h('ul', { 'aria-label': 'Shared with' });
  async function refresh() {
    try {
      const [l, s] = await Promise.all([api('GET', '/api/v1/links', { query: { limit: 100 } }), api('GET', '/api/v1/shares/by-me', { query: { limit: 100 } })]);
      mount(links, (l.items || []).filter((x) => x.targetId === id).map((x) => h('li', {}, linkRow(x, refresh))));
      mount(shares, (s.items || []).filter((x) => x.targetId === id).map((x) => h('li', {}, x.sharee?.username || '?', ' ',
        h('button', { type: 'button', onclick: async () => {
          try { await api('DELETE', `/api/v1/shares/${encodeURIComponent(x.id)}`); refresh(); } catch (e) { toast(errorText(e)); }
        } }, 'Stop sharing'))));
    } catch (e) { mount(links, h('li', { class: 'error' }, errorText(e))); }
  }
  refresh();
  return h('div', { class: 'share-grid' },
    h('div', { class: 'stack' }, h('h3', {}, 'Public link'), linkForm(target, refresh), links),
    h('div', { class: 'stack' }, h('h3', {}, 'Share with a user'), shareForm(target, refresh), shares));
}

const targetHref = (x, shared = false) => `#/${shared ? 'shared/' : ''}${x.targetKind === 'folder' ? 'folder' : 'files'}/${encodeURIComponent(x.targetId)}`;
const targetLabel = (x) => [x.targetKind === 'folder' ? [folderIcon(), ' '] : null, x.targetName || `${x.targetKind} ${x.targetId}`];

export async function sharedWithMe(main) {
  const shares = await api('GET', '/api/v1/shares/with-me', { query: { limit: 100 } });
  const items = shares.items || [];
  mount(main, h('h1', {}, 'Shared with me'),
    items.length ? h('ul', { class: 'list' }, items.map((s) => h('li', {},
      h('a', { href: targetHref(s, true) }, targetLabel(s)),
      h('span', { class: 'muted' }, ` from ${s.owner?.username || '?'}, ${date(s.createdAt)}`),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Drop ${s.targetName || 'this share'}`, onclick: async () => {
        try { await api('DELETE', `/api/v1/shares/${encodeURIComponent(s.id)}`); toast('Share dropped'); sharedWithMe(main); } catch (e) { toast(errorText(e)); }
      } }, 'Drop'))))
      : h('p', { class: 'muted' }, 'Nobody has shared anything with you yet.'));
}

export async function myLinks(main) {
  const links = await api('GET', '/api/v1/links', { query: { limit: 100 } });
  const items = links.items || [];
  mount(main, h('h1', {}, 'Public links'),
    h('p', { class: 'muted' }, 'A link\'s token is shown only when it is made (on the file or folder page); here you can see your live links and revoke them.'),
    items.length ? h('ul', { class: 'list', id: 'links' }, items.map((l) => h('li', { dataset: { linkId: l.id } },
      h('a', { href: targetHref(l) }, targetLabel(l)), ' ', linkRow(l, () => myLinks(main)))))
      : h('p', { class: 'muted' }, 'No live links.'));
}
