package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Conv2d;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.ffi.panamacnn_h;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadFactory;

/**
 * Run in a forked JVM (fixed heap, so that resident memory measures native memory) by {@link ThreadChurnTest},
 * or by hand to reproduce the figures:
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -Xms64m -Xmx64m -XX:+AlwaysPreTouch -XX:+UseSerialGC \
 *      -cp java/core/target/test-classes:java/core/target/classes \
 *      io.github.panamacnn.nativeimpl.ThreadChurnProbe 2000 2000 4
 * </pre>
 * Arguments: platform threads, virtual threads, threads alive at once. Every thread runs one forward and one
 * backward of a {@code Conv2d(128->256, 3x3, stride 2, pad 1)} on a 1x128x28x28 input (one layer per
 * concurrent slot) and ends. Prints key=value lines: resident memory ({@code VmRSS}) and
 * {@code pcnn_scratch_bytes()} before, after the platform threads and after the virtual threads, and from
 * {@code pcnn_scratch_threads} (who holds scratch): {@code holders.*} (threads holding scratch),
 * {@code deadHolders.*} (of those, threads no longer in /proc/self/task; -1 where that does not exist) and
 * {@code unheldBytes.*} ({@code pcnn_scratch_bytes()} minus what the live holders hold: memory no thread owns).
 */
public final class ThreadChurnProbe {
    private ThreadChurnProbe() {
    }

    /** VmRSS of this process in bytes, or -1 where /proc/self/status does not exist. */
    static long residentBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** pcnn_scratch_bytes(), or -1 when the loaded library predates it (to measure an older build). */
    static long scratchBytes() {
        try {
            return PanamaCnn.nativeScratchBytes();
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    public static void main(String[] args) throws Exception {
        int platform = Integer.parseInt(args[0]);
        int virtual = Integer.parseInt(args[1]);
        int concurrency = Integer.parseInt(args[2]);
        SplittableRandom rnd = new SplittableRandom(11);
        float[] xs = new float[128 * 28 * 28];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) rnd.nextDouble(-1, 1);
        }
        Conv2d[] layers = new Conv2d[concurrency];
        for (int i = 0; i < concurrency; i++) {
            layers[i] = Conv2d.builder(128, 256, 3, 3).stride(2).padding(1).seed(5).build();
        }
        Tensor x = Tensor.of(xs, 1, 128, 28, 28);
        Tensor dy = Tensor.zeros(layers[0].outputShape(1, 128, 28, 28)).fill(0.5f);
        System.out.println("isa=" + PanamaCnn.activeIsa().id());
        System.out.println("kernelThreads=" + PanamaCnn.numThreads());
        // warm-up: JIT, the library's pool, the layers' outputs, the virtual threads' carriers; until the
        // long-lived threads' scratch (pool workers and carriers keep theirs) stops growing for two rounds
        // in a row. Which pool worker runs which task depends on timing, so on a loaded machine a worker
        // can first need a slot late (one such 4 KiB growth after one stable round was seen at load ~6).
        long scratch0 = -2;
        int stableRounds = 0;
        for (int round = 0; round < 12 && stableRounds < 2; round++) {
            run(Thread.ofPlatform().factory(), 4 * concurrency, layers, x, dy);
            run(Thread.ofVirtual().factory(), 4 * concurrency, layers, x, dy);
            long s = settledScratch(-1);
            stableRounds = s == scratch0 ? stableRounds + 1 : 0;
            scratch0 = s;
        }
        System.gc();
        long rss0 = residentBytes();
        System.out.println("rss.before=" + rss0);
        System.out.println("scratch.before=" + scratch0);
        printHolders("before", settledHolders());

        long t0 = System.nanoTime();
        run(Thread.ofPlatform().factory(), platform, layers, x, dy);
        long t1 = System.nanoTime();
        long scratch1 = settledScratch(scratch0);
        System.gc();
        long rss1 = residentBytes();
        System.out.println("platform.threads=" + platform);
        System.out.println("platform.seconds=" + String.format("%.2f", (t1 - t0) / 1e9));
        System.out.println("rss.afterPlatform=" + rss1);
        System.out.println("scratch.afterPlatform=" + scratch1);
        printHolders("afterPlatform", settledHolders());

        long t2 = System.nanoTime();
        run(Thread.ofVirtual().factory(), virtual, layers, x, dy);
        long t3 = System.nanoTime();
        long scratch2 = settledScratch(scratch0);
        System.gc();
        long rss2 = residentBytes();
        System.out.println("virtual.threads=" + virtual);
        System.out.println("virtual.seconds=" + String.format("%.2f", (t3 - t2) / 1e9));
        System.out.println("rss.afterVirtual=" + rss2);
        System.out.println("scratch.afterVirtual=" + scratch2);
        printHolders("afterVirtual", settledHolders());
        System.out.flush();
    }

    /**
     * Scratch bytes once they stop changing: an ended thread's native exit hook runs just after
     * {@link Thread#join} returns, so poll (up to 10 s) until the count is at most {@code target} (when
     * {@code target >= 0}) or stable for 100 ms.
     */
    private static long settledScratch(long target) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        long last = scratchBytes();
        int stable = 0;
        while (System.nanoTime() < deadline) {
            Thread.sleep(10);
            long now = scratchBytes();
            if (target >= 0 && now <= target) {
                return now;
            }
            stable = now == last ? stable + 1 : 0;
            last = now;
            if (target < 0 && stable >= 10) {
                return now;
            }
        }
        return last;
    }

    /** Who holds scratch: threads holding it, those of them that have ended (-1: unknown), bytes no live holder has. */
    record Holders(long holders, long dead, long unheldBytes) {
    }

    /** The OS ids of this process's live threads (/proc/self/task), or null where that does not exist. */
    static Set<Long> liveThreadIds() {
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) {
            return null;
        }
        Set<Long> ids = new HashSet<>();
        try (Stream<Path> list = Files.list(tasks)) {
            list.forEach(p -> ids.add(Long.parseLong(p.getFileName().toString())));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return ids;
    }

    /** One reading of pcnn_scratch_threads against the live threads and pcnn_scratch_bytes(). */
    static Holders holders() {
        try (Arena arena = Arena.ofConfined()) {
            long n = panamacnn_h.pcnn_scratch_threads(MemorySegment.NULL, MemorySegment.NULL, 0);
            int cap = (int) n + 64; // room for threads that start holding meanwhile
            MemorySegment ids = arena.allocate(ValueLayout.JAVA_LONG, cap);
            MemorySegment bytes = arena.allocate(ValueLayout.JAVA_LONG, cap);
            long total = PanamaCnn.nativeScratchBytes();
            n = panamacnn_h.pcnn_scratch_threads(ids, bytes, cap);
            Set<Long> live = liveThreadIds();
            long dead = live == null ? -1 : 0;
            long held = 0;
            for (int i = 0; i < Math.min(n, cap); i++) {
                held += bytes.getAtIndex(ValueLayout.JAVA_LONG, i);
                if (live != null && !live.contains(ids.getAtIndex(ValueLayout.JAVA_LONG, i))) {
                    dead++;
                }
            }
            return new Holders(n, dead, total - held);
        }
    }

    /**
     * {@link #holders()} once no ended thread holds scratch and all of it is held (an ended thread's native
     * exit hook runs just after {@link Thread#join} returns), or the last reading after 10 s.
     */
    static Holders settledHolders() throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        Holders h = holders();
        while ((h.dead() > 0 || h.unheldBytes() != 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
            h = holders();
        }
        return h;
    }

    private static void printHolders(String when, Holders h) {
        System.out.println("holders." + when + "=" + h.holders());
        System.out.println("deadHolders." + when + "=" + h.dead());
        System.out.println("unheldBytes." + when + "=" + h.unheldBytes());
    }

    /** Starts {@code count} threads, at most {@code layers.length} alive at once, each using its own layer. */
    private static void run(ThreadFactory factory, int count, Conv2d[] layers, Tensor x, Tensor dy)
            throws InterruptedException {
        Thread[] wave = new Thread[layers.length];
        Throwable[] failure = new Throwable[1];
        for (int started = 0; started < count; ) {
            int n = Math.min(layers.length, count - started);
            for (int i = 0; i < n; i++) {
                Conv2d layer = layers[i];
                wave[i] = factory.newThread(() -> {
                    try {
                        layer.forward(x);
                        layer.backward(dy);
                    } catch (Throwable t) {
                        synchronized (failure) {
                            failure[0] = t;
                        }
                    }
                });
                wave[i].start();
            }
            for (int i = 0; i < n; i++) {
                wave[i].join();
            }
            started += n;
            synchronized (failure) {
                if (failure[0] != null) {
                    throw new IllegalStateException("a churn thread failed", failure[0]);
                }
            }
        }
    }
}
