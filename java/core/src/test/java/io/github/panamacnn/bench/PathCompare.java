package io.github.panamacnn.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The Java layer's call ({@link LayerBench}) against the same C entry points called straight
 * ({@link EntryBench}), interleaved in one process: round after round, a block of calls of one then a
 * block of the other (the order alternating), so both see the same machine load. Prints, per row, pass
 * and thread count, the median call time of each and the median over rounds of their ratio.
 *
 * <p>Run (test class path): {@code java ... io.github.panamacnn.bench.PathCompare ROW[,ROW...] [threads=1,2]
 * [pass=forward,backward] [rounds=15] [ms=150]}.
 */
public final class PathCompare {
    private PathCompare() {
    }

    public static void main(String[] args) {
        String[] rows = args[0].split(",");
        int[] threadCounts = {1, 2};
        String[] passes = {"forward", "backward"};
        int rounds = 15;
        double blockMs = 150;
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            switch (kv[0]) {
                case "threads" -> threadCounts = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "pass" -> passes = kv[1].split(",");
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "ms" -> blockMs = Double.parseDouble(kv[1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.out.printf("%-12s %-8s %3s %12s %12s %8s%n", "shape", "pass", "thr", "layer_us", "entry_us", "ratio");
        for (String row : rows) {
            for (int t : threadCounts) {
                LayerBench layer = new LayerBench();
                layer.shape = row;
                layer.threads = t;
                EntryBench entry = new EntryBench();
                entry.shape = row;
                entry.threads = t;
                layer.setUp();
                entry.setUp();
                try {
                    for (String pass : passes) {
                        boolean fwd = pass.equals("forward");
                        Supplier<Object> a = fwd ? layer::forward : layer::backward;
                        Supplier<Object> b = fwd ? entry::forward : entry::backward;
                        compare(row, pass, t, a, b, rounds, blockMs);
                    }
                } finally {
                    layer.tearDown();
                    entry.tearDown();
                }
            }
        }
    }

    private static void compare(String row, String pass, int t, Supplier<Object> a, Supplier<Object> b, int rounds,
                                double blockMs) {
        // warm-up: JIT and caches
        block(a, blockMs * 3);
        block(b, blockMs * 3);
        List<Double> ta = new ArrayList<>(), tb = new ArrayList<>(), ratio = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            double x, y;
            if (r % 2 == 0) {
                x = block(a, blockMs);
                y = block(b, blockMs);
            } else {
                y = block(b, blockMs);
                x = block(a, blockMs);
            }
            ta.add(x);
            tb.add(y);
            ratio.add(x / y);
        }
        System.out.printf("%-12s %-8s %3d %12.2f %12.2f %8.3f%n", row, pass, t, median(ta), median(tb), median(ratio));
    }

    /** Median call time in us over a block of about {@code ms} milliseconds (at least 5 calls). */
    private static double block(Supplier<Object> f, double ms) {
        List<Double> times = new ArrayList<>();
        long end = System.nanoTime() + (long) (ms * 1e6);
        Object sink = null;
        while (times.size() < 5 || System.nanoTime() < end) {
            long t0 = System.nanoTime();
            sink = f.get();
            times.add((System.nanoTime() - t0) / 1e3);
        }
        if (sink == null) {
            throw new IllegalStateException("no result");
        }
        return median(times);
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : 0.5 * (a[a.length / 2 - 1] + a[a.length / 2]);
    }
}
