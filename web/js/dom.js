// Building DOM without HTML strings: every text a user typed goes in as
// textContent or an attribute value, never through innerHTML.

/** h('a', {href, class, onclick}, child...) → element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** The folder icon (decorative: the folder's name says what it is). */
export function folderIcon(cls = 'icon') {
  return h('img', { src: '/web/folder.svg', alt: '', class: cls, width: 16, height: 16 });
}

/**
 * A data table: `headers` (texts) and `rows` (arrays of cells, each a
 * node, text or array). Each cell carries its column's name, shown beside
 * it where the table turns into cards on a phone.
 */
export function dataTable(attrs, headers, rows) {
  const body = rows.map((row) => {
    const [cells, rowAttrs] = Array.isArray(row) ? [row, {}] : [row.cells, row.attrs];
    return h('tr', rowAttrs, cells.map((c, i) => h('td', { 'data-label': headers[i] || null }, c)));
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', ...attrs },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, body)));
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastTimer;
/** A short message in the live region. */
export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 2500);
}

/** A labelled field: label wraps the control (name = field name). */
export function field(label, attrs) {
  return h('label', {}, label, h(attrs.tag || 'input', { ...attrs, tag: undefined }));
}

/** Copies `text`, falling back to selecting `input` and execCommand. */
export async function copyText(text, input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (_) { /* fall back below */ }
  if (input) {
    input.focus();
    input.select();
    try { return document.execCommand('copy'); } catch (_) { return false; }
  }
  return false;
}

/** A read-only text box with a copy button; the box carries `name`. */
export function copyRow(label, value, name) {
  const id = `copy-${name}`;
  const input = h('input', { id, name, readonly: true, value, 'data-copy': name });
  const button = h('button', {
    type: 'button', 'aria-label': `Copy ${label}`,
    onclick: async () => {
      const ok = await copyText(value, input);
      button.textContent = ok ? 'Copied' : 'Select + copy';
      toast(ok ? `${label} copied` : 'Press Ctrl+C to copy');
      setTimeout(() => { button.textContent = 'Copy'; }, 2000);
    },
  }, 'Copy');
  return h('div', { class: 'embed' }, h('label', { for: id }, label), input, button);
}

/** A confirmation dialog; resolves true when confirmed. */
export function confirmDialog(message, action = 'Delete') {
  return new Promise((resolve) => {
    const dlg = h('dialog', { 'aria-label': 'Confirm' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    mount(dlg,
      h('p', {}, message),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'danger', onclick: () => done(true) }, action),
        h('button', { type: 'button', onclick: () => done(false) }, 'Cancel')));
    dlg.addEventListener('cancel', () => done(false));
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** An error line for a caught error (problem+json detail when there is one). */
export function errorText(e) {
  return e && e.message ? e.message : String(e);
}
