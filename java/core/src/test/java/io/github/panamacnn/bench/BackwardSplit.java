package io.github.panamacnn.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Is a conv layer's backward slower than the native bench's two passes timed apart? In one JVM,
 * blocks of calls of four modes, their order rotating from round to round, so all see the same load:
 * <ul>
 *   <li>{@code layer}: {@link LayerBench#backward()} ({@code Conv2d.backward});</li>
 *   <li>{@code entry}: {@link EntryBench#backward()}: {@code pcnn_conv2d_bwd_weights} (bias gradient) then
 *       {@code pcnn_conv2d_bwd_data}, the layer's sequence without the layer;</li>
 *   <li>{@code W}, {@code D}: {@link EntryBench#backwardWeights()} and {@link EntryBench#backwardData()}
 *       alone, as the native bench times them; {@code W+D} is what the join's {@code c_entry_us} sums.</li>
 * </ul>
 * Per mode: the median over rounds of the block's median call (wall) and of its CPU time per call: all
 * the process's threads ({@code CLOCK_PROCESS_CPUTIME_ID}: the kernel's pool workers included; JIT and
 * GC threads too, idle in steady state) and the calling thread's ({@code CLOCK_THREAD_CPUTIME_ID}: the
 * whole call at 1 kernel thread). POSIX clocks through the FFM API (the module reads no
 * {@code java.management}). The clock ids (2, 3) and the 16-byte {@code timespec} are Linux's (64-bit):
 * on another OS the CPU columns are not measured (NaN, and a note says why) rather than read with
 * another OS's meaning of those ids.
 *
 * <p>Run (test class path): {@code java --enable-native-access=ALL-UNNAMED ... io.github.panamacnn.bench.BackwardSplit
 * ROW[,ROW...] [threads=1,2] [rounds=21] [ms=100]}.
 */
public final class BackwardSplit {
    private static final int CLOCK_PROCESS_CPUTIME_ID = 2; // Linux's ids (<linux/time.h>); macOS and the BSDs differ
    private static final int CLOCK_THREAD_CPUTIME_ID = 3;
    /** Why the CPU columns are NaN, or null when they are measured. */
    private static final String NO_CPU_CLOCKS = noCpuClocksReason(System.getProperty("os.name", "?"),
            ValueLayout.ADDRESS.byteSize());
    private static final MethodHandle CLOCK_GETTIME = NO_CPU_CLOCKS != null ? null
            : Linker.nativeLinker().defaultLookup().find("clock_gettime")
                    .map(f -> Linker.nativeLinker().downcallHandle(f,
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS)))
                    .orElse(null);
    private static final MemorySegment TIMESPEC = Arena.global().allocate(16, 8);

    private BackwardSplit() {
    }

    /** Null on 64-bit Linux (the clock ids and timespec layout used here), else what is not supported. */
    static String noCpuClocksReason(String osName, long addressBytes) {
        if (!osName.toLowerCase(Locale.ROOT).startsWith("linux")) {
            return "the CPU-time columns use Linux's clock_gettime ids (2, 3); os.name is " + osName;
        }
        if (addressBytes != 8) {
            return "the CPU-time columns assume a 64-bit timespec; this JVM has " + addressBytes + "-byte addresses";
        }
        return null;
    }

    public static void main(String[] args) {
        String[] rows = args[0].split(",");
        int[] threadCounts = {1, 2};
        int rounds = 21;
        double blockMs = 100;
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            switch (kv[0]) {
                case "threads" -> threadCounts = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "ms" -> blockMs = Double.parseDouble(kv[1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (NO_CPU_CLOCKS != null) {
            System.out.println("note: cpu_us and thrcpu_us are not measured (NaN): only Linux is supported for them: "
                    + NO_CPU_CLOCKS);
        } else if (CLOCK_GETTIME == null) {
            System.out.println("note: cpu_us and thrcpu_us are not measured (NaN): no clock_gettime in the C library");
        }
        System.out.printf("%-11s %3s %-6s %10s %10s %10s%n", "shape", "thr", "mode", "wall_us", "cpu_us", "thrcpu_us");
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
                    run(row, t, rounds, blockMs, List.of(layer::backward, entry::backward, entry::backwardWeights,
                            entry::backwardData));
                } finally {
                    layer.tearDown();
                    entry.tearDown();
                }
            }
        }
    }

    private static void run(String row, int threads, int rounds, double blockMs, List<Supplier<Object>> modes) {
        String[] names = {"layer", "entry", "W", "D"};
        int m = modes.size();
        for (Supplier<Object> f : modes) { // warm-up: JIT and caches
            block(f, blockMs * 3);
        }
        double[][][] r = new double[3][m][rounds]; // [wall, cpu, thread cpu][mode][round]
        for (int k = 0; k < rounds; k++) {
            for (int j = 0; j < m; j++) {
                int mode = (j + k) % m;
                double[] b = block(modes.get(mode), blockMs);
                for (int q = 0; q < 3; q++) {
                    r[q][mode][k] = b[q];
                }
            }
        }
        double[][] med = new double[3][m];
        for (int q = 0; q < 3; q++) {
            for (int j = 0; j < m; j++) {
                med[q][j] = median(r[q][j]);
            }
        }
        for (int j = 0; j < m; j++) {
            System.out.printf("%-11s %3d %-6s %10.1f %10.1f %10.1f%n", row, threads, names[j], med[0][j], med[1][j],
                    med[2][j]);
        }
        System.out.printf("%-11s %3d %-6s %10.1f %10.1f %10.1f%n", row, threads, "W+D", med[0][2] + med[0][3],
                med[1][2] + med[1][3], med[2][2] + med[2][3]);
        System.out.printf("%-11s %3d ratios (wall / cpu): layer/entry %.3f / %.3f, entry/(W+D) %.3f / %.3f, "
                        + "layer/(W+D) %.3f / %.3f%n", row, threads,
                med[0][0] / med[0][1], med[1][0] / med[1][1],
                med[0][1] / (med[0][2] + med[0][3]), med[1][1] / (med[1][2] + med[1][3]),
                med[0][0] / (med[0][2] + med[0][3]), med[1][0] / (med[1][2] + med[1][3]));
    }

    /** {median wall us per call, process CPU us per call, calling thread's CPU us per call} over about {@code ms}. */
    private static double[] block(Supplier<Object> f, double ms) {
        List<Double> times = new ArrayList<>();
        long end = System.nanoTime() + (long) (ms * 1e6);
        Object sink = null;
        double cpu0 = cpuNs(CLOCK_PROCESS_CPUTIME_ID);
        double thr0 = cpuNs(CLOCK_THREAD_CPUTIME_ID);
        while (times.size() < 5 || System.nanoTime() < end) {
            long t0 = System.nanoTime();
            sink = f.get();
            times.add((System.nanoTime() - t0) / 1e3);
        }
        double thr1 = cpuNs(CLOCK_THREAD_CPUTIME_ID);
        double cpu1 = cpuNs(CLOCK_PROCESS_CPUTIME_ID);
        if (sink == null) {
            throw new IllegalStateException("no result");
        }
        int n = times.size();
        return new double[] {median(times.stream().mapToDouble(Double::doubleValue).toArray()),
            (cpu1 - cpu0) / 1e3 / n, (thr1 - thr0) / 1e3 / n};
    }

    /** The clock's time in ns (the benchmark thread only: TIMESPEC is shared), NaN without the clocks (main says why). */
    private static double cpuNs(int clock) {
        if (CLOCK_GETTIME == null) {
            return Double.NaN;
        }
        try {
            if ((int) CLOCK_GETTIME.invokeExact(clock, TIMESPEC) != 0) {
                return Double.NaN;
            }
        } catch (Throwable t) {
            throw new IllegalStateException("clock_gettime failed", t);
        }
        return TIMESPEC.get(ValueLayout.JAVA_LONG, 0) * 1e9 + TIMESPEC.get(ValueLayout.JAVA_LONG, 8);
    }

    private static double median(double[] v) {
        double[] a = v.clone();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : 0.5 * (a[a.length / 2 - 1] + a[a.length / 2]);
    }
}
