#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then the end-to-end suite on both
# stacks — embedded (SQLite + files + SQLite queue) and production
# (PostgreSQL + Redis + an S3 server). Installs what is missing, starts
# PostgreSQL, Redis and s3s-fs on free loopback ports in a temporary
# directory, and stops them on exit. Extra arguments go to `cargo test`.
#
# First the house rules: `cargo fmt --check` and `cargo clippy -D warnings`
# over the whole workspace; either failing fails the run (set
# MEDIAQ_TEST_SKIP_LINT=1 to skip them while iterating on one test).
# The last line printed is the totals of every test binary of the run
# (unit, end-to-end and doc tests): `N passed, N failed`. The exit status
# is cargo's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}" "${MEDIAQ_TEST_PACKAGES[@]}"
mediaq_target_dir
mediaq_python_venv

if [ "${MEDIAQ_TEST_SKIP_LINT:-0}" != 1 ]; then
    # rustup's default profile has both; a minimal one may not.
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        echo "==> installing rustfmt and clippy" >&2
        rustup component add rustfmt clippy
    fi
    echo "==> cargo fmt --all --check" >&2
    cargo fmt --all --check
    echo "==> cargo clippy --workspace --all-targets -- -D warnings" >&2
    cargo clippy --workspace --all-targets --quiet -- -D warnings
fi

# The S3 server: s3s-fs, which checks SigV4 signatures and presigned
# URLs (tools/s3-fs, built once).
echo "==> building the S3 test server (tools/s3-fs; once)" >&2
mediaq_s3_server

# Stock clients of the resumable-upload tests, from their registries,
# cached under ~/.cache/mediaq: the Python ones (mediaq_python_venv,
# above), tus-js-client and the Uppy 5 bundle with npm (mediaq_node_clients);
# Chromium and its driver from Debian.
CLIENTS="$HOME/.cache/mediaq"
mediaq_ensure_packages chromium chromium-driver
mediaq_node_clients

# promtool (the metrics test checks /metrics with it): taken out of
# Debian's prometheus package into ~/.cache/mediaq/bin without installing
# the package, which would start a Prometheus server.
if ! command -v promtool >/dev/null 2>&1 && [ ! -x "$CLIENTS/bin/promtool" ]; then
    echo "==> unpacking promtool from the prometheus package (once)" >&2
    PROM_TMP=$(mktemp -d)
    (cd "$PROM_TMP" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; }; } \
        && dpkg-deb -x prometheus_*.deb root)
    mkdir -p "$CLIENTS/bin"
    cp "$PROM_TMP/root/usr/bin/promtool" "$CLIENTS/bin/promtool"
    rm -rf "$PROM_TMP"
fi
MEDIAQ_TEST_PROMTOOL=$(command -v promtool || echo "$CLIENTS/bin/promtool")
export MEDIAQ_TEST_PROMTOOL

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for NAME COMMAND...
    local name=$1; shift
    for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "$name did not start" >&2; return 1
}

WORK=$(mktemp -d /tmp/mediaq-test.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
cleanup() {
    set +e
    [ -f "$WORK/pg/postmaster.pid" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# Redis
REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --databases 64 --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_for redis redis-cli -p "$REDIS_PORT" ping

# PostgreSQL (initdb refuses to run as root: run it as the postgres user)
PG_PORT=$(free_port)
mkdir -p "$WORK/pg" "$WORK/pgsock"
chown postgres "$WORK/pg" "$WORK/pgsock"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg" -U mediaq --auth=trust >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w \
    -o "-p $PG_PORT -k $WORK/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
runuser -u postgres -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U mediaq mediaq_test_template

# S3 (s3s-fs keeps each bucket as a directory)
S3_PORT=$(free_port)
mkdir -p "$WORK/s3"
"$MEDIAQ_S3_SERVER" --host 127.0.0.1 --port "$S3_PORT" --access-key mediaq-test --secret-key mediaq-test-secret "$WORK/s3" >"$WORK/s3.log" 2>&1 &
PIDS+=($!)
wait_for s3s-fs curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"

# The end-to-end suite creates its own databases, Redis key prefixes and
# buckets from these.
export MEDIAQ_TEST_POSTGRES_URL="postgres://mediaq@127.0.0.1:$PG_PORT"
export MEDIAQ_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export MEDIAQ_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export MEDIAQ_TEST_S3_ROOT="$WORK/s3"
export MEDIAQ_TEST_S3_ACCESS_KEY=mediaq-test
export MEDIAQ_TEST_S3_SECRET_KEY=mediaq-test-secret

echo "==> building" >&2
cargo build --bin mediaq
echo "==> testing (postgres :$PG_PORT, redis :$REDIS_PORT, s3 :$S3_PORT)" >&2
# Keep cargo's status, and sum every binary's `test result:` line.
set +e
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$WORK/test.log"
STATUS=${PIPESTATUS[0]}
set -e
awk '/^test result:/ {
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^passed;?$/) passed += $(i - 1)
            if ($i ~ /^failed;?$/) failed += $(i - 1)
        }
    }
    END { printf "%d passed, %d failed\n", passed, failed }' "$WORK/test.log"
exit "$STATUS"
