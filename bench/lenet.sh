#!/usr/bin/env bash
# LeNet-5 on Fashion-MNIST: panama-cnn vs PyTorch, same run (docs/training.md, "Measured on an idle machine").
#
#   bench/lenet.sh [--epochs N] [--threads "1 2"] [--batch 64]
#
# Trains the same LeNet-5 (same data loaded up front, preprocessing, batch, optimiser: Adam lr 2e-3)
# with ./panama-cnn train and with bench/lenet_torch.py (Debian's python3-torch), for each thread count
# (torch.set_num_threads / --threads). Two PyTorch peers: Debian's default BLAS (the reference BLAS,
# slow fully connected layers) and OpenBLAS (libopenblas0-pthread fetched with `apt-get download`,
# unpacked into a temp dir, LD_LIBRARY_PATH to its openblas-pthread folder, OPENBLAS_NUM_THREADS=1).
# Records time per epoch, test accuracy, batch-256 inference images/s and the median one-image latency
# to bench/results/lenet-<UTC date>.md (table + raw JSON lines).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
epochs=2
threads="1 2"
batch=64
while (($#)); do
    case "$1" in
        --epochs) epochs="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --batch) batch="$2"; shift 2 ;;
        *) echo "usage: bench/lenet.sh [--epochs N] [--threads \"1 2\"] [--batch B]" >&2; exit 2 ;;
    esac
done
die() { echo "bench/lenet.sh: $*" >&2; exit 1; }
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || die "needs /usr/bin/python3 with torch and numpy (apt-get install python3-torch)"
data=/usr/share/datasets/fashion-mnist
[[ -e "$data/t10k-labels-idx1-ubyte.gz" ]] || die "needs $data (apt-get install dataset-fashion-mnist)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/lenet-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
openblas=""
if (cd "$tmp" && apt-get download libopenblas0-pthread >/dev/null 2>&1); then
    dpkg -x "$tmp"/libopenblas0-pthread_*.deb "$tmp/openblas"
    openblas="$(dirname "$(find "$tmp/openblas" -path '*openblas-pthread/libblas.so.3' | head -n 1)")"
fi
[[ -n "$openblas" && -d "$openblas" ]] || echo "bench/lenet.sh: WARNING: could not fetch libopenblas0-pthread (apt-get download); the OpenBLAS peer is skipped" >&2

stamp="$(date -u +%Y-%m-%dT%H%MZ)"
mkdir -p "$root/bench/results"
out="$root/bench/results/lenet-$stamp.md"
raw="$tmp/raw.jsonl"
: >"$raw"
last_json() { grep '^{' "$1" | tail -n 1; }

for t in $threads; do
    echo "== panama-cnn, $t thread(s)" >&2
    "$root/panama-cnn" train --epochs "$epochs" --batch "$batch" --threads "$t" --no-progress --out "$tmp/java$t" \
        --bench-inference >"$tmp/java$t.log" 2>&1 || { cat "$tmp/java$t.log" >&2; die "panama-cnn train failed"; }
    echo "{\"peer\": \"panama-cnn\", \"result\": $(last_json "$tmp/java$t.log")}" >>"$raw"
    echo "== PyTorch (Debian default BLAS), $t thread(s)" >&2
    OMP_NUM_THREADS="$t" /usr/bin/python3 "$root/bench/lenet_torch.py" --epochs "$epochs" --batch "$batch" \
        --threads "$t" >"$tmp/torch$t.log" 2>&1 || { cat "$tmp/torch$t.log" >&2; die "lenet_torch.py failed"; }
    echo "{\"peer\": \"pytorch (reference BLAS)\", \"result\": $(last_json "$tmp/torch$t.log")}" >>"$raw"
    if [[ -n "$openblas" ]]; then
        echo "== PyTorch (OpenBLAS), $t thread(s)" >&2
        LD_LIBRARY_PATH="$openblas" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS="$t" /usr/bin/python3 \
            "$root/bench/lenet_torch.py" --epochs "$epochs" --batch "$batch" --threads "$t" \
            >"$tmp/torchob$t.log" 2>&1 || { cat "$tmp/torchob$t.log" >&2; die "lenet_torch.py (OpenBLAS) failed"; }
        echo "{\"peer\": \"pytorch (OpenBLAS)\", \"result\": $(last_json "$tmp/torchob$t.log")}" >>"$raw"
    fi
done

/usr/bin/python3 - "$raw" "$out" "$stamp" "$epochs" "$batch" <<'PY'
import json, statistics, sys, platform
raw, out, stamp, epochs, batch = sys.argv[1:6]
rows = [json.loads(l) for l in open(raw) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
with open(out, "w") as f:
    f.write("# LeNet-5 on Fashion-MNIST, %s\n\n" % stamp)
    f.write("CPU: %s; %s epoch(s), batch %s, Adam lr 2e-3, data loaded up front; `bench/lenet.sh`.\n" % (cpu, epochs, batch))
    f.write("Epoch time: median over the epochs (training only). Ratios: panama-cnn / PyTorch-OpenBLAS, same thread count.\n\n")
    f.write("| peer | threads | s/epoch | test acc. (last epoch) | batch-256 images/s | 1-image median latency (us) |\n")
    f.write("|---|---|---|---|---|---|\n")
    by = {}
    for r in rows:
        res = r["result"]
        ep = statistics.median(res["epoch_seconds"])
        by[(r["peer"], res["threads"])] = (ep, res["latency1_median_us"], res["infer256_images_per_s"])
        f.write("| %s | %d | %.2f | %.2f%% | %.0f | %.1f |\n" % (r["peer"], res["threads"], ep, res["accuracy"][-1],
                res["infer256_images_per_s"], res["latency1_median_us"]))
    f.write("\n")
    for (peer, t), (ep, lat, thr) in sorted(by.items()):
        if peer == "panama-cnn" and ("pytorch (OpenBLAS)", t) in by:
            oep, olat, othr = by[("pytorch (OpenBLAS)", t)]
            f.write("- %d thread(s): epoch time %.2fx PyTorch-OpenBLAS (target <= 0.5), one-image latency %.2fx "
                    "(target <= 0.2), batch-256 throughput %.2fx\n" % (t, ep / oep, lat / olat, thr / othr))
    f.write("\nRaw results:\n\n```\n")
    for r in rows:
        f.write(json.dumps(r) + "\n")
    f.write("```\n")
print(open(out).read())
PY
echo "bench/lenet.sh: wrote $out" >&2
