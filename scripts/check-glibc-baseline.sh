#!/usr/bin/env bash
# Checks that a Linux shared library needs no glibc symbol version newer than a baseline:
# every GLIBC_x.y[.z] in its dynamic symbol table (objdump -T) must be <= the baseline.
#
# Usage: scripts/check-glibc-baseline.sh <library.so> <baseline, e.g. 2.34>
# Why 2.34 for the shipped x86-64 library: glibc 2.34 moved the pthread functions into libc
# with new symbol versions, so a library linked on Debian 12 (glibc 2.36) needs 2.34
# (Debian 12, Ubuntu 22.04, RHEL 9 and newer). A lower baseline needs a build against an
# older glibc (e.g. in a manylinux2014 container); see docs/platforms.md.
# Exit status: 0 within the baseline, 1 a newer symbol (listed), 2 usage / tools missing.
set -euo pipefail

(($# == 2)) || { echo "usage: $0 <library.so> <baseline>" >&2; exit 2; }
lib="$1"
baseline="$2"
command -v objdump >/dev/null 2>&1 || { echo "check-glibc-baseline.sh: objdump (binutils) not found" >&2; exit 2; }
[[ -f "$lib" ]] || { echo "check-glibc-baseline.sh: $lib not found" >&2; exit 2; }

# "symbol version" pairs for every undefined symbol with a GLIBC_ version
needed="$(objdump -T "$lib" | sed -n 's/.*(GLIBC_\([0-9.]*\)) *\([^ ]*\)$/\2 \1/p' | sort -u)"
[[ -n "$needed" ]] || { echo "check-glibc-baseline.sh: no GLIBC_ symbol versions in $lib (not a glibc library?)" >&2; exit 1; }

newest="$( (printf '%s\n' "$needed" | awk '{print $2}'; echo "$baseline") | sort -V | tail -n 1)"
if [[ "$newest" != "$baseline" ]]; then
    echo "check-glibc-baseline.sh: $lib needs glibc symbols newer than the baseline $baseline:" >&2
    printf '%s\n' "$needed" | while read -r sym ver; do
        if [[ "$(printf '%s\n%s\n' "$ver" "$baseline" | sort -V | tail -n 1)" != "$baseline" ]]; then
            echo "  $sym GLIBC_$ver" >&2
        fi
    done
    exit 1
fi
max="$(printf '%s\n' "$needed" | awk '{print $2}' | sort -V | tail -n 1)"
echo "check-glibc-baseline.sh: $lib: newest glibc symbol version GLIBC_$max <= baseline $baseline ($(printf '%s\n' "$needed" | wc -l) versioned symbols)"
