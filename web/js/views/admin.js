// Administration: users (approve, suspend, role, quota), stats, the audit log.
import { api } from '../api.js';
import { h, mount, errorText, toast, dataTable } from '../dom.js';
import { bytes, date } from '../format.js';

const MB = 1024 * 1024;

function userRow(u, refresh) {
  const call = (method, path, body, done) => async () => {
    try { await api(method, path, { body }); toast(done); refresh(); } catch (e) { toast(errorText(e)); }
  };
  const base = `/api/v1/admin/users/${u.id}`;
  const quota = h('input', { type: 'number', min: 0, step: 1, name: 'quotaMb', value: u.quotaBytes === null ? '' : Math.round(u.quotaBytes / MB),
    'aria-label': `Quota of ${u.username} in MB (empty = default)`, placeholder: 'default', class: 'quota' });
  return { attrs: { dataset: { userId: u.id } }, cells: [
    u.username, u.role, u.status, `${bytes(u.usedBytes)} / ${u.fileCount ?? 0} files`,
    h('form', { class: 'row nowrap', onsubmit: (e) => {
      e.preventDefault();
      const v = quota.value.trim();
      call('PATCH', base, { quotaBytes: v === '' ? null : Math.round(Number(v) * MB) }, 'Quota saved')();
    } }, quota, h('button', { type: 'submit' }, 'Set')),
    h('div', { class: 'row' },
      u.status !== 'active' ? h('button', { type: 'button', onclick: call('POST', `${base}/approve`, undefined, `${u.username} approved`) }, u.status === 'pending' ? 'Approve' : 'Reactivate') : null,
      u.status !== 'suspended' ? h('button', { type: 'button', class: 'danger', onclick: call('POST', `${base}/suspend`, undefined, `${u.username} suspended`) }, 'Suspend') : null,
      h('button', { type: 'button', onclick: call('PATCH', base, { role: u.role === 'admin' ? 'user' : 'admin' }, 'Role changed') }, u.role === 'admin' ? 'Make user' : 'Make admin')),
  ] };
}

async function users(box, status) {
  const refresh = () => users(box, status);
  const data = await api('GET', '/api/v1/admin/users', { query: { limit: 100, status } });
  mount(box, dataTable({ id: 'users' }, ['User', 'Role', 'Status', 'Usage', 'Quota (MB)', ''], (data.items || []).map((u) => userRow(u, refresh))),
  data.total > (data.items || []).length ? h('p', { class: 'muted' }, `Showing ${data.items.length} of ${data.total}.`) : null);
}

async function audit(box, page = 1) {
  const data = await api('GET', '/api/v1/admin/audit', { query: { page, limit: 50 } });
  mount(box, dataTable({ id: 'audit' }, ['When', 'Who', 'Action', 'Target', 'Result', 'IP'], (data.items || []).map((a) => [
    date(a.at), a.actor || a.actorId || '—', h('span', { class: 'mono' }, a.action), h('span', { class: 'mono' }, a.target || ''),
    a.result, h('span', { class: 'mono' }, a.ip || '')])),
  h('div', { class: 'row' },
    page > 1 ? h('button', { type: 'button', onclick: () => audit(box, page - 1) }, 'Newer') : null,
    data.hasMore || (data.totalPages && page < data.totalPages) ? h('button', { type: 'button', onclick: () => audit(box, page + 1) }, 'Older') : null));
}

export async function render(main, _params, user) {
  if (!user || user.role !== 'admin') {
    mount(main, h('h1', {}, 'Admin'), h('p', { class: 'error' }, 'Only administrators can see this page.'));
    return;
  }
  const stats = await api('GET', '/api/v1/admin/stats');
  const userBox = h('div', {});
  const auditBox = h('div', {});
  const filter = h('select', { name: 'status', 'aria-label': 'Show users', onchange: () => users(userBox, filter.value).catch((e) => toast(errorText(e))) },
    [['', 'all users'], ['pending', 'pending approval'], ['active', 'active'], ['suspended', 'suspended']].map(([v, t]) => h('option', { value: v }, t)));
  mount(main, h('h1', {}, 'Admin'),
    h('section', { 'aria-labelledby': 'stats-h' }, h('h2', { id: 'stats-h' }, 'Stats'),
      h('dl', { class: 'stats', id: 'stats' }, [
        ['Users', stats.users], ['Pending', stats.pendingUsers], ['Suspended', stats.suspendedUsers],
        ['Files', stats.files], ['Stored', bytes(stats.bytes)],
      ].map(([k, v]) => h('div', { class: 'stat' }, h('dt', {}, k), h('dd', {}, String(v ?? '—')))))),
    h('section', { 'aria-labelledby': 'users-h' }, h('div', { class: 'row' }, h('h2', { id: 'users-h' }, 'Users'), filter), userBox),
    h('section', { 'aria-labelledby': 'audit-h' }, h('h2', { id: 'audit-h' }, 'Audit log'), auditBox));
  await Promise.all([users(userBox, ''), audit(auditBox)]);
}
