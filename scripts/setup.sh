# Installs what building and testing mediaq need on Debian/Ubuntu, when
# missing. Sourced by run.sh and test.sh; safe to run again.

# System packages: FFmpeg development libraries and libclang (ffmpeg-next
# bindings), pkg-config, cmake and nasm (bundled C codecs), and for the
# test suite Redis, PostgreSQL and ffmpeg/vips tools.
mediaq_ensure_packages() {
    local wanted=("$@") missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing system packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

MEDIAQ_BUILD_PACKAGES=(pkg-config clang libclang-dev cmake nasm
    libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev)
MEDIAQ_TEST_PACKAGES=(redis-server postgresql ffmpeg curl python3 python3-venv unzip
    chromium chromium-driver)

# Python clients the tests drive (tuspy, selenium, standardwebhooks,
# schemathesis…), pinned in scripts/test-requirements.txt: one list, one
# venv (~/.cache/mediaq/venv), installed again only when the list changes.
mediaq_python_venv() {
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/mediaq/venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    local want
    want=$(sha256sum scripts/test-requirements.txt | cut -d' ' -f1)
    if [ "$(cat "$venv/.mediaq-requirements" 2>/dev/null)" != "$want" ]; then
        echo "==> installing the python test clients (scripts/test-requirements.txt)" >&2
        "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/test-requirements.txt
        echo "$want" >"$venv/.mediaq-requirements"
    fi
    export MEDIAQ_TEST_PYTHON="$venv/bin/python"
}

# The Node clients the tests (and bench-tus.sh) drive: tus-js-client and
# the Uppy 5 bundle from npm, under ~/.cache/mediaq/node, installed once.
mediaq_node_clients() {
    local dir="$HOME/.cache/mediaq/node"
    command -v npm >/dev/null 2>&1 || mediaq_ensure_packages nodejs npm
    mkdir -p "$dir"
    if [ ! -f "$dir/node_modules/tus-js-client/package.json" ] || [ ! -f "$dir/node_modules/uppy/package.json" ]; then
        echo "==> installing tus-js-client and uppy (once)" >&2
        [ -f "$dir/package.json" ] || echo '{"name":"mediaq-test-clients","private":true}' >"$dir/package.json"
        (cd "$dir" && npm install --no-audit --no-fund --silent tus-js-client@4.3.1 uppy@5.2.4)
    fi
    export MEDIAQ_TEST_NODE_MODULES="$dir/node_modules"
}

# Build output lives outside the clone, in one cache dir per machine, so a
# fresh clone (as CI makes) reuses what this machine already built.
mediaq_target_dir() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mediaq/target}"
    mkdir -p "$CARGO_TARGET_DIR"
}

# The S3 server of the tests and benchmarks (tools/s3-fs: the s3s-fs
# library with TCP_NODELAY on its connections), built once into the cache
# dir and again only when its source changes; sets $MEDIAQ_S3_SERVER.
mediaq_s3_server() {
    local target="${XDG_CACHE_HOME:-$HOME/.cache}/mediaq/s3-fs-target"
    cargo build --release --quiet --locked --manifest-path tools/s3-fs/Cargo.toml --target-dir "$target"
    export MEDIAQ_S3_SERVER="$target/release/mediaq-s3-fs"
}
