#!/usr/bin/env bash
# Cross-builds the native library for Linux AArch64 (NEON kernels) with Debian's cross tool
# chain and runs the complete C test suite under qemu-aarch64 (user-mode emulation).
#
#   scripts/cross-aarch64.sh [--no-test] [--bench] [--build-dir DIR] [--resource-root DIR]
#
# Needs: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#        (plus g++-aarch64-linux-gnu for --bench), cmake >= 3.20.
# Result: target/native-linux-aarch64/libpanamacnn.so (always), and with --resource-root DIR
#         also DIR/linux-aarch64/libpanamacnn.so (the jar's layout: pass the module's
#         target/classes/native). Exits non-zero, naming what failed, on any failure.
#   --no-test        build only (no qemu needed)
#   --bench          also build native/bench (pcnn-bench, without oneDNN) for real hardware
#   --build-dir DIR  CMake build directory (default target/cmake-linux-aarch64)
# Environment: CTEST_PARALLEL_LEVEL (default 2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/target/cmake-linux-aarch64"
out="$root/target/native-linux-aarch64"
resource_root=""
run_tests=1
bench=OFF
triple=aarch64-linux-gnu
sysroot=/usr/$triple

die() {
    echo "cross-aarch64.sh: $*" >&2
    exit 1
}

while (($#)); do
    case "$1" in
    --no-test) run_tests=0 ;;
    --bench) bench=ON ;;
    --build-dir) shift; build="$(realpath -m "${1:?--build-dir needs a directory}")" ;;
    --resource-root) shift; resource_root="$(realpath -m "${1:?--resource-root needs a directory}")" ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

missing=()
command -v cmake >/dev/null 2>&1 || missing+=("cmake")
command -v "$triple-gcc" >/dev/null 2>&1 || missing+=("gcc-aarch64-linux-gnu ($triple-gcc)")
[[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ]] || missing+=("libc6-dev-arm64-cross ($sysroot/lib)")
if [[ "$bench" == ON ]]; then
    command -v "$triple-g++" >/dev/null 2>&1 || missing+=("g++-aarch64-linux-gnu ($triple-g++)")
fi
if ((run_tests)); then
    command -v qemu-aarch64 >/dev/null 2>&1 || missing+=("qemu-user (qemu-aarch64)")
fi
if ((${#missing[@]})); then
    die "the AArch64 cross tool chain is incomplete; missing: ${missing[*]}.
Install it with (Debian/Ubuntu, as root):
  apt-get update && apt-get install -y gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
fi

echo "cross-aarch64.sh: configure ($build)"
cmake_args=(-S "$root" -B "$build"
    -DCMAKE_TOOLCHAIN_FILE="$root/native/cmake/toolchain-aarch64-linux-gnu.cmake"
    -DCMAKE_BUILD_TYPE=Release -DPANAMACNN_BUILD_BENCH="$bench")
if [[ -n "$resource_root" ]]; then
    cmake_args+=(-DPANAMACNN_RESOURCE_ROOT="$resource_root")
fi
mkdir -p "$build"
cmake "${cmake_args[@]}" >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    die "CMake configure failed (log above)"
}
echo "cross-aarch64.sh: build"
cmake --build "$build" -j "${CTEST_PARALLEL_LEVEL:-2}" || die "the AArch64 build failed"

lib="$build/native/libpanamacnn.so"
[[ -f "$lib" ]] || die "no $lib after the build"
file_out="$(file -b "$lib" 2>/dev/null || true)"
if [[ -n "$file_out" && "$file_out" != *aarch64* ]]; then
    die "$lib is not an AArch64 library: $file_out"
fi
mkdir -p "$out"
cp "$lib" "$out/libpanamacnn.so"
echo "cross-aarch64.sh: library: $out/libpanamacnn.so"
[[ -z "$resource_root" ]] || echo "cross-aarch64.sh: library: $resource_root/linux-aarch64/libpanamacnn.so"
[[ "$bench" == OFF ]] || echo "cross-aarch64.sh: bench: $build/native/bench/pcnn-bench (run it on AArch64 hardware)"

if ((run_tests)); then
    echo "cross-aarch64.sh: C test suite under qemu-aarch64 (-L $sysroot)"
    (cd "$build" && ctest --output-on-failure -j "${CTEST_PARALLEL_LEVEL:-2}") ||
        die "the AArch64 C test suite FAILED under qemu-aarch64 (output above)"
    echo "cross-aarch64.sh: AArch64 C test suite passed under qemu-aarch64"
fi
