#!/usr/bin/env bash
# A large upload through tus with a stock tus client (tuspy, 64 MiB
# chunks): a 5.1 GiB file (an MP4 header, then random bytes) uploaded to
# `mediaq all`, compared with `dd … conv=fdatasync` writing the same bytes
# to the same disk just before and just after. Prints MB/s of each, the
# ratios (goal ≥ 0.8 on the embedded default) and the peak RSS growth of
# `mediaq all` during the upload (goal < 128 MiB), then the load average,
# since other work on the machine moves both figures. Needs ~3× the
# size free on disk.
#   scripts/bench-tus.sh [SIZE_MIB]   (default 5222, i.e. 5.1 GiB)
# Settings:
#   MEDIAQ_BENCH_ROUNDS=N         N uploads, each on a fresh server, each
#                                 followed by a dd; then the medians
#   MEDIAQ_BENCH_STACK=production PostgreSQL + Redis + S3 (s3s-fs, on this
#                                 disk) instead of the embedded default
#   MEDIAQ_BENCH_CHUNK_MIB=64     tuspy's chunk size
#   MEDIAQ_BENCH_CLIENT=tus-js    tus-js-client 4 on Node instead of tuspy:
#                                 a read stream of the file, one PATCH
#                                 (its default chunkSize), installed from
#                                 npm once (as for the tests)
#   MEDIAQ_BENCH_CLIENT=curl      curl: the creation POST, then the whole
#                                 file in one streamed PATCH (mediaq's own
#                                 rate, without a client's pauses)
#   MEDIAQ_BENCH_CEILING=0        skip the last line: the same client
#                                 uploading into a data dir on tmpfs
#                                 (/dev/shm, when it has room), which no
#                                 disk slows: the client's own ceiling
#   MEDIAQ_BENCH_PROFILE=debug    the debug build instead of a release build
#   MEDIAQ_BENCH_SKIP_BUILD=1     use the binary already built
#   BENCH_BIN=PATH                measure that binary (before/after figures)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
. scripts/bench-lib.sh
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}" curl python3
mediaq_target_dir
SIZE_MIB=${1:-5222}
CHUNK_MIB=${MEDIAQ_BENCH_CHUNK_MIB:-64}
ROUNDS=${MEDIAQ_BENCH_ROUNDS:-1}
STACK=${MEDIAQ_BENCH_STACK:-embedded}
PROFILE=${MEDIAQ_BENCH_PROFILE:-release}
CLIENT=${MEDIAQ_BENCH_CLIENT:-tuspy}
bench_build "$PROFILE"
mediaq_python_venv

bench_init bench-tus
SRC="$WORK/upload.mp4"
bench_source "$SRC" "$SIZE_MIB"
BYTES=$(stat -c %s "$SRC")
[ "$STACK" = production ] && bench_production
export MEDIAQ_MAX_UPLOAD_BYTES=$((BYTES * 2))
echo "mediaq build: $PROFILE, stack: $STACK"
case $CLIENT in
tus-js) how="tus-js-client, one streamed PATCH" ;;
curl) how="curl, one streamed PATCH" ;;
*) how="tuspy chunks of $CHUNK_MIB MiB" ;;
esac
echo "size: $BYTES bytes ($(python3 -c "print(f'{$BYTES / 2**30:.2f}')") GiB), $how"

if [ "$CLIENT" = tus-js ]; then mediaq_node_clients; fi

upload() { # upload URL KEY
    if [ "$CLIENT" = curl ]; then
        local location
        location=$(curl -sf -D - -o /dev/null -X POST -H "Authorization: Bearer $2" -H 'Tus-Resumable: 1.0.0' \
            -H "Upload-Length: $BYTES" -H 'Upload-Metadata: filename YmVuY2gubXA0' "$1/api/v1/tus" |
            tr -d '\r' | awk -F': ' 'tolower($1) == "location" {print $2}')
        case $location in http*) ;; *) location="$1$location" ;; esac
        curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer $2" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
            -H 'Content-Type: application/offset+octet-stream' -H 'Expect:' -T "$SRC" "$location"
        return
    fi
    if [ "$CLIENT" = tus-js ]; then
        NODE_PATH="$MEDIAQ_TEST_NODE_MODULES" node - "$1/api/v1/tus" "$2" "$SRC" <<'JS'
const fs = require('fs')
const tus = require('tus-js-client')
const [endpoint, key, path] = process.argv.slice(2)
new tus.Upload(fs.createReadStream(path), {
  endpoint,
  headers: { Authorization: `Bearer ${key}` },
  uploadSize: fs.statSync(path).size,
  metadata: { filename: 'bench.mp4' },
  onError(e) { console.error(`upload failed: ${e}`); process.exit(1) },
}).start()
JS
        return
    fi
    "$MEDIAQ_TEST_PYTHON" - "$1/api/v1/tus" "$2" "$SRC" "$CHUNK_MIB" <<'PY'
import sys
from tusclient import client
endpoint, key, path, chunk = sys.argv[1:5]
up = client.TusClient(endpoint, headers={"Authorization": f"Bearer {key}"}).uploader(
    path, chunk_size=int(chunk) * 1024 * 1024, metadata={"filename": "bench.mp4"})
up.upload()
PY
}

# dd runs before each upload and once after the last: each upload is
# compared with the dd before it and with the dd after it (the disk's rate
# drifts from one minute to the next), and with their mean.
# serve_and_upload USER: a fresh `mediaq all` on $MEDIAQ_DATA_DIR, one
# timed upload by USER, then the server stops (its processing job would
# read the file again during the next dd) and its data goes. Sets TUS
# (MB/s), RSS_BEFORE, PEAK_BEFORE and PEAK_AFTER.
serve_and_upload() {
    KEY=$("$BIN" key create --user "$1")
    bench_serve all
    RSS_BEFORE=$(bench_rss)
    bench_reset_peak
    PEAK_BEFORE=$(bench_peak)
    START=$(bench_now)
    upload "$URL" "$KEY"
    END=$(bench_now)
    PEAK_AFTER=$(bench_peak)
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    rm -rf "$MEDIAQ_DATA_DIR"
    TUS=$(bench_mbps "$BYTES" "$START" "$END")
}

DD_AFTER=$(bench_dd "$SRC")
RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
    DD=$DD_AFTER
    export MEDIAQ_DATA_DIR="$WORK/data.$round"
    serve_and_upload "bench$round"
    [ "$STACK" = production ] && rm -rf "$WORK/s3/bench/media"
    DD_AFTER=$(bench_dd "$SRC")
    python3 - "$round" "$DD" "$DD_AFTER" "$TUS" "$RSS_BEFORE" "$PEAK_BEFORE" "$PEAK_AFTER" <<'PY'
import sys
r, dd0, dd1, up, rss0, hwm0, hwm1 = sys.argv[1:]
dd0, dd1, up = int(dd0), int(dd1), int(up)
print(f"round {r}: dd conv=fdatasync {dd0} MB/s before, {dd1} MB/s after; tus upload (mediaq all) {up} MB/s; "
      f"ratio {up / dd0:.2f} / {up / dd1:.2f}, to their mean {2 * up / (dd0 + dd1):.2f}; "
      f"peak RSS growth {(int(hwm1) - int(hwm0)) / 1024:.1f} MiB (RSS before {int(rss0) / 1024:.1f} MiB)")
PY
    RATIOS+=("$TUS:$DD:$DD_AFTER")
done
# The disk of a virtual machine stalls now and then for a second or more
# (nothing completes while its host flushes), so one round's ratio is
# partly luck: with several rounds, their medians.
if [ "$ROUNDS" -gt 1 ]; then
    python3 - "${RATIOS[@]}" <<'PY'
import statistics, sys
rounds = [tuple(map(int, r.split(":"))) for r in sys.argv[1:]]
up = statistics.median(u for u, _, _ in rounds)
dd = statistics.median((a + b) / 2 for _, a, b in rounds)
ratio = statistics.median(2 * u / (a + b) for u, a, b in rounds)
print(f"median of {len(rounds)} rounds: tus upload {up:.0f} MB/s, dd (mean of before and after) {dd:.0f} MB/s; "
      f"ratio to the mean {ratio:.2f}")
PY
fi
# The same client into tmpfs: no disk, so what bounds it is the client,
# the loopback and mediaq's CPU. A tus rate near this line is as fast as
# this client goes on this machine, whatever the disk.
SHM_FREE=$(df -B1 --output=avail /dev/shm 2>/dev/null | tail -n 1 || echo 0)
if [ "${MEDIAQ_BENCH_CEILING:-1}" != 0 ] && [ "$STACK" = embedded ] && [ "${SHM_FREE:-0}" -gt $((BYTES + (1 << 30))) ]; then
    export MEDIAQ_DATA_DIR
    MEDIAQ_DATA_DIR=$(mktemp -d /dev/shm/mediaq-bench.XXXXXX)
    BENCH_EXTRA_DIR=$MEDIAQ_DATA_DIR
    serve_and_upload benchshm
    echo "ceiling: the same upload into tmpfs (no disk) $TUS MB/s"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
