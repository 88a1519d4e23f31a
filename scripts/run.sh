#!/usr/bin/env bash
# Runs mediaq on its embedded default: SQLite database and job queue, files
# under ./data, API and web app on http://127.0.0.1:8080. Installs build
# dependencies first when missing, and builds once into ~/.cache/mediaq/target
# (release). Extra arguments go to mediaq, run from the same build and the
# same ./data: `scripts/run.sh serve`, `scripts/run.sh key create --user alice`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}"
mediaq_target_dir
case "${1:-all}" in
all | serve)
    cat >&2 <<'TXT'
==> building and starting mediaq (embedded: ./data). Open http://127.0.0.1:8080/ in a browser.
    Make the first administrator in another shell (prints an API key; sign in with it on the page):
      scripts/run.sh key create --user admin --admin
    or upload from the command line with a key:
      curl -H "X-API-Key: KEY" -F source=@photo.jpg http://127.0.0.1:8080/api/1/upload
TXT
    exec cargo run --release -- "$@"
    ;;
*)
    # Reuses the server's build (a no-op check once built); only the
    # command's own output reaches stdout.
    exec cargo run --release --quiet -- "$@"
    ;;
esac
