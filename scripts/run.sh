#!/usr/bin/env bash
# Runs mediaq on its embedded default: SQLite database and job queue, files
# under ./data, API on http://127.0.0.1:8080. Installs build dependencies
# first when missing. Extra arguments go to mediaq (e.g. `serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}"
mediaq_target_dir
cat >&2 <<'TXT'
==> building and starting mediaq (embedded: ./data). Create an API key in another shell with:
      cargo run --release -- key create --user alice
    then upload:
      curl -H "X-API-Key: KEY" -F source=@photo.jpg http://127.0.0.1:8080/api/1/upload
TXT
exec cargo run --release -- "$@"
