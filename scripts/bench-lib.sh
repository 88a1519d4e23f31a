# Helpers shared by the upload benchmarks (sourced, after scripts/setup.sh,
# from the repository root). They keep one work directory ($WORK), the
# processes they start ($BENCH_PIDS) and a PostgreSQL cluster, if any,
# and remove them all on exit.
#
#   bench_init NAME             $WORK (under $TMPDIR or /var/tmp) and the exit trap
#   bench_build [PROFILE]       builds `mediaq` (release unless PROFILE=debug,
#                               skipped with MEDIAQ_BENCH_SKIP_BUILD=1); sets $BIN
#                               (BENCH_BIN=PATH: that binary, no build)
#   bench_source PATH MIB       an MP4 header then random bytes (sniffs as video/mp4)
#   bench_dd PATH               `dd … conv=fdatasync` of PATH on the same disk;
#                               prints its MB/s
#   bench_free_port             a free loopback port
#   bench_production            starts PostgreSQL, Redis and s3s-fs in $WORK and
#                               exports the MEDIAQ_* settings of a production stack
#   bench_serve CMD...          starts `$BIN CMD` on a free port (log in $WORK),
#                               waits for /readyz; sets $PID and $URL
#   bench_rss / bench_peak      the RSS / peak RSS (VmHWM) of $PID, in KiB
#   bench_reset_peak            resets the peak, so it measures from now on
#   bench_now                   seconds since the epoch, with nanoseconds
#   bench_mbps BYTES START END  MB/s

BENCH_PIDS=()
# Also removed on exit (a directory outside $WORK, e.g. on tmpfs).
BENCH_EXTRA_DIR=""
PG_DIR=""

bench_cleanup() {
    set +e
    [ -n "$PG_DIR" ] && [ -f "$PG_DIR/postmaster.pid" ] &&
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR" -m immediate stop >/dev/null 2>&1
    for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
    [ -n "$BENCH_EXTRA_DIR" ] && rm -rf "$BENCH_EXTRA_DIR"
}

bench_init() {
    WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mediaq-$1.XXXXXX")
    chmod 755 "$WORK"
    trap bench_cleanup EXIT
}

bench_build() {
    local profile=${1:-release}
    if [ -n "${BENCH_BIN:-}" ]; then
        BIN=$BENCH_BIN
        return
    fi
    if [ "${MEDIAQ_BENCH_SKIP_BUILD:-0}" != 1 ]; then
        if [ "$profile" = release ]; then
            cargo build --release --bin mediaq --quiet
        else
            cargo build --bin mediaq --quiet
        fi
    fi
    BIN="$CARGO_TARGET_DIR/$profile/mediaq"
}

bench_source() {
    printf '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom' >"$1"
    head -c $(($2 * 1024 * 1024 - 24)) /dev/urandom >>"$1"
}

bench_now() { date +%s.%N; }

bench_mbps() { python3 -c 'import sys; b, s, e = sys.argv[1:]; print(f"{int(b) / 1e6 / (float(e) - float(s)):.0f}")' "$@"; }

bench_dd() {
    local start end
    sync
    start=$(bench_now)
    dd if="$1" of="$WORK/dd.out" bs=1M conv=fdatasync status=none
    end=$(bench_now)
    rm -f "$WORK/dd.out"
    sync
    bench_mbps "$(stat -c %s "$1")" "$start" "$end"
}

bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bench_wait() { # bench_wait NAME COMMAND...
    local name=$1
    shift
    for _ in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "$name did not start" >&2
    return 1
}

bench_production() {
    mediaq_ensure_packages redis-server postgresql
    mediaq_s3_server
    local redis_port pg_port s3_port
    redis_port=$(bench_free_port)
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
    BENCH_PIDS+=($!)
    bench_wait redis redis-cli -p "$redis_port" ping
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    PG_DIR="$WORK/pg"
    pg_port=$(bench_free_port)
    mkdir -p "$PG_DIR" "$WORK/pgsock"
    chown postgres "$PG_DIR" "$WORK/pgsock"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR" -U mediaq --auth=trust >/dev/null
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/log" -w \
        -o "-p $pg_port -k $WORK/pgsock -c listen_addresses=127.0.0.1" start >/dev/null
    runuser -u postgres -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U mediaq mediaq
    s3_port=$(bench_free_port)
    mkdir -p "$WORK/s3/bench"
    "$MEDIAQ_S3_SERVER" --host 127.0.0.1 --port "$s3_port" --access-key bench --secret-key bench-secret "$WORK/s3" \
        >"$WORK/s3.log" 2>&1 &
    BENCH_PIDS+=($!)
    bench_wait s3s-fs curl -s -o /dev/null "http://127.0.0.1:$s3_port/"
    export MEDIAQ_DATABASE_URL="postgres://mediaq@127.0.0.1:$pg_port/mediaq"
    export MEDIAQ_QUEUE_URL="redis://127.0.0.1:$redis_port" MEDIAQ_STORAGE=s3
    export MEDIAQ_S3_ENDPOINT="http://127.0.0.1:$s3_port" MEDIAQ_S3_BUCKET=bench MEDIAQ_S3_REGION=us-east-1
    export MEDIAQ_S3_ACCESS_KEY=bench MEDIAQ_S3_SECRET_KEY=bench-secret
    export MEDIAQ_SIGNING_SECRET=bench-signing-secret-0123456789-abcdefghij
}

bench_serve() {
    local port
    port=$(bench_free_port)
    export MEDIAQ_LISTEN="127.0.0.1:$port" MEDIAQ_DATA_DIR="${MEDIAQ_DATA_DIR:-$WORK/data}" MEDIAQ_LOG=${MEDIAQ_LOG:-warn}
    URL="http://127.0.0.1:$port"
    "$BIN" "$@" >"$WORK/server.log" 2>&1 &
    PID=$!
    BENCH_PIDS+=("$PID")
    bench_wait mediaq curl -sf "$URL/readyz" || { tail -20 "$WORK/server.log" >&2; return 1; }
}

bench_rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
bench_peak() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }
bench_reset_peak() { echo 5 >"/proc/$PID/clear_refs" 2>/dev/null || true; }

# bench_vips_groups FILE...: sorts images for vipsthumbnail, which writes
# one output format per run: OPAQUE and ALPHA (JPEG or PNG thumbs), and
# WIDE_OPAQUE / WIDE_ALPHA, those wider than 500 px (mediums).
bench_vips_groups() {
    OPAQUE=() ALPHA=() WIDE_OPAQUE=() WIDE_ALPHA=()
    local f bands width
    for f in "$@"; do
        bands=$(vipsheader -f bands "$f" 2>/dev/null) width=$(vipsheader -f width "$f" 2>/dev/null)
        if [ "$bands" = 2 ] || [ "$bands" = 4 ]; then
            ALPHA+=("$f"); [ "$width" -gt 500 ] && WIDE_ALPHA+=("$f")
        else
            OPAQUE+=("$f"); [ "$width" -gt 500 ] && WIDE_OPAQUE+=("$f")
        fi
    done
    return 0
}
