#!/usr/bin/env bash
# Regenerates the raw FFM bindings (package io.github.panamacnn.ffi) from the C ABI header
# with jextract, using jextract's filtered-include workflow:
#
#   1. jextract --dump-includes lists every symbol the header pulls in (including all of
#      <stdint.h>);
#   2. keep only the lines for this library's own symbols (pcnn_* functions, structs and
#      typedefs, PCNN_* constants);
#   3. run jextract again with that list as an @argfile.
#
# No -l/--library option on purpose: the generated header class then looks symbols up with
# SymbolLookup.loaderLookup().or(Linker.nativeLinker().defaultLookup()), which finds the
# library that io.github.panamacnn.nativeimpl.NativeLibrary has System.load()ed.
#
# Usage: scripts/regen-bindings.sh        (jextract must be on PATH)
# Exit status: 0 done, 2 jextract missing, 1 any other failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HEADER="native/include/panamacnn/panamacnn.h"
INCLUDE_DIR="native/include"
PACKAGE="io.github.panamacnn.ffi"
HEADER_CLASS="panamacnn_h"
OUTPUT="java/core/src/main/java"
PKG_DIR="$OUTPUT/${PACKAGE//.//}"

if ! command -v jextract >/dev/null 2>&1; then
    cat >&2 <<EOF
error: jextract is not on PATH.
  The bindings in $PKG_DIR are kept in source control, so a normal build does not need it.
  To regenerate them, download jextract (https://jdk.java.net/jextract/), put its bin/
  directory on PATH, and run this script again.
EOF
    exit 2
fi

cd "$ROOT"
echo "jextract: $(command -v jextract)"
jextract --version 2>&1 | sed 's/^/  /' || true

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. everything the header declares, one --include-* option per line
jextract -I "$INCLUDE_DIR" --dump-includes "$tmp/all.txt" "$HEADER"

# 2. keep this library's symbols only; drop the "# header: ..." comments
awk '$1 ~ /^--include-/ && $2 ~ /^(pcnn_|PCNN_)/ { print $1, $2 }' "$tmp/all.txt" > "$tmp/filtered.txt"
if [[ ! -s "$tmp/filtered.txt" ]]; then
    echo "error: no pcnn_/PCNN_ symbols found in the --dump-includes output ($HEADER)" >&2
    exit 1
fi
echo "kept $(wc -l < "$tmp/filtered.txt") of $(grep -c -- '^--include-' "$tmp/all.txt") symbols:"
sed 's/^/  /' "$tmp/filtered.txt"

# 3. generate into a scratch directory first, so a failing run leaves the sources alone
jextract -I "$INCLUDE_DIR" \
    --output "$tmp/out" \
    -t "$PACKAGE" \
    --header-class-name "$HEADER_CLASS" \
    @"$tmp/filtered.txt" \
    "$HEADER"

generated=("$tmp/out/${PACKAGE//.//}"/*.java)
if [[ ! -e "${generated[0]}" ]]; then
    echo "error: jextract produced no Java files" >&2
    exit 1
fi

# delete the old bindings (a removed struct must not leave a stale class), then install
mkdir -p "$PKG_DIR"
old_count=$(find "$PKG_DIR" -maxdepth 1 -name '*.java' | wc -l)
find "$PKG_DIR" -maxdepth 1 -name '*.java' -delete
cp "${generated[@]}" "$PKG_DIR/"

echo "removed $old_count old file(s); wrote ${#generated[@]} file(s) to $PKG_DIR:"
for f in "${generated[@]}"; do
    echo "  $(basename "$f")"
done
echo "next: mvn -Dtest=BindingsMatchHeaderTest test   (checks the bindings against $HEADER)"
