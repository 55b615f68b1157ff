#!/usr/bin/env bash
# Sanitizer stage of CI (.ci/run runs it after `mvn -B verify`; docs/testing.md):
#  1. configures and builds the C library and its C tests with gcc, ASan + UBSan
#     (-fno-sanitize-recover=all: the first report fails), in its own build directory, and runs
#     ctest there (the C tests, and the fuzz harnesses replaying their seeds and regressions);
#  2. runs a JUnit subset (the Java-to-C path) in a JVM with gcc's ASan runtime preloaded,
#     against that sanitized libpanamacnn.so (Maven profile sanitize-junit of java/core).
# Fails on any test failure and on any sanitizer report (reports go to files under the build
# directory, which are printed).
#
#   scripts/ci-sanitize.sh [c|junit|all (default)]
#
# Environment: PANAMACNN_SANITIZE_BUILD (default build/sanitize), PANAMACNN_SANITIZE_TESTS
# (the JUnit subset, a surefire -Dtest value). The JUnit step needs the test classes that
# `mvn -B verify` (or `mvn -B -DskipTests verify`) compiled.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
what="${1:-all}"
build="${PANAMACNN_SANITIZE_BUILD:-$root/build/sanitize}"
tests="${PANAMACNN_SANITIZE_TESTS:-NativeSmokeTest,NativeVsReferenceCrossCheckTest,BadInputTest,NativeBackendValidationTest,Conv2dLayerTest,MaxPool2dLayerTest,MaxPool2dMaskTest,ReadmeExampleTest}"
cc="${CC:-cc}"
jobs="$(nproc 2>/dev/null || echo 2)"

die() {
    echo "ci-sanitize.sh: $*" >&2
    exit 1
}

# Prints every sanitizer report file in $1 and fails when there is one.
check_reports() {
    local dir="$1" found=0 f
    for f in "$dir"/*; do
        [[ -f "$f" ]] || continue
        found=1
        echo "==== sanitizer report: $f ===="
        head -n 60 "$f"
    done
    ((found == 0)) || die "sanitizer report(s) above"
}

c_stage() {
    echo "ci-sanitize.sh: gcc ASan + UBSan build of the C library and tests in $build"
    mkdir -p "$build"
    cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPANAMACNN_SANITIZE=address,undefined >"$build/configure.log" 2>&1 ||
        { cat "$build/configure.log" >&2; die "cmake configure failed"; }
    cmake --build "$build" --parallel "$jobs" >"$build/build.log" 2>&1 ||
        { tail -n 60 "$build/build.log" >&2; die "sanitizer build failed"; }
    local logs="$build/ctest-sanitizer-logs"
    rm -rf "$logs"
    mkdir -p "$logs"
    # Leak checking on for the C tests; a report goes to stderr and to $logs.
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:log_path=$logs/asan:log_exe_name=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan:log_exe_name=1" \
        ctest --test-dir "$build" --output-on-failure --timeout 600 ||
        { check_reports "$logs"; die "ctest failed on the sanitizer build"; }
    check_reports "$logs"
}

junit_stage() {
    local lib="$build/native/libpanamacnn.so"
    [[ -f "$lib" ]] || die "no sanitized library at $lib (run the c stage first)"
    [[ -d "$root/java/core/target/test-classes" ]] ||
        die "no compiled JUnit tests: run 'mvn -B verify' (or 'mvn -B -DskipTests verify') first"
    local preload
    preload="$("$cc" -print-file-name=libasan.so)"
    [[ "$preload" == /* && -e "$preload" ]] || die "$cc does not know its libasan.so (got '$preload')"
    local logs="$build/junit-sanitizer-logs"
    rm -rf "$logs"
    mkdir -p "$logs"
    echo "ci-sanitize.sh: JUnit [$tests] with LD_PRELOAD=$preload against $lib"
    local reports="$root/java/core/target/surefire-reports-sanitize"
    rm -rf "$reports"
    local status=0
    mvn -B -q -pl java/core -Psanitize-junit test \
        -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
        -Dpanamacnn.sanitize.library="$lib" -Dpanamacnn.sanitize.preload="$preload" \
        -Dpanamacnn.sanitize.logdir="$logs" || status=$?
    check_reports "$logs"
    ((status == 0)) || die "JUnit under ASan failed (mvn exit status $status)"
    # The subset must really have run against the sanitized library.
    local ran
    ran="$(cat "$reports"/TEST-*.xml 2>/dev/null |
        sed -n 's/.*<testsuite [^>]*tests="\([0-9]*\)".*/\1/p' | awk '{ s += $1 } END { print s + 0 }')"
    ((ran > 0)) || die "no JUnit test ran under ASan"
    echo "ci-sanitize.sh: JUnit under ASan: $ran tests passed, no sanitizer report"
}

case "$what" in
    c) c_stage ;;
    junit) junit_stage ;;
    all) c_stage; junit_stage ;;
    *) die "usage: scripts/ci-sanitize.sh [c|junit|all]" ;;
esac
