// Stock tus-js-client (Node) against mediaq: an upload interrupted after
// two chunks (abort), then resumed by a new Upload from the server's
// offset (uploadUrl). Prints the upload URL.
//
// usage: node tus_js_upload.js ENDPOINT KEY FILE   (NODE_PATH: node_modules)
const fs = require('fs')
const tus = require('tus-js-client')

const [endpoint, key, path] = process.argv.slice(2)
const data = fs.readFileSync(path)
const common = {
  headers: { Authorization: `Bearer ${key}` },
  chunkSize: 256 * 1024,
  retryDelays: [0, 1000, 3000, 5000],
  metadata: { filename: 'tus-js resumed.jpg', filetype: 'image/jpeg' },
}

function fail(err) {
  console.error(`upload failed: ${err}`)
  process.exit(1)
}

let chunks = 0
const first = new tus.Upload(data, {
  ...common,
  endpoint,
  onError: fail,
  onChunkComplete() {
    chunks += 1
    if (chunks === 2) {
      first.abort().then(resume, fail)
    }
  },
  onSuccess() {
    fail('the first upload should have been interrupted')
  },
})
first.start()

function resume() {
  const url = first.url
  let startedAt = null
  const again = new tus.Upload(data, {
    ...common,
    uploadUrl: url,
    onError: fail,
    onProgress(sent) {
      if (startedAt === null) startedAt = sent
    },
    onSuccess() {
      if (startedAt !== null && startedAt < 2 * common.chunkSize) {
        fail(`resumed from ${startedAt}, not from the server's offset`)
      }
      console.log(again.url)
    },
  })
  again.start()
}
