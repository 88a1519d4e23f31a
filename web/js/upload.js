// Uploads through Uppy's core (its Tus plugin for resumable uploads when
// the server speaks tus at /api/v1/tus, else its XHRUpload plugin posting
// multipart `file` to /api/v1/files), with our own accessible UI: one row
// per file with a <progress>, the server's problem+json `detail` on
// failure, and the thumbnail once the file is processed.
import { api, authHeaders, hasFeature } from './api.js';
import { h, mount } from './dom.js';

let uppyModule = null;
/** Loads the vendored Uppy bundle once, on first need. */
function loadUppy() {
  uppyModule ??= import('/web/vendor/uppy/uppy.min.mjs');
  return uppyModule;
}

/** Whether this server speaks tus at /api/v1/tus (the page says so). */
function tusAvailable() {
  return hasFeature('tus');
}

/** The problem+json `detail` of a failed upload, else the error's text. */
function reason(error, response) {
  const xhr = response && typeof response.responseText === 'string' ? response : error && error.request;
  const tusBody = error && error.originalResponse && error.originalResponse.getBody && error.originalResponse.getBody();
  // tus-js-client puts the answer's body in its message ("response text: …, request id").
  const inMessage = /response text: (.*), request id/s.exec((error && error.message) || '');
  for (const text of [xhr && xhr.responseText, tusBody, inMessage && inMessage[1]]) {
    if (!text) continue;
    try {
      const p = JSON.parse(text);
      if (p.detail || p.title) return p.detail || p.title;
    } catch (_) { /* not JSON */ }
  }
  return (error && error.message) || 'upload failed';
}

/** Waits until the file is processed (ready or failed), polling its status. */
export async function settled(id, onStatus) {
  let wait = 250;
  for (;;) {
    const file = await api('GET', `/api/v1/files/${encodeURIComponent(id)}`);
    onStatus?.(file);
    if (file.status === 'ready' || file.status === 'failed') return file;
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 2000);
  }
}

async function makeUppy(rows, folder) {
  // Meta fields are sent only when set (Uppy would send "undefined").
  const { Uppy, Tus, XHRUpload } = await loadUppy();
  // Uppy's default logger prints each failure to the console; every
  // failure is shown in its file's row instead.
  const quiet = { debug() {}, warn() {}, error() {} };
  const uppy = new Uppy({ autoProceed: true, allowMultipleUploadBatches: true, logger: quiet });
  if (tusAvailable()) {
    uppy.use(Tus, {
      endpoint: new URL('/api/v1/tus', location.origin).href,
      headers: () => authHeaders(),
      allowedMetaFields: folder ? ['name', 'type', 'folderId'] : ['name', 'type'],
      removeFingerprintOnSuccess: true,
      retryDelays: [0, 1000, 3000, 5000],
    });
  } else {
    uppy.use(XHRUpload, {
      endpoint: '/api/v1/files',
      fieldName: 'file',
      formData: true,
      headers: () => authHeaders(),
      allowedMetaFields: folder ? ['folderId'] : [],
      timeout: 120 * 1000,
      shouldRetry: (xhr) => xhr.status === 0 || xhr.status === 429 || xhr.status >= 500,
    });
  }
  uppy.on('upload-progress', (file, p) => {
    const row = rows.get(file.id);
    if (row && p.bytesTotal) row.progress.value = p.bytesUploaded / p.bytesTotal;
  });
  uppy.on('upload-error', (file, error, response) => {
    const row = rows.get(file.id);
    if (row) row.fail(reason(error, response));
  });
  uppy.on('upload-success', (file, response) => {
    const row = rows.get(file.id);
    const body = response && response.body;
    let id = body && (body.id || body.fileId);
    if (!id && response && response.uploadURL) id = response.uploadURL.split('/').pop();
    if (row && id) row.uploaded(id);
    else if (row) row.fail('the server did not say which file this is');
  });
  // Settled files leave Uppy once the batch is done (so the same file can
  // be added again); not earlier: removing a file whose upload is still
  // being finished makes the Tus plugin terminate it on the server.
  uppy.on('complete', (result) => {
    setTimeout(() => {
      for (const f of [...(result.successful || []), ...(result.failed || [])]) {
        if (uppy.getFile(f.id)) uppy.removeFile(f.id);
      }
    }, 0);
  });
  return uppy;
}

/** One row of the upload list. */
function uploadRow(name, onReady) {
  const progress = h('progress', { max: 1, value: 0, 'aria-label': `Uploading ${name}` });
  const msg = h('span', { class: 'msg muted' }, 'uploading…');
  const slot = h('span', {});
  const li = h('li', { class: 'upload' }, h('span', { class: 'fname' }, name), progress, slot, msg);
  return {
    li, progress,
    fail(text) {
      msg.className = 'msg error';
      msg.textContent = `${name}: ${text}`;
      li.dataset.state = 'failed';
    },
    async uploaded(id) {
      progress.value = 1;
      msg.textContent = 'processing…';
      li.dataset.fileId = id;
      try {
        const file = await settled(id);
        if (file.status === 'failed') { this.fail(file.error || 'processing failed'); return; }
        li.dataset.state = 'done';
        msg.className = 'msg ok';
        mount(msg, 'done — ', h('a', { href: `#/files/${encodeURIComponent(id)}` }, 'open'));
        const thumb = file.variants && file.variants.thumb;
        if (thumb) mount(slot, h('img', { src: thumb.url, alt: file.name, width: 48, height: 48 }));
        onReady?.(file);
      } catch (e) {
        this.fail(e.message);
      }
    },
  };
}

/**
 * An uploader bound to a list element: `add(files)` uploads each, `folderId`
 * (a function) names the folder to upload into, `onReady(file)` runs for
 * each processed file.
 */
export function uploader(list, { folderId, onReady }) {
  const rows = new Map();
  let uppy = null;
  return {
    async add(files) {
      const picked = Array.from(files || []);
      if (!picked.length) return;
      const folder = folderId?.();
      uppy ??= makeUppy(rows, folder);
      const u = await uppy;
      for (const f of picked) {
        const row = uploadRow(f.name || 'pasted file', onReady);
        list.prepend(row.li);
        const meta = folder ? { folderId: folder } : {};
        try {
          const id = u.addFile({ name: f.name || `pasted-${Date.now()}.png`, type: f.type, data: f, meta, source: 'local' });
          rows.set(id, row);
        } catch (e) {
          row.fail(e.message);
        }
      }
    },
  };
}
