#!/usr/bin/env bash
# Worker memory: uploads 1 GiB files of several kinds to `mediaq all` (the
# embedded default: API and workers in one process) and prints, for each,
# the growth of the process's peak RSS (VmHWM in /proc/PID/status, reset
# before each upload) while the upload is received and processed, against
# the 64 MiB goal.
#   scripts/bench-memory.sh [SIZE_MIB]   (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}" curl python3 ffmpeg
mediaq_target_dir
SIZE_MIB=${1:-1024}
cargo build --release --bin mediaq --quiet
BIN="$CARGO_TARGET_DIR/release/mediaq"
CORPUS=../shared/corpus

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mediaq-bench.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MEDIAQ_DATA_DIR="$WORK/data" MEDIAQ_LISTEN="127.0.0.1:$PORT" MEDIAQ_LOG=warn
export MEDIAQ_MAX_UPLOAD_BYTES=$(((SIZE_MIB + 64) * 1024 * 1024))
KEY=$("$BIN" key create --user bench)
"$BIN" all >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

BULK="$WORK/bulk"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$BULK"

hwm() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }

# upload FILE: prints "status seconds" once the media has settled.
upload() {
    local id status="" start end
    start=$(date +%s.%N)
    id=$(curl -sf -H "Authorization: Bearer $KEY" -F "file=@$1" "http://127.0.0.1:$PORT/api/v1/files" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    while :; do
        status=$(curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/v1/files/$id" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
        case "$status" in ready | failed) break ;; esac
        sleep 0.2
    done
    end=$(date +%s.%N)
    echo "$status $(python3 -c "print(f'{$end - $start:.1f}')")"
}

# measure NAME FILE: one upload, its settle status and peak RSS growth.
measure() {
    echo 5 >"/proc/$PID/clear_refs"
    local before after result
    before=$(hwm)
    result=$(upload "$2")
    after=$(hwm)
    rm -f "$2"
    python3 - "$1" "$before" "$after" $result <<'PY'
import sys
name, before, after, status, secs = sys.argv[1:]
growth = (int(after) - int(before)) / 1024
verdict = "ok" if growth < 64 else "OVER"
print(f"{name:<38} {status:<7} {secs:>6} s   peak RSS +{growth:7.1f} MiB  (goal < 64: {verdict})")
PY
}

# Warm up each path with the plain corpus files.
for f in mate_Aqua.jpg skimage_chelsea.png derived_Path_anim.gif derived_TwoWings.webp video_h264_720p_10s.mp4; do
    upload "$CORPUS/$f" >/dev/null
done
echo "idle RSS $(awk '/VmRSS/ {print $2}' "/proc/$PID/status") KiB; each file is ${SIZE_MIB} MiB plus its header"

png_header() { # W H: a PNG signature and IHDR claiming W×H
    python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
w, h = int(sys.argv[1]), int(sys.argv[2])
ihdr = b"IHDR" + struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)))
PY
}

cat "$CORPUS/mate_Aqua.jpg" "$BULK" >"$WORK/f.jpg"
measure "JPEG 2560x1600 + trailing data" "$WORK/f.jpg"
{ head -c 2 "$CORPUS/kde_Volna_5120.jpg"; python3 -c 'import sys; sys.stdout.buffer.write(b"\xff\xc0\x00\x11\x08\x0b\x40\x14\x00\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00")'; cat "$BULK"; } >"$WORK/f.jpg"
measure "JPEG 5120x2880 header + random scan" "$WORK/f.jpg"
{ printf '\xff\xd8\xff'; cat "$BULK"; } >"$WORK/f.jpg"
measure "random bytes with a JPEG magic" "$WORK/f.jpg"
cat "$CORPUS/skimage_chelsea.png" "$BULK" >"$WORK/f.png"
measure "PNG 451x300 + trailing data" "$WORK/f.png"
{ png_header 60000 60000; cat "$BULK"; } >"$WORK/f.png"
measure "PNG header 60000x60000 (over limit)" "$WORK/f.png"
{ png_header 4000 4000; cat "$BULK"; } >"$WORK/f.png"
measure "PNG header 4000x4000 + random data" "$WORK/f.png"
{ printf 'GIF89a'; cat "$BULK"; } >"$WORK/f.gif"
measure "random bytes with a GIF magic" "$WORK/f.gif"
{ printf 'RIFF\xff\xff\xff\x7fWEBPVP8X'; cat "$BULK"; } >"$WORK/f.webp"
measure "random bytes with a WebP magic" "$WORK/f.webp"
{
    cat "$CORPUS/video_h264_720p_10s.mp4"
    python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('>I', $SIZE_MIB * 1048576 + 8) + b'free')"
    cat "$BULK"
} >"$WORK/f.mp4"
measure "MP4 + ${SIZE_MIB} MiB free box (remuxed)" "$WORK/f.mp4"
ffmpeg -v error -nostdin -stream_loop -1 -i "$CORPUS/video_h264_720p_10s.mp4" -c copy \
    -fs $((SIZE_MIB * 1024 * 1024)) -metadata location=+48.8584+002.2945/ "$WORK/f.mp4"
measure "MP4 $(($(stat -c %s "$WORK/f.mp4") / 1048576)) MiB of video (remuxed)" "$WORK/f.mp4"
