package io.github.panamacnn.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

import static io.github.panamacnn.bench.BenchJson.ROTATED;
import static io.github.panamacnn.bench.BenchJson.bestUs;
import static io.github.panamacnn.bench.BenchJson.jmhMedians;
import static io.github.panamacnn.bench.BenchJson.key;
import static io.github.panamacnn.bench.BenchJson.msToUs;
import static io.github.panamacnn.bench.BenchJson.ratio;
import static io.github.panamacnn.bench.BenchJson.rotated;
import static io.github.panamacnn.bench.BenchJson.us;

/**
 * Joins the native bench's JSON (panama-cnn's C entry points and oneDNN, per shape, pass and
 * thread count) with the JMH JSON of {@link LayerBench} (the same shapes through the Java layer
 * objects) into one table of whole-layer times: forward, and backward = backward-weights then
 * backward-data for a convolution, as the layer runs them: the native bench's conv {@code backward} row
 * times that sequence as one unit for both libraries. Native files without that row (before
 * 2026-12-05 10:00Z) give the sum of the {@code bwd_data} and {@code bwd_weights} rows instead, each
 * pass timed alone: 1.3-1.5x faster on the depthwise rows than the sequence, because a pass repeated
 * alone keeps its two big tensors warm in the caches and the sequence streams three (bench/README.md).
 * Then, per thread count, the figures of issue 8's "Done means": geomean and minimum of
 * {@code t_oneDNN_best / t_java} and of {@code t_oneDNN_nchw / t_java} (> 1: the Java layer is faster).
 *
 * <p>"oneDNN best" of a pass is the faster of oneDNN's preferred-layout direct convolution and
 * {@code convolution_auto} (the native bench's {@code onednn_best_ms}), for a whole backward the faster
 * of the two timed as a sequence (older files: the sum of the two passes' bests). Times are medians: JMH sample mode's {@code p0.50}.
 *
 * <p>Max-pool rows timed with rotated buffers (the native bench's {@code "buffers": "rotated"},
 * {@code pcnn-bench --pool-buffers}; LayerBench's {@code -p buffers=rotated}) stay out of that table and its
 * figures, which compare the Java layer timed on the same buffers every call with the same-buffer native
 * rows; a section after them sets the C entry points' ratio to oneDNN best with the same buffers beside the
 * one with rotated buffers, and the Java layer's with rotated buffers beside that ({@link PoolModesReport#poolReport}).
 *
 * <p>oneDNN in the same forks: given the JSON lines {@link OnednnWindows} appended during the JMH run (LayerBench
 * with {@code -Dpanamacnn.bench.onednn}), a row's oneDNN times are those, timed in the layer's own fork between its
 * measurement iterations ({@code onednn} column {@code fork}), instead of the native bench's, which were timed
 * minutes away in another process ({@code native}); {@code x_best_native} keeps the ratio to the native bench's
 * oneDNN best beside it, and the summary gives both. Over several rounds each variant keeps its lowest median, as
 * the JMH rows and the native bench's rows do.
 *
 * <p>Run: {@code java -cp <test classpath> io.github.panamacnn.bench.BenchJoin NATIVE.json JMH.json [OUT.md
 * [ONEDNN_FORKS.jsonl]]} ({@code scripts/bench.sh} does it after both benches). Prints the table; writes it to OUT
 * too.
 */
public final class BenchJoin {
    private BenchJoin() {
    }

    /** "oneDNN best" may lose to the Java layer by at most this much on any row (issue 8). */
    static final double MIN_RATIO_BEST = 0.8;

    /**
     * One whole-layer pass; times in microseconds, NaN when a bench did not measure it.
     * {@code cUs} is panama-cnn's C entry points in the native bench (same kernels, no Java); {@code entryUs}
     * the same entry points called from the JVM in the same JMH run ({@link EntryBench}, when it ran), so
     * {@code javaUs / entryUs} is what the layer adds, without the drift between the two benches' runs.
     * {@code bestUs} and {@code plainUs} are oneDNN's times from the layer's own JMH forks when {@code inFork}, else
     * the native bench's; {@code nativeBestUs} is always the native bench's.
     */
    record Row(String shape, String pass, int threads, double javaUs, double cUs, double bestUs, double plainUs,
               double entryUs, boolean inFork, double nativeBestUs) {
        Row(String shape, String pass, int threads, double javaUs, double cUs, double bestUs, double plainUs,
            double entryUs) {
            this(shape, pass, threads, javaUs, cUs, bestUs, plainUs, entryUs, false, bestUs);
        }

        /** The ratio with the native bench's oneDNN best (timed in another process, minutes away). */
        double xBestNative() {
            return nativeBestUs / javaUs;
        }

        double xBest() {
            return bestUs / javaUs;
        }

        double xPlain() {
            return plainUs / javaUs;
        }

        boolean complete() {
            return Double.isFinite(xBest()) && Double.isFinite(xPlain());
        }
    }

    /** The native bench's numbers for one whole-layer pass, microseconds. */
    record NativePass(double cUs, double bestUs, double plainUs) {
        NativePass plus(NativePass o) {
            return new NativePass(cUs + o.cUs, bestUs + o.bestUs, plainUs + o.plainUs);
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2 || args.length > 4) {
            System.err.println("usage: BenchJoin NATIVE.json JMH.json [OUT.md [ONEDNN_FORKS.jsonl]]");
            System.exit(2);
        }
        ObjectMapper mapper = new ObjectMapper();
        JsonNode nat = mapper.readTree(Path.of(args[0]).toFile());
        JsonNode jmh = mapper.readTree(Path.of(args[1]).toFile());
        Map<String, ForkOnednn> fork = args.length == 4 && Files.exists(Path.of(args[3]))
                ? forkOnednn(Files.readAllLines(Path.of(args[3]))) : Map.of();
        String forkNote = args.length < 4 ? ""
                : fork.isEmpty() ? "oneDNN in the JMH forks: no times in " + args[3] + " (native bench's oneDNN times used)\n\n"
                : "oneDNN in the JMH forks: " + args[3] + "\n\n";
        String report = header(nat, args[0], args[1]) + forkNote + report(join(nat, jmh, fork))
                + PoolModesReport.poolReport(PoolModesReport.poolModes(nat, jmhMedians(jmh, LayerBench.class, ROTATED)));
        System.out.print(report);
        if (args.length >= 3) {
            Files.writeString(Path.of(args[2]), report);
        }
    }

    /** {@link #join(JsonNode, JsonNode, Map)} without oneDNN times from the JMH forks. */
    static List<Row> join(JsonNode nativeJson, JsonNode jmhJson) {
        return join(nativeJson, jmhJson, Map.of());
    }

    /**
     * Rows in the native bench's order (shape, threads, forward then backward); Java-only rows after them. A row
     * in {@code fork} takes its oneDNN times from there.
     */
    static List<Row> join(JsonNode nativeJson, JsonNode jmhJson, Map<String, ForkOnednn> fork) {
        Map<String, NativePass> nat = nativeWholeLayer(nativeJson);
        Map<String, Double> java = jmhMedians(jmhJson);
        Map<String, Double> entry = jmhMedians(jmhJson, EntryBench.class);
        List<String> keys = new ArrayList<>(nat.keySet());
        for (String k : java.keySet()) {
            if (!nat.containsKey(k)) {
                keys.add(k);
            }
        }
        List<Row> rows = new ArrayList<>();
        NativePass none = new NativePass(Double.NaN, Double.NaN, Double.NaN);
        for (String k : keys) {
            String[] p = k.split("\t");
            NativePass n = nat.getOrDefault(k, none);
            ForkOnednn f = fork.get(k);
            rows.add(new Row(p[0], p[1], Integer.parseInt(p[2]), java.getOrDefault(k, Double.NaN), n.cUs,
                    f != null ? f.bestUs : n.bestUs, f != null ? f.plainUs : n.plainUs, entry.getOrDefault(k, Double.NaN),
                    f != null, n.bestUs));
        }
        return rows;
    }

    /** oneDNN's times for one row from the JMH forks, us: best = the faster of blocked and auto, plain = nchw. */
    record ForkOnednn(double bestUs, double plainUs) {
    }

    /**
     * The JSON lines of {@link OnednnWindows} ({@code shape}, {@code pass}, {@code threads}, {@code variant},
     * {@code median_us}, ...) by row: per variant the lowest median over the lines (rounds), then best and plain.
     * A row needs its nchw line and at least one of blocked / auto; others are left out (the native times stay).
     */
    static Map<String, ForkOnednn> forkOnednn(List<String> jsonLines) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        Map<String, Map<String, Double>> byRow = new LinkedHashMap<>();
        int n = 0;
        for (String line : jsonLines) {
            n++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode o = mapper.readTree(line);
            String variant = o.path("variant").asText();
            if (!List.of("nchw", "blocked", "auto").contains(variant)) {
                throw new IllegalArgumentException("line " + n + ": unknown oneDNN variant '" + variant + "'");
            }
            double us = o.path("median_us").asDouble(Double.NaN);
            if (!(us > 0) || Double.isInfinite(us)) {
                throw new IllegalArgumentException("line " + n + ": median_us must be a positive time, got "
                        + o.path("median_us"));
            }
            String k = key(o.path("shape").asText(), o.path("pass").asText(), o.path("threads").asInt());
            byRow.computeIfAbsent(k, x -> new LinkedHashMap<>()).merge(variant, us, Math::min);
        }
        Map<String, ForkOnednn> out = new LinkedHashMap<>();
        byRow.forEach((k, v) -> {
            double best = Math.min(v.getOrDefault("blocked", Double.POSITIVE_INFINITY),
                    v.getOrDefault("auto", Double.POSITIVE_INFINITY));
            if (v.containsKey("nchw") && Double.isFinite(best)) {
                out.put(k, new ForkOnednn(best, v.get("nchw")));
            }
        });
        return out;
    }

    /**
     * Whole-layer passes of the native bench: forward; backward (pool: the scatter; conv: the timed
     * sequence, or, when the file has none, bwd_data + bwd_weights).
     */
    static Map<String, NativePass> nativeWholeLayer(JsonNode nativeJson) {
        JsonNode results = nativeJson.path("results");
        if (!results.isArray()) {
            throw new IllegalArgumentException("the native bench JSON has no \"results\" array");
        }
        Map<String, NativePass> out = new LinkedHashMap<>();
        Map<String, NativePass> partial = new LinkedHashMap<>(); // conv backward: bwd_data / bwd_weights seen so far
        Map<String, Integer> partialCount = new LinkedHashMap<>();
        java.util.Set<String> wholeRows = new java.util.HashSet<>(); // had a "backward" row: the halves do not replace it
        for (JsonNode r : results) {
            if (rotated(r)) {
                continue; // the Java layer is timed on the same buffers: like with like (poolReport shows these)
            }
            String shape = r.path("shape").asText();
            String pass = r.path("pass").asText();
            int threads = r.path("threads").asInt();
            double c = msToUs(r.path("pcnn_ms"));
            double plain = msToUs(r.path("onednn_nchw_ms"));
            NativePass np = new NativePass(c, bestUs(r), plain);
            switch (pass) {
                // fwd_noidx: max-pool forward without indices (MaxPool2d in eval()), a pass of its own
                case "forward", "fwd_noidx" -> out.put(key(shape, pass, threads), np);
                case "backward" -> {
                    out.put(key(shape, pass, threads), np);
                    wholeRows.add(key(shape, pass, threads));
                }
                case "bwd_data", "bwd_weights" -> {
                    String k = key(shape, "backward", threads);
                    out.putIfAbsent(k, null); // keeps the row's place; filled once both halves are in
                    partial.merge(k, np, NativePass::plus);
                    partialCount.merge(k, 1, Integer::sum);
                    if (partialCount.get(k) == 2 && !wholeRows.contains(k)) {
                        out.put(k, partial.get(k));
                    }
                }
                default -> throw new IllegalArgumentException("unknown pass '" + pass + "' for " + shape);
            }
        }
        out.entrySet().removeIf(e -> e.getValue() == null); // a backward with only one of its two passes
        return out;
    }

    static String header(JsonNode nat, String nativeFile, String jmhFile) {
        double load = nat.path("load_average_before").asDouble(Double.NaN);
        int cpus = nat.path("online_cpus").asInt(1);
        String busy = load > 0.5 ? String.format(Locale.ROOT, "**Provisional: load average %.2f on %d CPUs before the "
                + "native bench; the machine was busy, so the ratios are noisy.**%n%n", load, cpus) : "";
        return String.format(Locale.ROOT, "# Java layer path vs oneDNN (%s, %s, oneDNN %s, load average before %.2f)%n%n"
                        + "native bench: %s%nJMH (LayerBench): %s%n%n%s", nat.path("date_utc").asText("?"),
                nat.path("cpu").asText("?"), nat.path("onednn").asText("-"), load, nativeFile, jmhFile, busy);
    }

    /** The table and, per thread count, the "Done means" figures. */
    static String report(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("Whole-layer medians in us; conv backward = backward-weights then backward-data, timed as one "
                + "sequence in the native bench too (files without that row: the sum of the two passes timed apart). "
                + "x_best = t_oneDNN_best / t_java, x_plain = t_oneDNN_nchw / t_java (> 1: the Java layer is faster); "
                + "java/c = the layer's time over the C entry points' (the native bench, another run); "
                + "java/entry = the layer's time over the same C entry points called from the JVM in the same JMH run "
                + "(EntryBench; - when it did not run): what the Java layer adds. onednn = where oneDNN's times come "
                + "from: `fork`, timed in the layer's own JMH fork between its measurement iterations; `native`, the "
                + "native bench (another process, minutes away); x_best_native = the native bench's oneDNN best / "
                + "t_java.\n\n");
        sb.append("| shape | pass | threads | java_layer_us | c_entry_us | onednn_best_us | onednn_nchw_us | x_best | x_plain "
                + "| java/c | java/entry | onednn | x_best_native |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.shape, r.pass, r.threads, us(r.javaUs), us(r.cUs), us(r.bestUs), us(r.plainUs), ratio(r.xBest()),
                    ratio(r.xPlain()), ratio(r.javaUs / r.cUs), ratio(r.javaUs / r.entryUs), r.inFork ? "fork" : "native",
                    ratio(r.xBestNative())));
        }
        sb.append('\n');
        for (int t : new TreeSet<>(rows.stream().map(Row::threads).toList())) {
            sb.append(summary(rows.stream().filter(r -> r.threads == t).toList(), t));
        }
        return sb.toString();
    }

    private static String summary(List<Row> rows, int threads) {
        List<Row> ok = rows.stream().filter(Row::complete).toList();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%d thread(s), %d of %d rows with both benches:", threads, ok.size(),
                rows.size()));
        if (ok.isEmpty()) {
            return sb.append(" nothing to compare\n").toString();
        }
        Row minBest = ok.get(0);
        Row minPlain = ok.get(0);
        double logBest = 0;
        double logPlain = 0;
        int belowBest = 0;
        int belowPlain = 0;
        for (Row r : ok) {
            logBest += Math.log(r.xBest());
            logPlain += Math.log(r.xPlain());
            minBest = r.xBest() < minBest.xBest() ? r : minBest;
            minPlain = r.xPlain() < minPlain.xPlain() ? r : minPlain;
            belowBest += r.xBest() < MIN_RATIO_BEST ? 1 : 0;
            belowPlain += r.xPlain() < 1 ? 1 : 0;
        }
        double geoBest = Math.exp(logBest / ok.size());
        double geoPlain = Math.exp(logPlain / ok.size());
        sb.append(String.format(Locale.ROOT, " geomean x_best %.2f, min x_best %.2f (%s %s), geomean x_plain %.2f, "
                        + "min x_plain %.2f (%s %s)%n", geoBest, minBest.xBest(), minBest.shape, minBest.pass, geoPlain,
                minPlain.xPlain(), minPlain.shape, minPlain.pass));
        sb.append(String.format(Locale.ROOT, "  done means: geomean x_best >= 1.0 %s; no row below %.1fx best %s (%d below);"
                        + " every row >= 1.0x nchw %s (%d below)%n", yesNo(geoBest >= 1), MIN_RATIO_BEST,
                yesNo(belowBest == 0), belowBest, yesNo(belowPlain == 0), belowPlain));
        long inFork = ok.stream().filter(Row::inFork).count();
        List<Row> withNative = ok.stream().filter(r -> Double.isFinite(r.xBestNative())).toList();
        if (inFork > 0 && !withNative.isEmpty()) {
            double logNative = 0;
            Row minNative = withNative.get(0);
            int belowNative = 0;
            for (Row r : withNative) {
                logNative += Math.log(r.xBestNative());
                minNative = r.xBestNative() < minNative.xBestNative() ? r : minNative;
                belowNative += r.xBestNative() < MIN_RATIO_BEST ? 1 : 0;
            }
            sb.append(String.format(Locale.ROOT, "  oneDNN timed in the JMH forks for %d of %d rows; with the native "
                            + "bench's oneDNN best instead (%d rows): geomean x_best_native %.2f, min %.2f (%s %s), %d below "
                            + "%.1fx%n", inFork, ok.size(), withNative.size(), Math.exp(logNative / withNative.size()),
                    minNative.xBestNative(), minNative.shape, minNative.pass, belowNative, MIN_RATIO_BEST));
        }
        for (Row r : rows) {
            if (!r.complete()) {
                sb.append(String.format(Locale.ROOT, "  not compared: %s %s (%s)%n", r.shape, r.pass,
                        Double.isNaN(r.javaUs) ? "no JMH time" : "no oneDNN time"));
            }
        }
        return sb.toString();
    }

    private static String yesNo(boolean b) {
        return b ? "YES" : "NO";
    }


}
