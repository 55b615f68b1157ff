#!/bin/sh
# Checks the hardening of the shipped Linux ELF library (issue 7 item 8); run by ctest.
#   check_hardening.sh <libpanamacnn.so> <panamacnn.h>
# - exported (dynamic, defined) symbols are exactly the PCNN_API functions of the header;
# - full RELRO: a GNU_RELRO segment and BIND_NOW;
# - non-executable stack: GNU_STACK without E;
# - stack protector: __stack_chk_fail is imported (-fstack-protector-strong put canaries in).
# The glibc baseline has its own test (glibc_baseline: scripts/check-glibc-baseline.sh).
set -u
lib=$1
header=$2
fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

[ -f "$lib" ] || { echo "FAIL: no library at $lib"; exit 1; }

# 1. exported symbols == the header's API
want=$(sed -n 's/^PCNN_API[^(]*[ *]\(pcnn_[A-Za-z0-9_]*\)(.*/\1/p' "$header" | sort -u)
have=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u)
[ -n "$want" ] || bad "found no PCNN_API function in $header"
if [ "$want" != "$have" ]; then
    bad "exported symbols differ from the header's API (< header only, > library only):"
    printf '%s\n' "$want" > "${TMPDIR:-/tmp}/pcnn_want.$$"
    printf '%s\n' "$have" > "${TMPDIR:-/tmp}/pcnn_have.$$"
    diff "${TMPDIR:-/tmp}/pcnn_want.$$" "${TMPDIR:-/tmp}/pcnn_have.$$"
    rm -f "${TMPDIR:-/tmp}/pcnn_want.$$" "${TMPDIR:-/tmp}/pcnn_have.$$"
else
    echo "ok: exports exactly the $(printf '%s\n' "$want" | wc -l) pcnn_* functions of the header"
fi

# 2. full RELRO
readelf -lW "$lib" | grep -q 'GNU_RELRO' && echo "ok: GNU_RELRO segment" || bad "no GNU_RELRO segment"
if readelf -dW "$lib" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW|\(BIND_NOW\)'; then
    echo "ok: BIND_NOW (full RELRO)"
else
    bad "not linked with -z now (no BIND_NOW): only partial RELRO"
fi

# 3. non-executable stack
stack=$(readelf -lW "$lib" | awk '$1 == "GNU_STACK" {print $7}')
case "$stack" in
    "") bad "no GNU_STACK header (the loader would assume an executable stack)" ;;
    *E*) bad "GNU_STACK is executable ($stack)" ;;
    *) echo "ok: GNU_STACK $stack (not executable)" ;;
esac

# 4. stack protector
if nm -D "$lib" | grep -q ' U __stack_chk_fail'; then
    echo "ok: stack protector (__stack_chk_fail imported)"
else
    bad "__stack_chk_fail not imported: built without -fstack-protector-strong?"
fi

[ "$fail" -eq 0 ] && echo "check_hardening: all checks passed" || echo "check_hardening: FAILED"
exit "$fail"
