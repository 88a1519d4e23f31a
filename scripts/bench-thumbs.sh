#!/usr/bin/env bash
# Thumbnail benchmark: mediaq's image pipeline against libvips'
# `vipsthumbnail`, on one core, over every image of the corpus
# (*.jpg, *.png, *.webp, *.gif), making a 160×160 cropped thumb and a
# 500 px wide medium (for images wider than 500 px) — JPEG q85, PNG where
# the image has alpha — then the peak memory of processing 5120×2880
# images against their decoded size.
#
#   scripts/bench-thumbs.sh [CORPUS_DIR] [ROUNDS]
#
# Both sides run pinned to one CPU (taskset), vips with VIPS_CONCURRENCY=1,
# ROUNDS times each (default 5), alternating, after a warm-up; the best
# and the median round are printed, by wall time and by CPU time (the
# latter is what to compare when other work shares the machine). Each mediaq round reads every file and
# calls `image::process` once per image in one process (bench target
# `thumbs`); each vips round is four `vipsthumbnail` runs over many files
# (thumbs and mediums, JPEG and PNG), process start-up included.
# vipsthumbnail writes one output per run, so it decodes each image once
# per output; mediaq decodes once for both: that is part of the design
# being measured.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
command -v vipsthumbnail >/dev/null || mediaq_ensure_packages libvips-tools
mediaq_ensure_packages "${MEDIAQ_BUILD_PACKAGES[@]}"
mediaq_target_dir
. scripts/bench-lib.sh

CORPUS=${1:-../shared/corpus}
ROUNDS=${2:-5}
CPU=${BENCH_CPU:-0}
shopt -s nullglob
FILES=("$CORPUS"/*.jpg "$CORPUS"/*.png "$CORPUS"/*.webp "$CORPUS"/*.gif)
[ ${#FILES[@]} -gt 0 ] || { echo "no images in $CORPUS" >&2; exit 1; }

echo "==> building the benchmark (release)" >&2
BIN=$(cargo bench -p mediaq-workers --bench thumbs --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "thumbs" and m.get("executable"):
        print(m["executable"])')
[ -x "$BIN" ] || { echo "benchmark binary not built; run: cargo bench -p mediaq-workers --bench thumbs --no-run" >&2; exit 1; }

# vipsthumbnail makes the same outputs, grouped by output format.
bench_vips_groups "${FILES[@]}"
OUT=$(mktemp -d /tmp/bench-thumbs.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export OUT BIN

# Rounds alternate between the two, so load from elsewhere on the machine
# falls on both alike.
echo "==> ${#FILES[@]} images, $ROUNDS rounds each, alternating, CPU $CPU; $(vips --version)" >&2
VIPS_CONCURRENCY=1 taskset -c "$CPU" python3 - "$ROUNDS" "${FILES[*]@Q}" \
    "${OPAQUE[*]@Q}" "${ALPHA[*]@Q}" "${WIDE_OPAQUE[*]@Q}" "${WIDE_ALPHA[*]@Q}" <<'PY'
import os, re, resource, shlex, subprocess, sys, time
rounds = int(sys.argv[1])
files, opaque, alpha, wide_opaque, wide_alpha = (shlex.split(a) for a in sys.argv[2:7])
out, binary = os.environ["OUT"], os.environ["BIN"]
thumb, medium = ["--size", "160x160", "--smartcrop", "centre"], ["--size", "500x"]
vips_runs = [(thumb, f"{out}/%s_t.jpg[Q=85]", opaque), (thumb, f"{out}/%s_t.png", alpha),
             (medium, f"{out}/%s_m.jpg[Q=85]", wide_opaque), (medium, f"{out}/%s_m.png", wide_alpha)]

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def vips_round():
    start, cpu = time.perf_counter(), children_cpu()
    for args, target, group in vips_runs:
        if group:
            # stderr dropped: vips warns about odd EXIF units on some corpus files.
            subprocess.run(["vipsthumbnail", *args, "-o", target, *group], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu() - cpu

def mediaq_round():
    # `speed 1` warms up with one untimed round, then times one.
    report = subprocess.run([binary, "speed", "1", *files], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"best ([\d.]+) s", report).group(1)), float(re.search(r"cpu best ([\d.]+) s", report).group(1))

vips_round()  # warm the page cache and vips' shared libraries
times = {"mediaq": [], "vipsthumbnail": []}
for _ in range(rounds):
    times["mediaq"].append(mediaq_round())
    times["vipsthumbnail"].append(vips_round())
rates = {}
for name, pairs in times.items():
    rates[name] = {}
    for kind, ts in (("wall", sorted(p[0] for p in pairs)), ("cpu", sorted(p[1] for p in pairs))):
        best, median = ts[0], ts[len(ts) // 2]
        rates[name][kind] = (len(files) / best, len(files) / median)
        print(f"{name}: {len(files)} images, thumb + medium, {kind} time best {best:.3f} s "
              f"({len(files) / best:.2f} images/s), median {median:.3f} s ({len(files) / median:.2f} images/s)")
for kind in ("cpu", "wall"):
    m, v = rates["mediaq"][kind], rates["vipsthumbnail"][kind]
    print(f"ratio mediaq / vipsthumbnail by {kind} time: best {m[0] / v[0]:.2f}x, median {m[1] / v[1]:.2f}x")
PY

echo "==> peak memory of one large image (one process each)" >&2
# Baseline and progressive JPEG, RGB and RGBA PNG; then with the stored
# image resized (Chevereto's `width`), which needs a full-size decode.
for spec in kde_SafeLanding_5120.jpg kde_Volna_5120.jpg kde_Altai_5120.png kde_Patak_5120_alpha.png \
    "kde_SafeLanding_5120.jpg 2560" "kde_Altai_5120.png 2560"; do
    read -r name width <<<"$spec"
    [ -f "$CORPUS/$name" ] || continue
    /usr/bin/time -o "$OUT/time" -f "  max RSS of the whole process: %M KiB" taskset -c "$CPU" "$BIN" memory "$CORPUS/$name" $width
    cat "$OUT/time"
done
