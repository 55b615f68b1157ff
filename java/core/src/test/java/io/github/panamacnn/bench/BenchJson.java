package io.github.panamacnn.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reading the two bench files and printing their numbers, shared by {@link BenchJoin} (the whole-layer table) and
 * {@link PoolModesReport} (the max-pool section): the native bench's JSON rows (times in ms, -1 when not measured,
 * the {@code buffers} mode of max-pool rows), JMH's medians by shape, pass and threads, and the table cells.
 */
final class BenchJson {
    private BenchJson() {
    }

    /** The {@code buffers} value of rows timed with each call on the next of several buffer copies (max-pool). */
    static final String ROTATED = "rotated";
    /** The {@code buffers} value of rows timed on the same buffers every call; files without the field mean this. */
    static final String SAME = "same";

    /** A native row timed with each call on the next of several buffer copies (max-pool, --pool-buffers). */
    static boolean rotated(JsonNode r) {
        return ROTATED.equals(r.path("buffers").asText(SAME));
    }

    /** oneDNN best of a native row, us; older JSON without onednn_best_ms: the faster of preferred and auto. */
    static double bestUs(JsonNode r) {
        double best = msToUs(r.path("onednn_best_ms"));
        if (Double.isNaN(best)) {
            best = Math.min(orInf(msToUs(r.path("onednn_preferred_ms"))), orInf(msToUs(r.path("onednn_auto_ms"))));
            best = Double.isInfinite(best) ? Double.NaN : best;
        }
        return best;
    }

    /** The map key of a row: shape, pass and thread count. */
    static String key(String shape, String pass, int threads) {
        return shape + "\t" + pass + "\t" + threads;
    }

    /** NaN (not measured) as +infinity, for a minimum over optional times. */
    static double orInf(double v) {
        return Double.isNaN(v) ? Double.POSITIVE_INFINITY : v;
    }

    /** -1 (or null, absent) in the native JSON means "not measured". */
    static double msToUs(JsonNode v) {
        if (!v.isNumber() || v.asDouble() <= 0) {
            return Double.NaN;
        }
        return v.asDouble() * 1e3;
    }

    /** {@link LayerBench} medians (us) by shape, pass and threads; other benchmarks in the file are ignored. */
    static Map<String, Double> jmhMedians(JsonNode jmhJson) {
        return jmhMedians(jmhJson, LayerBench.class);
    }

    /**
     * The medians (us) of {@code bench}'s runs ({@link LayerBench} or {@link EntryBench}) on the same buffers every
     * call, by shape, pass and threads.
     */
    static Map<String, Double> jmhMedians(JsonNode jmhJson, Class<?> benchClass) {
        return jmhMedians(jmhJson, benchClass, SAME);
    }

    /**
     * The medians (us) of {@code bench}'s runs with the {@code buffers} parameter {@code buffers} ({@link #SAME}
     * also takes runs without it: files from before the parameter, EntryBench), by shape, pass and threads.
     */
    static Map<String, Double> jmhMedians(JsonNode jmhJson, Class<?> benchClass, String buffers) {
        if (!jmhJson.isArray()) {
            throw new IllegalArgumentException("the JMH JSON is not an array of runs");
        }
        String prefix = benchClass.getName() + ".";
        Map<String, Double> out = new LinkedHashMap<>();
        for (JsonNode run : jmhJson) {
            String bench = run.path("benchmark").asText();
            if (!bench.startsWith(prefix)) {
                continue;
            }
            if (!buffers.equals(run.path("params").path("buffers").asText(SAME))) {
                continue; // rotated rows stay out of the same-buffer table (poolReport shows them), and vice versa
            }
            String pass = bench.substring(prefix.length());
            if ("eval".equals(run.path("params").path("mode").asText("train"))) {
                if (!pass.equals("forward")) {
                    throw new IllegalArgumentException(bench + ": mode=eval is a forward without indices; "
                            + pass + " has no such row");
                }
                pass = "fwd_noidx"; // a MaxPool2d in eval(): the native bench's forward without indices
            }
            String shape = run.path("params").path("shape").asText();
            int threads = Integer.parseInt(run.path("params").path("threads").asText());
            JsonNode metric = run.path("primaryMetric");
            String mode = run.path("mode").asText();
            double value = switch (mode) {
                case "sample" -> metric.path("scorePercentiles").path("50.0").asDouble(Double.NaN);
                case "avgt", "ss" -> metric.path("score").asDouble(Double.NaN);
                default -> throw new IllegalArgumentException(bench + ": mode '" + mode
                        + "' is not a time per call (use sample, avgt or ss)");
            };
            out.put(key(shape, pass, threads), value * usPer(metric.path("scoreUnit").asText(), bench));
        }
        return out;
    }

    /** Microseconds per one of JMH's {@code scoreUnit}s. */
    static double usPer(String unit, String bench) {
        return switch (unit) {
            case "ns/op" -> 1e-3;
            case "us/op" -> 1;
            case "ms/op" -> 1e3;
            case "s/op" -> 1e6;
            default -> throw new IllegalArgumentException(bench + ": unknown time unit '" + unit + "'");
        };
    }

    /** A time cell: two decimals under 1000 us, none above, "-" when not measured. */
    static String us(double v) {
        if (!Double.isFinite(v)) {
            return "-";
        }
        return String.format(Locale.ROOT, v < 1000 ? "%.2f" : "%.0f", v);
    }

    /** A ratio cell, "-" when either side was not measured. */
    static String ratio(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f", v) : "-";
    }
}
