#!/usr/bin/env bash
# Upload throughput and memory of the embedded default: streams a 1 GiB file
# (an MP4 header, then random bytes) through `POST /api/v1/files` with curl,
# and compares with `dd … conv=fdatasync` writing the same bytes to the
# same disk in the same run, the two back to back ROUNDS times (the
# machine may be busy with other work: every pair is printed, then the
# medians). Prints MB/s for both, the ratio, and the server's peak RSS
# growth during the upload.
#   scripts/bench-upload.sh [SIZE_MIB] [ROUNDS]   (default 1024 3)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}" curl python3
mediaq_target_dir
SIZE_MIB=${1:-1024}
ROUNDS=${2:-3}
# BENCH_BIN: measure that binary instead (e.g. a copy of an older
# build, for before/after figures), without building.
if [ -n "${BENCH_BIN:-}" ]; then
    BIN=$BENCH_BIN
else
    cargo build --release --bin mediaq --quiet
    BIN="$CARGO_TARGET_DIR/release/mediaq"
fi

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mediaq-bench.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

SRC="$WORK/upload.mp4"
# ftyp box so the type sniffs as video/mp4; the rest is incompressible.
printf '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom' >"$SRC"
head -c $((SIZE_MIB * 1024 * 1024 - 24)) /dev/urandom >>"$SRC"
BYTES=$(stat -c %s "$SRC")

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MEDIAQ_DATA_DIR="$WORK/data" MEDIAQ_LISTEN="127.0.0.1:$PORT" MEDIAQ_MAX_UPLOAD_BYTES=$((BYTES * 2)) MEDIAQ_LOG=warn
KEY=$("$BIN" key create --user bench)
"$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
# Warm up (first request paths, allocator), then read the baseline RSS.
head -c 4096 "$SRC" >"$WORK/small.mp4"
curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -F "file=@$WORK/small.mp4" "http://127.0.0.1:$PORT/api/v1/files"
RSS_BEFORE=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)

for ROUND in $(seq 1 "$ROUNDS"); do
    # Baseline: the same bytes written to the same disk, flushed.
    sync
    DD_START=$(date +%s.%N)
    dd if="$SRC" of="$WORK/dd.out" bs=1M conv=fdatasync status=none
    DD_END=$(date +%s.%N)
    rm -f "$WORK/dd.out"
    sync
    # Reset the peak so VmHWM measures this upload alone.
    echo 5 >/proc/$PID/clear_refs 2>/dev/null || true
    HWM_BEFORE=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
    UP_START=$(date +%s.%N)
    CODE=$(curl -s -o "$WORK/answer.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" -F "file=@$SRC" "http://127.0.0.1:$PORT/api/v1/files")
    UP_END=$(date +%s.%N)
    HWM_AFTER=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
    [ "$CODE" = 202 ] || { echo "upload failed: HTTP $CODE"; cat "$WORK/answer.json"; exit 1; }
    echo "$DD_START $DD_END $UP_START $UP_END $HWM_BEFORE $HWM_AFTER" >>"$WORK/rounds"
    # The stored copy goes, so every round writes to the same free space.
    rm -rf "$WORK/data/objects/media"
done

python3 - "$BYTES" "$RSS_BEFORE" "$WORK/rounds" <<'PY'
import statistics, sys
b, rss0, rounds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
mb = b / 1e6
print(f"size               {b / 2**20:.0f} MiB")
dds, ups, growths = [], [], []
for n, line in enumerate(open(rounds), 1):
    dd0, dd1, up0, up1, hwm0, hwm1 = line.split()
    dd = mb / (float(dd1) - float(dd0)); up = mb / (float(up1) - float(up0))
    # clear_refs reset the peak (VmHWM) to the current RSS just before the upload.
    growth = (int(hwm1) - int(hwm0)) / 1024
    dds.append(dd); ups.append(up); growths.append(growth)
    print(f"round {n}: dd conv=fdatasync {dd:7.1f} MB/s, mediaq upload {up:7.1f} MB/s, ratio {up / dd:5.2f}x, peak RSS +{growth:.1f} MiB")
dd, up = statistics.median(dds), statistics.median(ups)
print(f"dd conv=fdatasync  {dd:8.1f} MB/s  (median)")
print(f"mediaq upload      {up:8.1f} MB/s  (median; multipart POST /api/v1/files, SHA-256, fsync'd)")
print(f"ratio              {statistics.median(u / d for u, d in zip(ups, dds)):8.2f}x dd  (median of the pairs; goal >= 0.80)")
print(f"server peak RSS    +{max(growths):.1f} MiB at most over the idle {rss0 / 1024:.1f} MiB  (goal < 64 MiB)")
PY
