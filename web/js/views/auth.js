// Log in, register, first run, and the account page (password, usage).
import { api, me, session } from '../api.js';
import { h, mount, field, errorText, toast } from '../dom.js';
import { bytes, date } from '../format.js';

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content === 'true';

function firstRun() {
  if (!meta('mediaq-first-run')) return null;
  return h('section', { class: 'card', 'aria-labelledby': 'first-run' },
    h('h2', { id: 'first-run' }, 'Welcome to mediaq'),
    h('p', {}, 'There is no account yet. Make the first administrator on the server, in a second shell:'),
    h('pre', { class: 'secret' }, 'scripts/run.sh key create --user admin --admin'),
    h('p', {}, 'It prints an API key. Sign in with that key below, then set a password on your account page. ',
      'Accounts registered here wait for an administrator\'s approval (unless MEDIAQ_OPEN_REGISTRATION=true).'));
}

function form(title, fields, submit, onSubmit, extra, formClass = '') {
  const status = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, submit);
  const f = h('form', {
    class: `stack ${formClass}`.trim(),
    onsubmit: async (e) => {
      e.preventDefault();
      status.textContent = '';
      button.disabled = true;
      try { await onSubmit(new FormData(f)); } catch (err) { status.textContent = errorText(err); }
      button.disabled = false;
    },
  }, fields, status, button);
  return h('section', { class: 'card stack', 'aria-labelledby': 'form-title' }, h('h1', { id: 'form-title' }, title), f, extra);
}

const credentials = (autocomplete) => [
  field('Username', { name: 'username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32 }),
  field('Password', { name: 'password', type: 'password', autocomplete: autocomplete, required: true, minlength: 8 }),
];

async function loginWith(username, password) {
  const out = await api('POST', '/api/v1/auth/login', { body: { username, password }, auth: false });
  session.start(out.token, out.expiresAt);
  session.me = null;
  location.hash = '#/';
}

export async function login(main) {
  const keyForm = form('Sign in with an API key', [
    field('API key', { name: 'key', type: 'password', autocomplete: 'off', required: true }),
  ], 'Use key', async (data) => {
    session.token = String(data.get('key')).trim();
    try { await me(true); } catch (e) { session.token = null; throw e; }
    location.hash = '#/';
  }, null, 'key-login');
  mount(main, h('div', { class: 'narrow stack' },
    firstRun(),
    form('Log in', credentials('current-password'), 'Log in',
      (d) => loginWith(String(d.get('username')), String(d.get('password'))),
      h('p', {}, 'No account? ', h('a', { href: '#/register' }, 'Register'))),
    h('details', {}, h('summary', {}, 'Sign in with an API key instead'), keyForm)));
  main.querySelector('input[name=username]').focus();
}

export async function register(main) {
  const open = meta('mediaq-open-registration');
  mount(main, h('div', { class: 'narrow stack' },
    firstRun(),
    form('Register', credentials('new-password'), 'Create account', async (d) => {
      const username = String(d.get('username'));
      const password = String(d.get('password'));
      const user = await api('POST', '/api/v1/auth/register', { body: { username, password }, auth: false });
      if (user.status === 'active') {
        await loginWith(username, password);
      } else {
        mount(main, h('div', { class: 'narrow card' }, h('h1', {}, 'Account created'),
          h('p', {}, 'An administrator must approve your account before you can log in.'),
          h('a', { href: '#/login' }, 'Back to log in')));
      }
    }, h('p', { class: 'muted' }, open ? 'New accounts are active at once.'
      : 'New accounts wait for an administrator\'s approval. Usernames: 3–32 letters, digits, _ - .; passwords: 8 characters or more.'))));
  main.querySelector('input[name=username]').focus();
}

export async function account(main) {
  const user = await me(true);
  const pw = form('Change password', [
    // For password managers: whose password this is.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: user.username, hidden: true, readonly: true }),
    field('Current password (leave empty if you have none yet)', { name: 'oldPassword', type: 'password', autocomplete: 'current-password' }),
    field('New password', { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }),
  ], 'Change password', async (d) => {
    const body = { newPassword: String(d.get('newPassword')) };
    if (d.get('oldPassword')) body.oldPassword = String(d.get('oldPassword'));
    await api('POST', '/api/v1/auth/password', { body });
    toast('Password changed; your other sessions were ended');
    pw.querySelector('form').reset();
  });
  mount(main, h('h1', {}, 'Account'),
    h('dl', { class: 'facts card' },
      h('dt', {}, 'Username'), h('dd', {}, user.username),
      h('dt', {}, 'Role'), h('dd', {}, user.role),
      h('dt', {}, 'Status'), h('dd', {}, user.status),
      h('dt', {}, 'Used'), h('dd', {}, `${bytes(user.usedBytes)} in ${user.fileCount} files`),
      h('dt', {}, 'Quota'), h('dd', {}, user.quotaBytes === null ? 'unlimited' : bytes(user.quotaBytes)),
      h('dt', {}, 'Since'), h('dd', {}, date(user.createdAt))),
    h('div', { class: 'narrow left' }, pw));
}
