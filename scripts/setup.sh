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
MEDIAQ_TEST_PACKAGES=(redis-server postgresql ffmpeg curl python3)

# Build output lives outside the clone, in one cache dir per machine, so a
# fresh clone (as CI makes) reuses what this machine already built.
mediaq_target_dir() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mediaq/target}"
    mkdir -p "$CARGO_TARGET_DIR"
}
