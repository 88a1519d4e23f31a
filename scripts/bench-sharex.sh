#!/usr/bin/env bash
# Uploads with thumbnails end to end over HTTP, as a screenshot tool sends
# them, against vipsthumbnail in batch over the same photos.
#
# mediaq: every corpus photo (*.jpg, *.png) is uploaded one after another
# to `mediaq all` (embedded default) the way ShareX does it — a multipart
# `POST /api/1/upload` with the key, `source` file part, answered once
# processing settled (thumb + medium made) — over one kept-alive
# connection; the next upload starts when the answer came.
# vipsthumbnail: the same 160×160 cropped thumb and 500 px wide medium,
# run in batch: one process per output kind over all files (thumbs and
# mediums, JPEG for opaque images, PNG for images with alpha), at VIPS'
# default concurrency — "two runs over all files: the library's own cost".
#
# Rounds alternate (vips, mediaq, vips, …), so load from elsewhere falls
# on both alike; each round's times are printed, then the medians, the
# ratio (vips time / mediaq time: mediaq's throughput in multiples of
# vipsthumbnail's; goal >= 2) and the load average.
#   scripts/bench-sharex.sh [ROUNDS] [CORPUS_DIR]   (default 5 ../shared/corpus)
# MEDIAQ_BENCH_SKIP_BUILD=1 uses the release binary as it is; BENCH_BIN=PATH
# measures that binary instead (before/after figures).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
. scripts/bench-lib.sh
command -v vipsthumbnail >/dev/null || mediaq_ensure_packages libvips-tools
mediaq_ensure_packages curl python3
mediaq_target_dir
ROUNDS=${1:-5}
CORPUS=${2:-../shared/corpus}
shopt -s nullglob
FILES=("$CORPUS"/*.jpg "$CORPUS"/*.png)
[ ${#FILES[@]} -gt 0 ] || { echo "no photos in $CORPUS" >&2; exit 1; }

bench_init sharex
bench_build
KEY=$(MEDIAQ_DATA_DIR="$WORK/data" "$BIN" key create --user bench)
bench_serve all

# vipsthumbnail writes one output format per run: group by alpha and width.
bench_vips_groups "${FILES[@]}"
mkdir -p "$WORK/vips"
export OUT="$WORK/vips" URL KEY

echo "==> ${#FILES[@]} photos, $ROUNDS rounds each, alternating; $(vips --version); $(nproc) cores" >&2
python3 - "$ROUNDS" "${FILES[*]@Q}" "${OPAQUE[*]@Q}" "${ALPHA[*]@Q}" "${WIDE_OPAQUE[*]@Q}" "${WIDE_ALPHA[*]@Q}" <<'PY'
import http.client, json, os, shlex, statistics, subprocess, sys, time, urllib.parse, uuid
rounds = int(sys.argv[1])
files, opaque, alpha, wide_opaque, wide_alpha = (shlex.split(a) for a in sys.argv[2:7])
out, url, key = os.environ["OUT"], urllib.parse.urlparse(os.environ["URL"]), os.environ["KEY"]
thumb, medium = ["--size", "160x160", "--smartcrop", "centre"], ["--size", "500x"]
vips_runs = [(thumb, f"{out}/%s_t.jpg[Q=85]", opaque), (thumb, f"{out}/%s_t.png", alpha),
             (medium, f"{out}/%s_m.jpg[Q=85]", wide_opaque), (medium, f"{out}/%s_m.png", wide_alpha)]
bodies = {}
for f in files:
    boundary = uuid.uuid4().hex
    with open(f, "rb") as fh:
        data = fh.read()
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n{key}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\njson\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"source\"; filename=\"{os.path.basename(f)}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    bodies[f] = (boundary, head + data + f"\r\n--{boundary}--\r\n".encode())

def vips_round():
    start = time.perf_counter()
    for args, target, group in vips_runs:
        if group:
            # stderr dropped: vips warns about odd EXIF units on some corpus files.
            subprocess.run(["vipsthumbnail", *args, "-o", target, *group], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start

conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)

def mediaq_round():
    start = time.perf_counter()
    for f in files:
        boundary, body = bodies[f]
        conn.request("POST", "/api/1/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        resp = conn.getresponse()
        answer = resp.read()
        image = json.loads(answer).get("image") or {}
        if resp.status != 200 or not image.get("thumb") or not image.get("width"):
            sys.exit(f"{f}: HTTP {resp.status}, not answered with a processed image: {answer[:300]!r}")
    return time.perf_counter() - start

vips_round(); mediaq_round()  # warm-up: page cache, shared libraries, first request paths
times = {"vipsthumbnail": [], "mediaq": []}
for n in range(1, rounds + 1):
    v = vips_round(); m = mediaq_round()
    times["vipsthumbnail"].append(v); times["mediaq"].append(m)
    print(f"round {n}: vipsthumbnail batch {v:.3f} s, mediaq uploads {m:.3f} s, ratio {v / m:.2f}x "
          f"(load {os.getloadavg()[0]:.2f})")
v, m = statistics.median(times["vipsthumbnail"]), statistics.median(times["mediaq"])
print(f"vipsthumbnail batch  {v:.3f} s  (median; {len(files)} photos, thumb + medium, 4 runs over the files)")
print(f"mediaq uploads       {m:.3f} s  (median; {len(files)} ShareX-style uploads over HTTP, one after another, "
      f"{m / len(files) * 1000:.0f} ms each)")
print(f"ratio                {v / m:.2f}x  (vipsthumbnail time / mediaq time; goal >= 2)")
print("load average         " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
PY
