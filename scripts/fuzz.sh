#!/usr/bin/env bash
# Builds the libFuzzer harnesses of native/fuzz/ (clang, ASan + UBSan + fuzzer coverage) and
# runs each for a bounded time, up to $PANAMACNN_FUZZ_JOBS of them at once (default: the
# number of CPUs). Prints executions, coverage and findings per harness; exits 1 on any
# finding (its input is saved under the build directory, with the command to replay it).
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS (default 60)] [HARNESS...]
#
# Harnesses: desc conv2d_fwd conv2d_bwd_data conv2d_bwd_weights maxpool2d_fwd maxpool2d_bwd.
# Environment: PANAMACNN_FUZZ_BUILD (build directory, default build/fuzz),
# PANAMACNN_FUZZ_CC (default clang-14, else clang), PANAMACNN_FUZZ_JOBS, PANAMACNN_FUZZ_SEED
# (libFuzzer -seed, default 0: a fresh one per run).
# Each run starts from the checked-in seeds (native/fuzz/corpus/<h>) and regressions plus
# what earlier runs in the same build directory found (<build>/corpus/<h>).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
all=(desc conv2d_fwd conv2d_bwd_data conv2d_bwd_weights maxpool2d_fwd maxpool2d_bwd)
seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a number, got '$seconds'" >&2; exit 2; }
shift || true
harnesses=("$@")
((${#harnesses[@]})) || harnesses=("${all[@]}")
build="${PANAMACNN_FUZZ_BUILD:-$root/build/fuzz}"
jobs="${PANAMACNN_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
# libFuzzer's seed: 0 (the default) draws a new one per run; CI fixes one (.ci/run) so that a
# gate run explores the same inputs every time and a red CI is a regression, not a new
# discovery (long random runs are for finding new bugs, before stopping).
seed="${PANAMACNN_FUZZ_SEED:-0}"
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: PANAMACNN_FUZZ_SEED must be a number, got '$seed'" >&2; exit 2; }

cc="${PANAMACNN_FUZZ_CC:-}"
if [[ -z "$cc" ]]; then
    if command -v clang-14 >/dev/null 2>&1; then cc=clang-14; else cc=clang; fi
fi
command -v "$cc" >/dev/null 2>&1 || {
    echo "fuzz.sh: no clang ('$cc') on PATH. Debian: apt-get install clang-14 libclang-rt-14-dev" >&2
    exit 2
}
probe="$(mktemp -d)"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
    echo "fuzz.sh: $cc cannot link a libFuzzer + ASan + UBSan program:" >&2
    cat "$probe/err" >&2
    echo "Debian: apt-get install clang-14 libclang-rt-14-dev (libFuzzer and the sanitizer runtimes)" >&2
    rm -rf "$probe"
    exit 2
fi
rm -rf "$probe"

echo "fuzz.sh: building the harnesses with $cc in $build"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
    -DPANAMACNN_FUZZ=ON -DPANAMACNN_SANITIZE=fuzzer-no-link,address,undefined \
    -DPANAMACNN_SIMD_NO_SANITIZE=pointer-overflow,alignment,null >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 2; }
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" --parallel "$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1 ||
    { tail -n 50 "$build/build.log" >&2; exit 2; }

# UBSan reports abort (-fno-sanitize-recover=all); ASan checks leaks too. Stack traces with
# file:line when llvm-symbolizer is there (Debian: llvm-14).
for s in "$(dirname "$(readlink -f "$(command -v "$cc")")")/llvm-symbolizer" /usr/lib/llvm-14/bin/llvm-symbolizer; do
    if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" && -x "$s" ]]; then export ASAN_SYMBOLIZER_PATH="$s"; fi
done
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
    local h="$1" exe="$build/native/fuzz/fuzz_$1"
    rm -rf "$build/findings/$h"
    mkdir -p "$build/corpus/$h" "$build/findings/$h"
    "$exe" -max_total_time="$seconds" -seed="$seed" -timeout=20 -rss_limit_mb=2560 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$build/findings/$h/" \
        "$build/corpus/$h" "$root/native/fuzz/corpus/$h" "$root/native/fuzz/regressions/$h" \
        >"$build/$h.log" 2>&1
}

echo "fuzz.sh: ${#harnesses[@]} harness(es), ${seconds}s each, $jobs at a time; logs in $build/<harness>.log"
declare -A status=()
running=()
rm -f "$build"/*.status
for h in "${harnesses[@]}"; do
    while ((${#running[@]} >= jobs)); do
        wait -n || true
        still=()
        for p in "${running[@]}"; do kill -0 "${p%%:*}" 2>/dev/null && still+=("$p"); done
        running=("${still[@]}")
    done
    (set +e; run_one "$h"; echo $? >"$build/$h.status") &
    running+=("$!:$h")
done
wait

failed=0
printf '\n%-20s %12s %10s %8s %8s %8s  %s\n' harness executions exec/s cov ft corpus result
for h in "${harnesses[@]}"; do
    log="$build/$h.log"
    st="$(cat "$build/$h.status" 2>/dev/null || echo '?')"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")"
    result=ok
    if [[ "$st" != 0 ]]; then
        result="FINDING (exit $st)"
        failed=1
    fi
    printf '%-20s %12s %10s %8s %8s %8s  %s\n' "$h" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$result"
done
if ((failed)); then
    for h in "${harnesses[@]}"; do
        [[ "$(cat "$build/$h.status" 2>/dev/null)" == 0 ]] && continue
        echo
        echo "==== $h: $build/$h.log ===="
        grep -E 'FUZZ FINDING|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer|SUMMARY|Test unit written' \
            "$build/$h.log" | head -n 20 || tail -n 30 "$build/$h.log"
        for f in "$build/findings/$h"/*; do
            [[ -f "$f" ]] || continue
            echo "replay:   $build/native/fuzz/fuzz_$h $f"
            echo "keep it:  cp $f native/fuzz/regressions/$h/<what-it-found>  (ctest then replays it)"
        done
    done
    echo "fuzz.sh: FAILED: findings above"
    exit 1
fi
echo "fuzz.sh: no finding"
