#!/usr/bin/env bash
# A large upload through tus on the embedded default, with a stock tus
# client (tuspy, 64 MiB chunks): a 5.1 GiB file (an MP4 header, then random
# bytes) uploaded to `mediaq all`, compared with `dd … conv=fdatasync`
# writing the same bytes to the same disk in the same run. Prints MB/s of
# both, their ratio (goal ≥ 0.8) and the peak RSS growth of `mediaq all`
# during the upload (goal < 128 MiB). Needs ~3× the size free on disk.
#   scripts/bench-tus.sh [SIZE_MIB]   (default 5222, i.e. 5.1 GiB)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}" curl python3
mediaq_target_dir
SIZE_MIB=${1:-5222}
CHUNK_MIB=${MEDIAQ_BENCH_CHUNK_MIB:-64}
# MEDIAQ_BENCH_PROFILE=debug measures the debug build instead (no release build).
PROFILE=${MEDIAQ_BENCH_PROFILE:-release}
if [ "${MEDIAQ_BENCH_SKIP_BUILD:-0}" != 1 ]; then
    if [ "$PROFILE" = release ]; then cargo build --release --bin mediaq --quiet; else cargo build --bin mediaq --quiet; fi
fi
BIN="$CARGO_TARGET_DIR/$PROFILE/mediaq"
VENV="$HOME/.cache/mediaq/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-requirements.txt

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mediaq-bench-tus.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

SRC="$WORK/upload.mp4"
printf '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom' >"$SRC"
head -c $((SIZE_MIB * 1024 * 1024 - 24)) /dev/urandom >>"$SRC"
BYTES=$(stat -c %s "$SRC")

sync
DD_START=$(date +%s.%N)
dd if="$SRC" of="$WORK/dd.out" bs=1M conv=fdatasync status=none
DD_END=$(date +%s.%N)
rm -f "$WORK/dd.out"
sync

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MEDIAQ_DATA_DIR="$WORK/data" MEDIAQ_LISTEN="127.0.0.1:$PORT" MEDIAQ_MAX_UPLOAD_BYTES=$((BYTES * 2)) MEDIAQ_LOG=warn
KEY=$("$BIN" key create --user bench)
"$BIN" all >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
echo 5 >/proc/$PID/clear_refs 2>/dev/null || true
HWM_BEFORE=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)

UP_START=$(date +%s.%N)
"$VENV/bin/python" - "http://127.0.0.1:$PORT/api/v1/tus" "$KEY" "$SRC" "$CHUNK_MIB" <<'PY'
import sys
from tusclient import client
endpoint, key, path, chunk = sys.argv[1:5]
up = client.TusClient(endpoint, headers={"Authorization": f"Bearer {key}"}).uploader(
    path, chunk_size=int(chunk) * 1024 * 1024, metadata={"filename": "bench.mp4"})
up.upload()
print("uploaded to", up.url, file=sys.stderr)
PY
UP_END=$(date +%s.%N)
HWM_AFTER=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)

python3 - "$BYTES" "$DD_START" "$DD_END" "$UP_START" "$UP_END" "$RSS_BEFORE" "$HWM_BEFORE" "$HWM_AFTER" "$CHUNK_MIB" <<'PY'
import sys
b, dd0, dd1, up0, up1, rss0, hwm0, hwm1, chunk = sys.argv[1:]
b = int(b); mb = b / 1e6
dd = mb / (float(dd1) - float(dd0)); up = mb / (float(up1) - float(up0))
print(f"mediaq build: {__import__('os').environ.get('MEDIAQ_BENCH_PROFILE', 'release')}")
print(f"size: {b} bytes ({b / 2**30:.2f} GiB), tuspy chunks of {chunk} MiB")
print(f"dd conv=fdatasync: {dd:.0f} MB/s")
print(f"tus upload (mediaq all): {up:.0f} MB/s")
print(f"ratio: {up / dd:.2f}")
print(f"peak RSS growth of mediaq all: {(int(hwm1) - int(hwm0)) / 1024:.1f} MiB (RSS before: {int(rss0) / 1024:.1f} MiB)")
PY
