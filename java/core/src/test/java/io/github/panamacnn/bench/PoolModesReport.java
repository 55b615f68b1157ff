package io.github.panamacnn.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

import static io.github.panamacnn.bench.BenchJson.bestUs;
import static io.github.panamacnn.bench.BenchJson.key;
import static io.github.panamacnn.bench.BenchJson.msToUs;
import static io.github.panamacnn.bench.BenchJson.ratio;
import static io.github.panamacnn.bench.BenchJson.rotated;
import static io.github.panamacnn.bench.BenchJson.us;

/**
 * The max-pool section of {@link BenchJoin}'s report: each max-pool pass the native bench timed with rotated buffers
 * beside its same-buffer twin, and the Java layer's rotated time ({@link LayerBench} {@code -p buffers=rotated}),
 * as ratios to oneDNN best timed the same way (bench/README.md, "Max-pool: same or rotated buffers").
 */
final class PoolModesReport {
    private PoolModesReport() {
    }

    /**
     * A max-pool pass of the native bench timed both ways, us: the same buffers every call ({@code cSameUs},
     * {@code bestSameUs}; NaN when the file has no such row) and rotated among {@code sets} copies; and the Java
     * layer with rotated buffers ({@code javaRotUs}: LayerBench {@code -p buffers=rotated}, the same number of
     * copies; NaN when JMH did not run it, always for {@code fwd_noidx}).
     */
    record PoolModes(String shape, String pass, int threads, double cSameUs, double bestSameUs, double cRotUs,
                     double bestRotUs, int sets, double javaRotUs) {
        double xSame() {
            return bestSameUs / cSameUs;
        }

        double xRotated() {
            return bestRotUs / cRotUs;
        }

        /** The Java layer with rotated buffers against oneDNN best with rotated buffers (> 1: the layer is faster). */
        double xJavaRotated() {
            return bestRotUs / javaRotUs;
        }
    }

    /**
     * The native bench's rotated-buffer rows, each with its same-buffer twin and the Java layer's rotated time
     * ({@code javaRotated}: {@link BenchJson#jmhMedians(JsonNode, Class, String)} with {@link BenchJson#ROTATED}), in the file's
     * order; then the Java layer's rotated rows the native file lacks (a native run with {@code --pool-buffers same}).
     */
    static List<PoolModes> poolModes(JsonNode nativeJson, Map<String, Double> javaRotated) {
        Map<String, JsonNode> same = new LinkedHashMap<>();
        List<JsonNode> rotated = new ArrayList<>();
        for (JsonNode r : nativeJson.path("results")) {
            if (rotated(r)) {
                rotated.add(r);
            } else {
                same.put(key(r.path("shape").asText(), r.path("pass").asText(), r.path("threads").asInt()), r);
            }
        }
        List<PoolModes> out = new ArrayList<>();
        for (JsonNode r : rotated) {
            String shape = r.path("shape").asText();
            String pass = r.path("pass").asText();
            int threads = r.path("threads").asInt();
            JsonNode s = same.get(key(shape, pass, threads));
            out.add(new PoolModes(shape, pass, threads, s == null ? Double.NaN : msToUs(s.path("pcnn_ms")),
                    s == null ? Double.NaN : bestUs(s), msToUs(r.path("pcnn_ms")), bestUs(r),
                    r.path("buffer_sets").asInt(0), javaRotated.getOrDefault(key(shape, pass, threads), Double.NaN)));
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        out.forEach(m -> seen.add(key(m.shape, m.pass, m.threads)));
        javaRotated.forEach((k, us) -> {
            if (!seen.contains(k)) {
                String[] p = k.split("\t");
                out.add(new PoolModes(p[0], p[1], Integer.parseInt(p[2]), Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                        0, us));
            }
        });
        return out;
    }

    /** The max-pool section: same vs rotated buffers, C entry points vs oneDNN best; empty without rotated rows. */
    static String poolReport(List<PoolModes> rows) {
        if (rows.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%n## Max-pool: the same buffers every call, or rotated%n%n"
                + "The native bench's max-pool passes (C entry points) timed two ways, for both libraries: `same`, "
                + "every timed call on the same buffers (the table above; LayerBench times the Java layer so too), and "
                + "`rotated`, each call on the next of `sets` copies of every buffer it touches, so that nothing is "
                + "still cached from its last use, as for a layer inside a network. Where each core keeps a cache of "
                + "its own (the project's 2-vCPU VM: ~12-16 MB each, none shared), the same-buffer repetition favours "
                + "the smaller working set (bench/README.md, \"Max-pool: same or rotated buffers\"). "
                + "x = t_oneDNN_best / t_panama-cnn "
                + "(> 1: panama-cnn faster). `java_rotated_us`: the Java layer (LayerBench `-p buffers=rotated`, the same "
                + "number of copies, each a MaxPool2d with its own tensors; forward with the mask (tap bytes) and backward only; "
                + "another run than the native bench), `x_java_rotated` = t_oneDNN_best_rotated / t_java_rotated.%n%n"));
        sb.append("| shape | pass | threads | c_same_us | onednn_best_same_us | x_same | c_rotated_us | java_rotated_us "
                + "| onednn_best_rotated_us | x_rotated | x_java_rotated | sets |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (PoolModes r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.shape, r.pass, r.threads, us(r.cSameUs), us(r.bestSameUs), ratio(r.xSame()), us(r.cRotUs),
                    us(r.javaRotUs), us(r.bestRotUs), ratio(r.xRotated()), ratio(r.xJavaRotated()),
                    r.sets > 0 ? Integer.toString(r.sets) : "-"));
        }
        sb.append('\n');
        for (int t : new TreeSet<>(rows.stream().map(PoolModes::threads).toList())) {
            List<PoolModes> at = rows.stream().filter(r -> r.threads == t).toList();
            sb.append(String.format(Locale.ROOT, "%d thread(s), max-pool, C entry vs oneDNN best: same buffers %s; "
                    + "rotated buffers %s%n", t, poolSummary(at, PoolModes::xSame), poolSummary(at, PoolModes::xRotated)));
            sb.append(String.format(Locale.ROOT, "%d thread(s), max-pool, Java layer vs oneDNN best, rotated buffers: "
                    + "%s%n", t, poolSummary(at, PoolModes::xJavaRotated)));
        }
        return sb.toString();
    }

    /** "min x 0.55 (pool_mid forward), 1 of 6 below 0.8x", over the rows with a ratio. */
    private static String poolSummary(List<PoolModes> rows, java.util.function.ToDoubleFunction<PoolModes> x) {
        List<PoolModes> ok = rows.stream().filter(r -> Double.isFinite(x.applyAsDouble(r))).toList();
        if (ok.isEmpty()) {
            return "not compared";
        }
        PoolModes min = ok.get(0);
        int below = 0;
        for (PoolModes r : ok) {
            min = x.applyAsDouble(r) < x.applyAsDouble(min) ? r : min;
            below += x.applyAsDouble(r) < BenchJoin.MIN_RATIO_BEST ? 1 : 0;
        }
        return String.format(Locale.ROOT, "min x %.2f (%s %s), %d of %d below %.1fx", x.applyAsDouble(min), min.shape,
                min.pass, below, ok.size(), BenchJoin.MIN_RATIO_BEST);
    }
}
