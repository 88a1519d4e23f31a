#!/usr/bin/env bash
# Upload → ready latency on both stacks: the Chevereto upload (answered
# once processing settled) of a 1680×1050 (1.8 MP) and a 5120×2880
# (14.7 MP) JPEG, 25 times one after another after two warm-ups, with the
# release binary. Embedded: `mediaq all` (SQLite + files); production:
# `mediaq serve` + two `mediaq work` (PostgreSQL + Redis + S3, started by
# scripts/test.sh). Prints one `LATENCY …` line per stack and file, then
# vipsthumbnail making the same two derivatives of the 14.7 MP JPEG (the
# 160×160 cropped thumb and the 500 px wide medium, one run each, as a
# worker would be asked for them: median of 9) and the ratio of its time to
# each stack's p50 (goal: ≥ 1, mediaq no slower).
#   scripts/bench-latency.sh        (BENCH_BIN=PATH: that binary, no build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_target_dir
if [ -z "${BENCH_BIN:-}" ]; then
    cargo build --release --bin mediaq --quiet
fi
export MEDIAQ_BIN="${BENCH_BIN:-$CARGO_TARGET_DIR/release/mediaq}"
command -v vipsthumbnail >/dev/null || mediaq_ensure_packages libvips-tools
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
MEDIAQ_TEST_SKIP_LINT=1 bash scripts/test.sh -p mediaq-tests --test e2e -- latency --ignored --nocapture \
    --test-threads 1 2>&1 | grep -E '^LATENCY|panicked|FAILED' | tee "$OUT/latency" || true
BIG=../shared/corpus/kde_Volna_5120.jpg
python3 - "$BIG" "$OUT" <<'PY'
import re, statistics, subprocess, sys, time
big, out = sys.argv[1], sys.argv[2]
runs = []
for _ in range(9):
    start = time.perf_counter()
    subprocess.run(["vipsthumbnail", "--size", "160x160", "--smartcrop", "centre", "-o", f"{out}/%s_t.jpg[Q=85]", big], check=True)
    subprocess.run(["vipsthumbnail", "--size", "500x", "-o", f"{out}/%s_m.jpg[Q=85]", big], check=True)
    runs.append(time.perf_counter() - start)
vips = statistics.median(runs) * 1000
print(f"VIPS kde_Volna_5120.jpg: thumb + medium {vips:.0f} ms (median of 9)")
for line in open(f"{out}/latency"):
    m = re.match(r"LATENCY (\w+) kde_Volna_5120\.jpg: upload→ready p50 (\d+) ms", line)
    if m:
        print(f"RATIO {m[1]} 14.7 MP: vipsthumbnail {vips:.0f} ms / mediaq p50 {m[2]} ms = {vips / int(m[2]):.2f}x (goal >= 1)")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
