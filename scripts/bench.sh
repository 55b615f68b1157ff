#!/usr/bin/env bash
# panama-cnn benchmarks, one command (`./panama-cnn bench [args]` calls this script):
#
#   1. the native bench (native/bench/pcnn_bench.cpp): panama-cnn's C kernels vs oneDNN in the
#      same process, on bench/shapes.txt, 1 and 2 threads; table + JSON under bench/results/;
#   2. JMH's LayerBench: the same shapes and thread counts through the Java layer objects;
#   3. the join of both (BenchJoin): java layer vs C entry vs oneDNN best / NCHW, with the geomeans
#      and minimum ratios of issue 8's "Done means", in bench/results/<stamp>-java-vs-onednn.md.
#
# Usage: scripts/bench.sh [--no-jmh] [--no-native] [--jmh-opts "JMH OPTIONS"] [--jmh-args "JMH OPTIONS"]
#                         [pcnn-bench options]
#        scripts/bench.sh --join NATIVE.json JMH.json   (only the join, of two existing result files)
#   pcnn-bench options are passed through, e.g. --only seed_tiny,pool_lenet --min-time 0.05
#   --threads 1 --no-onednn --pool-buffers same|rotated|both (max-pool with the same buffers every
#   call and/or rotated among copies; default both; bench/README.md; unless `same`, LayerBench also
#   runs the selection's max-pool rows with -p buffers=rotated in every round) (see
#   `target/bench/native/bench/pcnn-bench --help`); --only, --threads,
#   --shapes and --algorithm also select LayerBench's shapes, thread counts and conv algorithm.
#   --jmh-opts: added to the LayerBench run, e.g. --jmh-opts "-wi 1 -i 2 -w 500ms -r 500ms" (quick);
#   they replace the rotated max-pool run's shorter timing (-wi 1 -w 300ms -i 2 -r 300ms) too.
#   --entry: JMH also runs EntryBench (the C entry points from the JVM, same rows, same JMH run:
#   JMH runs all EntryBench forks, then all LayerBench forks) and the join gets a java/entry column.
#   --rounds N (or --jmh-rounds N): LayerBench runs N times (default 2), each later round in another
#   order (shapes reversed, forward before backward); per row the JSON keeps the round with the lowest
#   median (all rounds' medians are kept beside it). The native bench runs N times too (shapes
#   reversed), each time of a row (panama-cnn, every oneDNN variant) keeping its lowest value. Why:
#   see bench/README.md, "Rounds".
#   oneDNN in the JMH forks: when oneDNN is found, the native build also makes libpcnn-onednn-layer.so
#   (native/bench/onednn_layer.h) and every same-buffer LayerBench fork times oneDNN's variants of its
#   row between its measurement iterations (OnednnWindows); the medians go to
#   bench/results/<stamp>-onednn-forks.jsonl and the join uses them instead of the native bench's oneDNN
#   times (bench/README.md, "oneDNN in the JMH forks"). --no-onednn leaves it out too.
#   Every round also runs the selection's max-pool forwards in eval() (LayerBench -p mode=eval): the
#   join's fwd_noidx rows through the layer.
#   --jmh-args: options for org.openjdk.jmh.Main instead of the LayerBench run (no join), e.g.
#   --jmh-args "-wi 2 -i 3 -f 1 -w 1s -r 1s Conv2dNativeBench". The native bench still runs
#   first (every shape unless --only); add --no-native to run JMH alone.
#
# oneDNN: when /usr/include/oneapi/dnnl/dnnl.hpp is missing and we are root with apt-get,
# libdnnl-dev is installed; otherwise the comparison is skipped (the bench still runs).
# Results: bench/results/<UTC date>T<HHMM>Z-<cpu>.{txt,json} (native), ...-jmh.{txt,json} and
# ...-java-vs-onednn.md (the join).
#
# Run it on an otherwise idle machine: the times are medians, but a busy machine still skews
# them (the bench prints a warning when the load average is high).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
min_java=23
build_dir="$root/target/bench"
core="$root/java/core"   # the library module: JMH classes and class path
results_dir="$root/bench/results"
onednn_header=/usr/include/oneapi/dnnl/dnnl.hpp

die() {
    echo "bench: $*" >&2
    exit 1
}

run_jmh=1
run_native=1
run_entry=0
jmh_rounds=2
jmh_args=()
jmh_opts=()
join_only=()
bench_args=()  # for pcnn-bench only
select_args=() # --only / --threads / --shapes / --algorithm: for pcnn-bench and LayerBench
# What LayerBench runs: the native bench's selection (these options are also passed to it).
only=""
threads="1,2"
algorithm="" # empty: the library's default (auto)
shapes_file="$root/bench/shapes.txt"
while (($# > 0)); do
    case "$1" in
        --no-jmh) run_jmh=0 ;;
        --no-native) run_native=0 ;;
        --entry) run_entry=1 ;;
        --rounds | --jmh-rounds)
            (($# >= 2)) || die "$1 needs a value"
            [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1: a positive whole number is needed, got '$2'"
            jmh_rounds="$2"
            shift
            ;;
        --jmh-args)
            (($# >= 2)) || die "--jmh-args needs a value"
            read -r -a jmh_args <<<"$2"
            shift
            ;;
        --jmh-opts)
            (($# >= 2)) || die "--jmh-opts needs a value"
            read -r -a jmh_opts <<<"$2"
            shift
            ;;
        --join)
            (($# >= 3)) || die "--join needs two files: NATIVE.json JMH.json"
            join_only=("$2" "$3")
            shift 2
            ;;
        -h | --help)
            sed -n '2,45p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        --only | --threads | --algorithm)
            (($# >= 2)) || die "$1 needs a value"
            case "$1" in
                --only) only="$2" ;;
                --threads) threads="$2" ;;
                --algorithm) algorithm="$2" ;;
            esac
            select_args+=("$1" "$2")
            shift
            ;;
        --shapes)
            (($# >= 2)) || die "$1 needs a value"
            [[ -f "$2" ]] || die "--shapes: no such file: $2"
            shapes_file="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
            select_args+=("$1" "$shapes_file")
            shift
            ;;
        *) bench_args+=("$1") ;;
    esac
    shift
done
if ((${#join_only[@]} > 0)); then
    ((${#bench_args[@]} + ${#select_args[@]} == 0)) || die "--join takes no other options (got ${bench_args[*]-} ${select_args[*]-})"
    run_native=0 # the join is done after the helper functions below are defined
fi

# ---- naming of the result files -------------------------------------------------------------
# "AMD EPYC 9755 128-Core Processor" -> "amd-epyc-9755-128-core"; "Intel(R) Core(TM) i7-1185G7 @ 3.00GHz" -> "intel-core-i7-1185g7"
cpu_short_name() {
    local model
    model="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    [[ -n "$model" ]] || model="$(uname -m)"
    printf '%s\n' "$model" | tr '[:upper:]' '[:lower:]' |
        sed -e 's/([^)]*)//g' -e 's/@.*$//' -e 's/\bprocessor\b//g' -e 's/\bcpu\b//g' -e 's/\bwith .*$//' -e 's:\bw/ .*$::' \
            -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//' -e 's/-$//' | cut -c1-40 | sed 's/-$//'
}

stamp="$(date -u +%Y-%m-%dT%H%MZ)-$(cpu_short_name)"
mkdir -p "$results_dir"
status=0

# ---- 1. native bench --------------------------------------------------------------------------
if ((run_native)); then
    command -v cmake >/dev/null 2>&1 || die "cmake (>= 3.20) is needed"
    command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || die "a C++ compiler (g++) is needed"

    if [[ ! -f "$onednn_header" ]]; then
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
            echo "bench: oneDNN not found; installing libdnnl-dev with apt-get ..." >&2
            if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdnnl-dev; }; then
                echo "bench: could not install libdnnl-dev: the comparison with oneDNN is skipped" >&2
            fi
        else
            echo "bench: oneDNN not found ($onednn_header): the comparison with oneDNN is skipped." >&2
            echo "bench: to get it on Debian/Ubuntu: sudo apt-get install libdnnl-dev, then rerun." >&2
        fi
    fi

    mkdir -p "$build_dir"
    echo "bench: building pcnn-bench in $build_dir ..." >&2
    # Reconfigure every time: cheap, and it picks up a oneDNN installed since the last run.
    nice cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPANAMACNN_BUILD_BENCH=ON >"$build_dir.log" 2>&1 ||
        { cat "$build_dir.log" >&2; die "cmake configure failed (output above)"; }
    nice cmake --build "$build_dir" --target pcnn-bench --parallel 2 >>"$build_dir.log" 2>&1 ||
        { cat "$build_dir.log" >&2; die "building pcnn-bench failed (output above)"; }
    # The oneDNN shim for the JMH forks exists only when CMake found oneDNN.
    if grep -q 'pcnn-bench: comparing against oneDNN' "$build_dir.log"; then
        nice cmake --build "$build_dir" --target pcnn-onednn-layer --parallel 2 >>"$build_dir.log" 2>&1 ||
            { cat "$build_dir.log" >&2; die "building pcnn-onednn-layer failed (output above)"; }
    fi
    grep -E 'pcnn-bench: (comparing|oneDNN not found)' "$build_dir.log" | sed 's/^-- /bench: /' >&2 || true

    bench_bin="$build_dir/native/bench/pcnn-bench"
    json="$results_dir/$stamp.json"
    txt="$results_dir/$stamp.txt"
    echo "bench: running the native bench -> $txt, $json" >&2
    set +e
    # Later options win, so the caller's --threads / --shapes / --json override these defaults.
    (cd "$root" && "$bench_bin" --shapes "$root/bench/shapes.txt" --threads 1,2 --json "$json" \
        ${select_args[@]+"${select_args[@]}"} ${bench_args[@]+"${bench_args[@]}"}) | tee "$txt"
    native_status=${PIPESTATUS[0]}
    set -e
    # Rounds (bench/README.md, "Rounds"): with --jmh-rounds N > 1 the native bench runs N times too,
    # later rounds with the shapes in reverse order, and per row every time (panama-cnn and each
    # oneDNN variant) keeps its lowest value: both sides of the join get the same treatment as the
    # JMH rows. The .txt holds every round's table.
    if ((native_status == 0 && jmh_rounds > 1)) && [[ -s "$json" ]] && command -v python3 >/dev/null 2>&1; then
        reversed_shapes="$(mktemp)"
        grep -vE '^[[:space:]]*(#|$)' "$root/bench/shapes.txt" | tac >"$reversed_shapes"
        native_rounds=("$json")
        for ((round = 2; round <= jmh_rounds; round++)); do
            echo "bench: native bench round $round of $jmh_rounds (shapes in reverse order)" | tee -a "$txt" >&2
            set +e
            (cd "$root" && "$bench_bin" --shapes "$reversed_shapes" --threads 1,2 --json "$json.round$round" \
                ${select_args[@]+"${select_args[@]}"} ${bench_args[@]+"${bench_args[@]}"}) | tee -a "$txt"
            st=${PIPESTATUS[0]}
            set -e
            ((st == 0)) || native_status=$st
            native_rounds+=("$json.round$round")
        done
        rm -f "$reversed_shapes"
        python3 "$root/scripts/bench_rounds.py" native "${native_rounds[@]}" ||
            echo "bench: could not merge the native rounds (round 1 kept)" >&2
    fi
    if ((native_status != 0)); then
        echo "bench: pcnn-bench exited with status $native_status (3 = panama-cnn and oneDNN disagree on a result)" >&2
        status=$native_status
    fi
elif ((${#bench_args[@]} > 0)); then
    die "options for pcnn-bench (${bench_args[*]}) given together with --no-native"
fi

# ---- 2. JMH -------------------------------------------------------------------------------------
# Prints the major version of the java executable $1 (e.g. 25; 8 for "1.8.0").
java_major() {
    local out ver
    out="$("$1" -version 2>&1)" || return 1
    ver="$(printf '%s\n' "$out" | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
    [[ -n "$ver" ]] || return 1
    if [[ "$ver" == 1.* ]]; then
        ver="${ver#1.}"
    fi
    ver="${ver%%[.+-]*}"
    [[ "$ver" =~ ^[0-9]+$ ]] || return 1
    echo "$ver"
}

# Same search as ./panama-cnn: $PANAMACNN_JAVA_HOME, $JAVA_HOME, /usr/lib/jvm/* (highest first).
find_java() {
    local cand major best="" best_major=0
    if [[ -n "${PANAMACNN_JAVA_HOME:-}" ]]; then
        cand="$PANAMACNN_JAVA_HOME/bin/java"
        [[ -x "$cand" ]] || die "PANAMACNN_JAVA_HOME=$PANAMACNN_JAVA_HOME has no executable bin/java"
        major="$(java_major "$cand")" || die "cannot read the version of $cand"
        ((major >= min_java)) || die "PANAMACNN_JAVA_HOME=$PANAMACNN_JAVA_HOME is JDK $major; JDK >= $min_java is needed"
        echo "$cand"
        return
    fi
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        if major="$(java_major "$JAVA_HOME/bin/java")" && ((major >= min_java)); then
            echo "$JAVA_HOME/bin/java"
            return
        fi
    fi
    for cand in /usr/lib/jvm/*/bin/java; do
        [[ -x "$cand" ]] || continue
        major="$(java_major "$cand")" || continue
        if ((major >= min_java && major > best_major)); then
            best="$cand"
            best_major="$major"
        fi
    done
    [[ -n "$best" ]] || die "no JDK >= $min_java found (looked at \$PANAMACNN_JAVA_HOME, \$JAVA_HOME and /usr/lib/jvm/*)"
    echo "$best"
}

# The JMH stubs (META-INF/BenchmarkList) and target/test-classpath.txt come from `mvn package`.
jmh_needs_build() {
    local list="$core/target/test-classes/META-INF/BenchmarkList" src
    [[ -f "$list" && -s "$core/target/test-classpath.txt" ]] || return 0
    for src in "$root/java/core/src" "$root/native/src" "$root/native/include" "$root/pom.xml"; do
        [[ -e "$src" ]] || continue
        if [[ -n "$(find "$src" -newer "$list" -print -quit)" ]]; then
            return 0
        fi
    done
    return 1
}

# Builds the jar and the JMH stubs when stale, then sets java_bin and cp: the test class path
# (JMH, LayerBench, BenchJoin and their libraries) over a private copy of the classes.
prepare_test_classpath() {
    java_bin="$(find_java)"
    mkdir -p "$build_dir"
    if jmh_needs_build; then
        command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to build the JMH suite"
        echo "bench: building the jar and the JMH stubs (mvn -B -q -DskipTests package) ..." >&2
        local log
        log="$(mktemp "${TMPDIR:-/tmp}/panama-cnn-bench-build.XXXXXX")"
        if ! (cd "$root" && nice mvn -B -q -DskipTests package) >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            die "build failed (output above)"
        fi
        rm -f "$log"
    fi
    [[ -f "$core/target/test-classes/META-INF/BenchmarkList" ]] ||
        die "no JMH benchmark list in target/test-classes: annotation processing did not run (see pom.xml, -proc:full)"
    # Run from a private copy of the classes: a `mvn` started meanwhile (an IDE, a colleague in
    # the same tree) recompiles target/test-classes and would pull the JMH stubs from under a
    # running fork.
    local snap="$build_dir/jmh-classes"
    rm -rf "$snap"
    mkdir -p "$snap"
    cp -R "$core/target/classes" "$core/target/test-classes" "$snap/"
    cp="$snap/test-classes:$snap/classes:$(cat "$core/target/test-classpath.txt")"
}

# The join: NATIVE.json JMH.json OUT.md [ONEDNN_FORKS.jsonl]; prints the table and writes it to OUT.md.
join_results() {
    [[ ! -e "$3" ]] || die "$3 exists already (results are never overwritten)"
    echo "bench: joining $1 and $2${4:+ and $4} -> $3" >&2
    "$java_bin" -cp "$cp" io.github.panamacnn.bench.BenchJoin "$@"
}

if ((${#join_only[@]} > 0)); then
    for f in "${join_only[@]}"; do
        [[ -s "$f" ]] || die "--join: no such file (or empty): $f"
    done
    prepare_test_classpath
    forks="${join_only[0]%.json}-onednn-forks.jsonl"
    [[ -s "$forks" ]] || forks=""
    join_results "${join_only[0]}" "${join_only[1]}" "${join_only[0]%.json}-java-vs-onednn.md" ${forks:+"$forks"}
    exit 0
fi

if ((run_jmh)); then
    prepare_test_classpath
    jmh_json="$results_dir/$stamp-jmh.json"
    jmh_txt="$results_dir/$stamp-jmh.txt"
    layer_bench=0
    if ((${#jmh_args[@]} == 0)); then
        # LayerBench on the native bench's selection: every row of the shapes file unless --only.
        shape_list="$only"
        [[ -n "$shape_list" ]] || shape_list="$(awk '{ sub(/#.*/, "") } NF { print $1 }' "$shapes_file" | paste -sd, -)"
        [[ -n "$shape_list" ]] || die "no shapes in $shapes_file"
        benches=LayerBench
        ((run_entry)) && benches="(LayerBench|EntryBench)"
        jmh_args=("$benches" -p "shape=$shape_list" -p "threads=$threads" ${jmh_opts[@]+"${jmh_opts[@]}"})
        layer_bench=1
    elif ((${#jmh_opts[@]} > 0)); then
        die "--jmh-opts adds to the LayerBench run; with --jmh-args put every option in --jmh-args"
    fi
    # oneDNN in the LayerBench forks (OnednnWindows), unless --no-onednn or no shim was built.
    onednn_props=()
    onednn_forks=""
    shim="$build_dir/native/bench/libpcnn-onednn-layer.so"
    if [[ -f "$shim" && " ${bench_args[*]-} " != *" --no-onednn "* ]]; then
        onednn_forks="$results_dir/$stamp-onednn-forks.jsonl"
        onednn_props=("-Dpanamacnn.bench.onednn=$shim" "-Dpanamacnn.bench.onednn.out=$onednn_forks")
        echo "bench: oneDNN is also timed inside the LayerBench forks -> $onednn_forks" >&2
    fi
    echo "bench: running JMH with $java_bin -> $jmh_txt, $jmh_json" >&2
    # run_jmh_once JSON JMH-ARGS...: one JMH invocation, its text appended to $jmh_txt; sets jmh_status
    # (the first failure is kept). The forks inherit the -D options (JMH passes this JVM's options on).
    jmh_status=0
    : >"$jmh_txt"
    run_jmh_once() {
        local out="$1" st
        shift
        set +e
        (cd "$root" && "$java_bin" --enable-native-access=ALL-UNNAMED -Dpanamacnn.native.required=true \
            "-Dpanamacnn.bench.shapes=$shapes_file" "-Dpanamacnn.conv.algorithm=$algorithm" \
            ${onednn_props[@]+"${onednn_props[@]}"} -cp "$cp" \
            org.openjdk.jmh.Main -rf json -rff "$out" "$@") | tee -a "$jmh_txt"
        st=${PIPESTATUS[0]}
        set -e
        ((jmh_status != 0)) || jmh_status=$st
    }
    # Rounds (bench/README.md, "Rounds"): on this kind of shared VM a thread's speed drops by 1.3-1.6x
    # for seconds to minutes at a time, and JMH runs a row's forks back to back, all backward rows
    # before all forward rows: one slow stretch then inflates a run of neighbouring rows. A later round
    # measures every row again at another time, in another order (shapes reversed, forward first), and
    # the row keeps its lowest median; the JSON lists every round's median as "roundMedians".
    round_files=("$jmh_json")
    run_jmh_once "$jmh_json" "${jmh_args[@]}"
    if ((layer_bench && jmh_rounds > 1)) && ! command -v python3 >/dev/null 2>&1; then
        echo "bench: python3 not found: one JMH round only (--jmh-rounds needs python3 to merge the rounds)" >&2
        jmh_rounds=1
    fi
    # Max-pool with rotated buffers (LayerBench -p buffers=rotated, bench/README.md "Max-pool: same or
    # rotated buffers"): the selection's max-pool rows once more in every round (reversed in later rounds,
    # like the other rows), with a shorter timing to keep a full run ~1 minute longer per round: 16 forks
    # for the 4 max-pool rows at 1 and 2 threads, each ~2-3 s of start and set-up (K copies made and
    # touched) plus 0.9 s; measured 2026-12-05 23:10Z on the busy VM: 8 forks (pool_resnet, pool_small)
    # 32 s. A pool_resnet call takes 1.5-3 ms, so the 0.6 s measured still gives a few hundred samples for
    # the median. One round alone was not enough: at 23:23Z it put the layer 1.2-1.5x above the C entry
    # points' rotated rows, while PathCompare buffers=rotated (one process) gives 1.00-1.04.
    pool_buffers=same_and_rotated
    for ((i = 0; i + 1 < ${#bench_args[@]}; i++)); do
        [[ "${bench_args[i]}" != --pool-buffers ]] || pool_buffers="${bench_args[i + 1]}"
    done
    pool_list=""
    if ((layer_bench)) && [[ "$pool_buffers" != same ]]; then
        pool_list="$(awk -v sel=",$shape_list," '{ sub(/#.*/, "") } NF && $2 == "maxpool" && index(sel, "," $1 ",") { print $1 }' \
            "$shapes_file" | paste -sd, -)"
    fi
    rotated_timing=(-wi 1 -w 300ms -i 2 -r 300ms)
    ((${#jmh_opts[@]} == 0)) || rotated_timing=("${jmh_opts[@]}")
    # run_rotated_pool ROUND SHAPES: LayerBench's max-pool rows with rotated buffers, one round.
    run_rotated_pool() {
        local f="$jmh_json.rotated$1"
        [[ "$1" != 1 ]] || f="$jmh_json.rotated"
        echo "bench: JMH round $1, max-pool rows with rotated buffers ($2)" | tee -a "$jmh_txt" >&2
        run_jmh_once "$f" LayerBench -p "shape=$2" -p "threads=$threads" -p buffers=rotated "${rotated_timing[@]}"
        round_files+=("$f")
    }
    # Max-pool in eval() (LayerBench -p mode=eval): the forward without indices, the native bench's
    # fwd_noidx rows, through the layer; once per round, after the rotated rows, default timing (8 forks
    # for the 4 max-pool rows at 1 and 2 threads: ~1.5 minutes per round).
    eval_list=""
    if ((layer_bench)); then
        eval_list="$(awk -v sel=",$shape_list," '{ sub(/#.*/, "") } NF && $2 == "maxpool" && index(sel, "," $1 ",") { print $1 }' \
            "$shapes_file" | paste -sd, -)"
    fi
    # run_eval_pool ROUND SHAPES: LayerBench's max-pool forward in eval(), one round.
    run_eval_pool() {
        local f="$jmh_json.eval$1"
        echo "bench: JMH round $1, max-pool forward in eval(), no indices ($2)" | tee -a "$jmh_txt" >&2
        run_jmh_once "$f" LayerBench.forward -p "shape=$2" -p "threads=$threads" -p mode=eval \
            ${jmh_opts[@]+"${jmh_opts[@]}"}
        round_files+=("$f")
    }
    [[ -z "$pool_list" ]] || run_rotated_pool 1 "$pool_list"
    [[ -z "$eval_list" ]] || run_eval_pool 1 "$eval_list"
    if ((layer_bench)); then
        reversed="$(tr ',' '\n' <<<"$shape_list" | tac | paste -sd, -)"
        for ((round = 2; round <= jmh_rounds; round++)); do
            for pass in forward backward; do
                f="$jmh_json.round$round-$pass"
                echo "bench: JMH round $round of $jmh_rounds, $pass (shapes in reverse order)" | tee -a "$jmh_txt" >&2
                run_jmh_once "$f" "$benches.$pass" -p "shape=$reversed" -p "threads=$threads" \
                    ${jmh_opts[@]+"${jmh_opts[@]}"}
                round_files+=("$f")
            done
            [[ -z "$pool_list" ]] || run_rotated_pool "$round" "$(tr ',' '\n' <<<"$pool_list" | tac | paste -sd, -)"
            [[ -z "$eval_list" ]] || run_eval_pool "$round" "$(tr ',' '\n' <<<"$eval_list" | tac | paste -sd, -)"
        done
    fi
    # Sample mode stores every histogram bucket (~0.5 MB per run): keep the score, the error
    # and the percentiles only. With rounds: per benchmark and parameters, the round with the
    # lowest median, and every round's median in "roundMedians" (in round order).
    if [[ -s "$jmh_json" ]] && command -v python3 >/dev/null 2>&1; then
        python3 "$root/scripts/bench_rounds.py" jmh "${round_files[@]}" ||
            echo "bench: could not trim or merge $jmh_json (kept as is)" >&2
    fi
    if ((jmh_status != 0)); then
        echo "bench: JMH exited with status $jmh_status" >&2
        ((status != 0)) || status=$jmh_status
    fi
    # ---- 3. the join: the Java layer beside the C entry points and oneDNN ------------------------
    if ((layer_bench && run_native)) && [[ -s "$json" && -s "$jmh_json" ]]; then
        join_results "$json" "$jmh_json" "$results_dir/$stamp-java-vs-onednn.md" ${onednn_forks:+"$onednn_forks"} ||
            { echo "bench: the join failed" >&2; ((status != 0)) || status=1; }
    fi
fi

exit "$status"
