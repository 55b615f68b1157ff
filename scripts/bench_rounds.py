#!/usr/bin/env python3
"""Merges the rounds of scripts/bench.sh (bench/README.md, "Rounds"); rewrites the first file.

  bench_rounds.py native ROUND1.json [ROUND2.json ...]
      native bench: per row (shape, pass, threads and, for max-pool, same or rotated buffers), each
      time (panama-cnn, every oneDNN variant) keeps its lowest value
      (a time <= 0 means "not measured"); oneDNN best, GFLOP/s and the peak fraction follow; the
      local peak (local_peak_gflops) is the one of the round whose panama-cnn time is kept.
  bench_rounds.py jmh ROUND1.json [ROUND2.json ...]
      JMH: drops the histograms; per benchmark and parameters keeps the round with the lowest
      median and lists every round's median in primaryMetric.roundMedians.
Later files are removed once merged.
"""
import json
import os
import sys


def merge_native(paths):
    paths = [p for p in paths if os.path.exists(p) and os.path.getsize(p) > 0]
    with open(paths[0]) as f:
        doc = json.load(f)
    # "buffers": max-pool rows come twice, with the same buffers every call and rotated among
    # copies (pcnn-bench --pool-buffers); files before that field are all "same"
    def row_key(r):
        return r["shape"], r["pass"], r["threads"], r.get("buffers", "same")

    rows = {row_key(r): r for r in doc["results"]}
    for path in paths[1:]:
        with open(path) as f:
            other = json.load(f)
        for r in other["results"]:
            row = rows.get(row_key(r))
            if row is None:
                continue
            for key in ("pcnn_ms", "onednn_nchw_ms", "onednn_preferred_ms", "onednn_auto_ms"):
                # a time <= 0 means "not measured" (e.g. -1: no oneDNN auto for max-pool)
                if r.get(key) is not None and r[key] > 0 and (row.get(key) is None or row[key] <= 0 or r[key] < row[key]):
                    row[key] = r[key]
                    impl = key.replace("_ms", "_impl")
                    if impl in r:
                        row[impl] = r[impl]
                    if key == "pcnn_ms" and "local_peak_gflops" in r:
                        # the local peak belongs to the round whose time is kept (measured around it)
                        row["local_peak_gflops"] = r["local_peak_gflops"]
    for row in doc["results"]:
        best = [row[k] for k in ("onednn_preferred_ms", "onednn_auto_ms") if row.get(k) is not None and row[k] > 0]
        if best:
            row["onednn_best_ms"] = min(best)
        if row.get("flops") and row.get("pcnn_ms"):
            gflops = row["flops"] / (row["pcnn_ms"] * 1e6)
            if row.get("gflops") and row.get("peak_fraction"):
                row["peak_fraction"] = row["peak_fraction"] * gflops / row["gflops"]
            if row.get("local_peak_gflops"):
                row["local_peak_fraction"] = gflops / row["local_peak_gflops"]
            row["gflops"] = gflops
    doc["rounds"] = len(paths)
    doc["rounds_rule"] = "per row, each time is the lowest of the rounds (later rounds: shapes in reverse order)"
    with open(paths[0], "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    for p in paths[1:]:
        os.remove(p)


def merge_jmh(paths):
    best, order = {}, []
    for path in paths:
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            continue
        with open(path) as f:
            runs = json.load(f)
        for run in runs:
            for metric in [run.get("primaryMetric", {})] + list(run.get("secondaryMetrics", {}).values()):
                metric.pop("rawDataHistogram", None)
                metric.pop("rawData", None)
            key = (run["benchmark"], json.dumps(run.get("params", {}), sort_keys=True))
            median = run["primaryMetric"].get("scorePercentiles", {}).get("50.0", run["primaryMetric"].get("score"))
            if key not in best:
                order.append(key)
                best[key] = (median, run, [median])
            else:
                old_median, _, medians = best[key]
                medians.append(median)
                if median < old_median:
                    best[key] = (median, run, medians)
    runs = []
    for key in order:
        _, run, medians = best[key]
        if len(paths) > 1:
            run["primaryMetric"]["roundMedians"] = medians
        runs.append(run)
    with open(paths[0], "w") as f:
        json.dump(runs, f, indent=2)
        f.write("\n")
    for path in paths[1:]:
        if os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("native", "jmh"):
        sys.exit(__doc__)
    (merge_native if sys.argv[1] == "native" else merge_jmh)(sys.argv[2:])
