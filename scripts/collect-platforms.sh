#!/usr/bin/env bash
# Runs every cross build and gathers the native libraries into the jar's resource tree, for
# the Maven profile -Pall-platforms (java/core/pom.xml):
#
#   <resource-root>/linux-x86_64/libpanamacnn.so    built by the normal (host) CMake build
#   <resource-root>/linux-aarch64/libpanamacnn.so   scripts/cross-aarch64.sh (NEON; tests under qemu)
#   <resource-root>/windows-x86_64/panamacnn.dll    scripts/cross-windows.sh (MinGW-w64; tests under wine)
#
# Usage: scripts/collect-platforms.sh <resource-root>    (Maven passes target/classes/native)
# Environment: PANAMACNN_CROSS_NO_TEST=1 builds without running the emulated C suites.
# Host: Linux x86-64 (Debian/Ubuntu packages for the cross tool chains; see docs/platforms.md).
# Exits non-zero, naming the platform and what is missing, when any library cannot be produced.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() {
    echo "collect-platforms.sh: $*" >&2
    exit 1
}
(($# == 1)) || die "usage: $0 <resource-root>"
dest="$1"
test_flag=()
[[ "${PANAMACNN_CROSS_NO_TEST:-}" == 1 ]] && test_flag=(--no-test)

# The ELF/PE machine of a file, via binutils' readelf / objdump (for a clear error, not a
# library of the wrong architecture in the jar).
elf_machine() { readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p'; }

host="$dest/linux-x86_64/libpanamacnn.so"
[[ -f "$host" ]] || die "$host is missing: the host CMake build (generate-resources) must run first"
[[ "$(elf_machine "$host")" == *X86-64* ]] || die "$host is not an x86-64 ELF library"

# ---- Linux AArch64 ----
aarch64_script="$ROOT/scripts/cross-aarch64.sh"
if [[ ! -f "$aarch64_script" ]]; then
    die "scripts/cross-aarch64.sh is missing: this checkout cannot build the linux-aarch64 library
(it comes with the AArch64 NEON port). Build without -Pall-platforms for a host-only jar."
fi
echo "collect-platforms.sh: linux-aarch64: scripts/cross-aarch64.sh ${test_flag[*]}"
bash "$aarch64_script" "${test_flag[@]}" || die "linux-aarch64: scripts/cross-aarch64.sh failed (see above)"
lib="$ROOT/target/native-linux-aarch64/libpanamacnn.so"
[[ -f "$lib" ]] || die "linux-aarch64: scripts/cross-aarch64.sh did not leave $lib"
[[ "$(elf_machine "$lib")" == *AArch64* ]] || die "linux-aarch64: $lib is not an AArch64 ELF library"
mkdir -p "$dest/linux-aarch64"
cp "$lib" "$dest/linux-aarch64/libpanamacnn.so"

# ---- Windows x86-64 ----
echo "collect-platforms.sh: windows-x86_64: scripts/cross-windows.sh ${test_flag[*]}"
bash "$ROOT/scripts/cross-windows.sh" "${test_flag[@]}" || die "windows-x86_64: scripts/cross-windows.sh failed (see above)"
lib="$ROOT/target/native-windows-x86_64/panamacnn.dll"
[[ -f "$lib" ]] || die "windows-x86_64: scripts/cross-windows.sh did not leave $lib"
x86_64-w64-mingw32-objdump -f "$lib" | grep -q 'file format pei-x86-64' ||
    die "windows-x86_64: $lib is not a PE x86-64 DLL"
mkdir -p "$dest/windows-x86_64"
cp "$lib" "$dest/windows-x86_64/panamacnn.dll"

echo "collect-platforms.sh: the jar carries:"
(cd "$dest" && find . -type f | sed 's|^\./|  native/|' | sort)
