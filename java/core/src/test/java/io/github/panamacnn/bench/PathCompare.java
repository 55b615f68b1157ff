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
import java.util.function.Supplier;

/**
 * The Java layer's call ({@link LayerBench}) against the same C entry points called straight
 * ({@link EntryBench}), interleaved in one process: round after round, a block of calls of one then a
 * block of the other (the order alternating), so both see the same machine load. Prints, per row, pass
 * and thread count, the median call time of each and the median over rounds of their ratio.
 *
 * <p>{@code clock=cpu} times each call in the calling thread's CPU time (at 1 kernel thread the kernel
 * runs on the caller, so that is the call's own time, which other processes' load on a shared machine
 * does not inflate; at 2 threads it misses the worker's share, so keep {@code threads=1}); the default
 * {@code clock=wall} is {@link System#nanoTime}. The CPU clock is {@code clock_gettime(CLOCK_THREAD_CPUTIME_ID)}
 * through the FFM API (Linux only; {@code java.lang.management} is not readable from the library's module,
 * which the tests are compiled into); reading it costs ~1 us a call on this VM: use it for calls of
 * tens of microseconds or more.
 *
 * <p>Run (test class path): {@code java ... io.github.panamacnn.bench.PathCompare ROW[,ROW...] [threads=1,2]
 * [pass=forward,backward] [rounds=15] [ms=150] [clock=wall|cpu] [buffers=same|rotated]}.
 *
 * <p>{@code buffers=rotated} (max-pool rows only): both sides cycle through the same number of buffer sets
 * ({@link LayerBench#rotationSets}: K layers with their own tensors against K sets of C buffers), as the
 * native bench's {@code --pool-buffers rotated}.
 */
public final class PathCompare {
    private static boolean cpuClock;
    private static MethodHandle clockGettime; // int clock_gettime(clockid_t, struct timespec *)
    private static MemorySegment timespec;     // {long tv_sec; long tv_nsec;} on Linux x86-64 and AArch64
    private static final int CLOCK_THREAD_CPUTIME_ID = 3; // Linux

    private PathCompare() {
    }

    public static void main(String[] args) {
        String[] rows = args[0].split(",");
        int[] threadCounts = {1, 2};
        String[] passes = {"forward", "backward"};
        int rounds = 15;
        double blockMs = 150;
        String buffers = "same";
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            switch (kv[0]) {
                case "threads" -> threadCounts = Arrays.stream(kv[1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "pass" -> passes = kv[1].split(",");
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "ms" -> blockMs = Double.parseDouble(kv[1]);
                case "buffers" -> buffers = kv[1];
                case "clock" -> cpuClock = switch (kv[1]) {
                    case "cpu" -> true;
                    case "wall" -> false;
                    default -> throw new IllegalArgumentException("clock must be wall or cpu, not " + kv[1]);
                };
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (cpuClock) {
            if (!System.getProperty("os.name", "").startsWith("Linux")) {
                throw new IllegalStateException("clock=cpu reads CLOCK_THREAD_CPUTIME_ID: Linux only");
            }
            Linker linker = Linker.nativeLinker();
            clockGettime = linker.downcallHandle(linker.defaultLookup().find("clock_gettime").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            timespec = Arena.global().allocate(16, 8);
            now(); // fails here, not in a timed block, if the clock cannot be read
        }
        System.out.printf("%-12s %-8s %3s %12s %12s %8s  (%s, %s buffers)%n", "shape", "pass", "thr", "layer_us",
                "entry_us", "ratio", cpuClock ? "thread CPU time" : "wall time", buffers);
        for (String row : rows) {
            for (int t : threadCounts) {
                LayerBench layer = new LayerBench();
                layer.shape = row;
                layer.threads = t;
                layer.buffers = buffers;
                EntryBench entry = new EntryBench();
                entry.shape = row;
                entry.threads = t;
                entry.buffers = buffers;
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
            long t0 = now();
            sink = f.get();
            times.add((now() - t0) / 1e3);
        }
        if (sink == null) {
            throw new IllegalStateException("no result");
        }
        return median(times);
    }

    /** Nanoseconds on the chosen clock (see the class comment). */
    private static long now() {
        if (!cpuClock) {
            return System.nanoTime();
        }
        int rc;
        try {
            rc = (int) clockGettime.invokeExact(CLOCK_THREAD_CPUTIME_ID, timespec);
        } catch (Throwable t) {
            throw new IllegalStateException("clock_gettime", t);
        }
        if (rc != 0) {
            throw new IllegalStateException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) returned " + rc);
        }
        return timespec.get(ValueLayout.JAVA_LONG, 0) * 1_000_000_000L + timespec.get(ValueLayout.JAVA_LONG, 8);
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : 0.5 * (a[a.length / 2 - 1] + a[a.length / 2]);
    }
}
