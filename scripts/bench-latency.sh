#!/usr/bin/env bash
# Upload → ready latency on both stacks: the Chevereto upload (answered
# once processing settled) of a 1680×1050 (1.8 MP) and a 5120×2880
# (14.7 MP) JPEG, 25 times one after another after two warm-ups, with the
# release binary. Embedded: `mediaq all` (SQLite + files); production:
# `mediaq serve` + two `mediaq work` (PostgreSQL + Redis + S3, started by
# scripts/test.sh). Prints one `LATENCY …` line per stack and file.
#   scripts/bench-latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_target_dir
cargo build --release --bin mediaq --quiet
export MEDIAQ_BIN="$CARGO_TARGET_DIR/release/mediaq"
MEDIAQ_TEST_SKIP_LINT=1 bash scripts/test.sh -p mediaq-tests --test e2e -- latency --ignored --nocapture \
    --test-threads 1 2>&1 | grep -E '^LATENCY|panicked|FAILED' || true
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
