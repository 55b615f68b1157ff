package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What docs/concurrency.md promises, on the native backend (each test bounded in time):
 * <ul>
 *   <li>separate layers on many threads give results bit-identical to one thread;</li>
 *   <li>Backend calls from many threads at once on shared read-only inputs (each thread its own
 *       outputs) give results bit-identical to one thread;</li>
 *   <li>one layer used from two threads at once, or closed while another thread runs it, throws
 *       {@link IllegalStateException} (never a crash, never a silent overwrite);</li>
 *   <li>a tensor, index buffer or caller-owned shared arena closed while a kernel on another thread uses
 *       its memory throws {@link IllegalStateException} and the memory stays valid until the call returns
 *       (java.lang.foreign keeps an arena alive for the length of a downcall that received its segment).</li>
 * </ul>
 */
class ConcurrencyTest {

    private static final int THREADS = 4;
    private static final int CALLS = 20;

    /** Raw bits of everything one forward + backward of conv then pool produces. */
    private record Result(int[] z, int[] indices, int[] dx, int[] dw, int[] db) {
        boolean sameAs(Result o) {
            return Arrays.equals(z, o.z) && Arrays.equals(indices, o.indices) && Arrays.equals(dx, o.dx)
                    && Arrays.equals(dw, o.dw) && Arrays.equals(db, o.db);
        }
    }

    private static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Float.floatToRawIntBits(a[i]);
        }
        return b;
    }

    private static float[] data(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    private static Conv2d conv() {
        return Conv2d.builder(16, 32, 3, 3).padding(1).seed(7).backend(Backend.nativeBackend()).build();
    }

    private static MaxPool2d pool() {
        return MaxPool2d.builder(2, 2).backend(Backend.nativeBackend()).build();
    }

    private static Result step(Conv2d conv, MaxPool2d pool, Tensor x, Tensor dz) {
        Tensor z = pool.forward(conv.forward(x));
        Tensor dx = conv.backward(pool.backward(dz));
        return new Result(bits(z.toArray()), pool.indices(), bits(dx.toArray()), bits(conv.weightGrad().toArray()),
                bits(conv.biasGrad().toArray()));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void separateLayersOnManyThreadsAreBitIdenticalToOneThread() throws Exception {
        float[] xs = data(1, 2 * 16 * 20 * 20);
        float[] dzs = data(2, 2 * 32 * 10 * 10);
        Result expected;
        try (Conv2d c = conv(); MaxPool2d p = pool(); Tensor x = Tensor.of(xs, 2, 16, 20, 20);
             Tensor dz = Tensor.of(dzs, 2, 32, 10, 10)) {
            expected = step(c, p, x, dz);
        }
        AtomicInteger compared = new AtomicInteger();
        ExecutorService ex = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                fs.add(ex.submit(() -> {
                    try (Conv2d c = conv(); MaxPool2d p = pool(); Tensor x = Tensor.of(xs, 2, 16, 20, 20);
                         Tensor dz = Tensor.of(dzs, 2, 32, 10, 10)) {
                        for (int i = 0; i < CALLS; i++) {
                            Result r = step(c, p, x, dz);
                            assertThat(r.sameAs(expected)).as("call %d on %s", i, Thread.currentThread()).isTrue();
                            compared.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(25, TimeUnit.SECONDS);
            }
        } finally {
            ex.shutdownNow();
        }
        assertThat(compared.get()).isEqualTo(THREADS * CALLS);
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void backendCallsFromManyThreadsOnSharedInputsAreBitIdenticalToOneThread() throws Exception {
        Backend nat = Backend.nativeBackend();
        Conv2dGeometry g = Conv2dGeometry.of(2, 8, 17, 19, 12, 3, 3, 2, 1, 1, 0, 2, 1, 1, 2, 1);
        MaxPool2dGeometry pg = MaxPool2dGeometry.of(2, 8, 17, 19, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true);
        try (Tensor x = Tensor.of(data(3, (int) count(g.srcShape())), g.srcShape());
             Tensor w = Tensor.of(data(4, (int) count(g.weightsShape())), g.weightsShape());
             Tensor b = Tensor.of(data(5, (int) g.oc()), g.oc());
             Tensor dy = Tensor.of(data(6, (int) count(g.dstShape())), g.dstShape());
             Tensor pdy = Tensor.of(data(7, (int) count(pg.dstShape())), pg.dstShape())) {
            // shared, read-only: x, w, b, dy, pdy; each thread writes only its own outputs
            java.util.function.Supplier<int[][]> run = () -> {
                try (Tensor y = Tensor.zeros(g.dstShape()); Tensor dx = Tensor.zeros(g.srcShape());
                     Tensor dw = Tensor.zeros(g.weightsShape()); Tensor db = Tensor.zeros(g.oc());
                     Tensor pz = Tensor.zeros(pg.dstShape()); IndexBuffer ix = IndexBuffer.allocate(pg.dstElementCount());
                     Tensor pdx = Tensor.zeros(pg.srcShape())) {
                    nat.conv2dForward(g, x, w, b, y);
                    nat.conv2dBackwardData(g, dy, w, dx);
                    nat.conv2dBackwardWeights(g, x, dy, dw, db);
                    nat.maxPool2dForward(pg, x, pz, ix);
                    nat.maxPool2dBackward(pg, pdy, ix, pdx);
                    return new int[][] {bits(y.toArray()), bits(dx.toArray()), bits(dw.toArray()), bits(db.toArray()),
                            bits(pz.toArray()), ix.toArray(), bits(pdx.toArray())};
                }
            };
            int[][] expected = run.get();
            AtomicInteger compared = new AtomicInteger();
            ExecutorService ex = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    fs.add(ex.submit(() -> {
                        for (int i = 0; i < CALLS; i++) {
                            assertThat(run.get()).as("call %d", i).isDeepEqualTo(expected);
                            compared.incrementAndGet();
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(25, TimeUnit.SECONDS);
                }
            } finally {
                ex.shutdownNow();
            }
            assertThat(compared.get()).isEqualTo(THREADS * CALLS);
        }
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** A forward long enough (tens of milliseconds or more) for another thread to act during it. */
    private static Conv2d slowConv() {
        return Conv2d.builder(32, 32, 3, 3).padding(1).seed(3).backend(Backend.nativeBackend()).build();
    }

    private static Tensor slowInput() {
        return Tensor.of(data(9, 2 * 32 * 128 * 128), 2, 32, 128, 128);
    }



    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void oneLayerFromTwoThreadsAtOnceThrowsAndStaysCorrect() throws Exception {
        try (Conv2d c = slowConv(); Tensor x = slowInput()) {
            int[] expected = bits(c.forward(x).toArray());
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> other = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            // The runner keeps calling until this thread has met the busy layer (or a bound):
            // with only 3 calls it could finish while this thread was between two of its own
            // calls, and the test then failed without a bug (CI, 2026-12-07).
            Thread runner = new Thread(() -> {
                try {
                    started.countDown();
                    for (int i = 0; i < 200 && !stop.get(); i++) {
                        c.forward(x);
                    }
                } catch (Throwable e) {
                    other.set(e);
                }
            });
            IllegalStateException seen = null;
            runner.start();
            started.await();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (seen == null && runner.isAlive() && System.nanoTime() < deadline) {
                try {
                    c.forward(x);
                } catch (IllegalStateException e) {
                    seen = e;
                }
            }
            stop.set(true);
            runner.join(20_000);
            if (other.get() instanceof IllegalStateException e && seen == null) {
                seen = e; // the runner was the one that found the layer busy
            } else if (other.get() != null && !(other.get() instanceof IllegalStateException)) {
                throw new AssertionError("the other thread failed otherwise", other.get());
            }
            assertThat(seen).as("a concurrent forward on one layer was detected").isNotNull();
            assertThat(seen.getMessage()).contains("running a forward or backward on another thread")
                    .contains("one layer per thread");
            assertThat(bits(c.forward(x).toArray())).as("the layer still computes the same").isEqualTo(expected);
        }
    }

    /** A thread calling {@code call} back to back until it throws or is stopped: nearly all of its time is
     *  spent inside the call, so another thread acting after {@link #awaitCalls} almost surely meets a running
     *  call (and if not, the next one). */
    private static final class Looper {
        final AtomicInteger calls = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread thread;

        Looper(Runnable call) {
            thread = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        call.run();
                        calls.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            thread.start();
        }

        /** Waits until {@code n} calls have completed (or the thread ended). */
        void awaitCalls(int n) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (calls.get() < n && thread.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
        }

        Throwable stopAndJoin() throws InterruptedException {
            stop.set(true);
            thread.join(20_000);
            assertThat(thread.isAlive()).as("the looping thread ended").isFalse();
            return failure.get();
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void closingALayerWhileAnotherThreadRunsItThrows() throws Exception {
        try (Tensor x = slowInput()) {
            int inUse = 0;
            for (int attempt = 0; attempt < 10 && inUse == 0; attempt++) {
                Conv2d c = slowConv();
                Looper l = new Looper(() -> c.forward(x));
                l.awaitCalls(1);
                try {
                    c.close(); // between two calls: the looper then finds the layer closed
                    Throwable f = l.stopAndJoin();
                    assertThat(f).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
                    continue;
                } catch (IllegalStateException e) {
                    assertThat(e).hasMessageContaining("close() called while this layer is running");
                    inUse++;
                }
                assertThat(l.stopAndJoin()).as("the forward calls that were running").isNull();
                assertThat(c.isClosed()).isFalse();
                c.close();
                assertThat(c.isClosed()).isTrue();
                assertThatThrownBy(() -> c.forward(x)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("closed");
            }
            assertThat(inUse).as("close() during a forward was refused at least once").isGreaterThan(0);
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void closingATensorDuringANativeCallThrowsAndTheMemoryStaysValid() throws Exception {
        Backend nat = Backend.nativeBackend();
        Conv2dGeometry g = Conv2dGeometry.of(2, 32, 128, 128, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        try (Tensor w = Tensor.of(data(10, (int) count(g.weightsShape())), g.weightsShape());
             Tensor expectedY = Tensor.zeros(g.dstShape());
             Tensor x0 = slowInput()) {
            nat.conv2dForward(g, x0, w, null, expectedY);
            int[] expected = bits(expectedY.toArray());
            int refused = 0;
            for (int attempt = 0; attempt < 10 && refused == 0; attempt++) {
                Tensor x = x0.copy();
                Tensor y = Tensor.zeros(g.dstShape());
                Looper l = new Looper(() -> nat.conv2dForward(g, x, w, null, y));
                l.awaitCalls(1);
                try {
                    x.close();
                    // between two calls: the next one finds it closed
                    assertThat(l.stopAndJoin()).isInstanceOf(IllegalStateException.class);
                } catch (IllegalStateException e) {
                    assertThat(e).hasMessageContaining("a native kernel is using its memory");
                    assertThat(x.isAlive()).as("the refused tensor stays open").isTrue();
                    refused++;
                    assertThat(l.stopAndJoin()).as("the calls whose input was not freed").isNull();
                    assertThat(bits(y.toArray())).as("their result").isEqualTo(expected);
                    x.close(); // now it can go
                }
                assertThat(x.isAlive()).isFalse();
                assertThatThrownBy(() -> nat.conv2dForward(g, x, w, null, y))
                        .isInstanceOf(IllegalStateException.class);
                y.close();
            }
            assertThat(refused).as("closing a tensor during a native call was refused at least once").isGreaterThan(0);
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aCallerOwnedSharedArenaClosedDuringANativeCallThrows() throws Exception {
        Backend nat = Backend.nativeBackend();
        Conv2dGeometry g = Conv2dGeometry.of(2, 32, 128, 128, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        float[] xs = data(9, 2 * 32 * 128 * 128);
        try (Tensor w = Tensor.of(data(10, (int) count(g.weightsShape())), g.weightsShape());
             Tensor y = Tensor.zeros(g.dstShape())) {
            int refused = 0;
            for (int attempt = 0; attempt < 10 && refused == 0; attempt++) {
                Arena arena = Arena.ofShared();
                MemorySegment seg = arena.allocate((long) xs.length * Float.BYTES, 64);
                MemorySegment.copy(xs, 0, seg, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, xs.length);
                Tensor x = Tensor.wrap(seg, g.srcShape());
                Looper l = new Looper(() -> nat.conv2dForward(g, x, w, null, y));
                l.awaitCalls(1);
                try {
                    arena.close();
                    assertThat(l.stopAndJoin()).isInstanceOf(IllegalStateException.class);
                } catch (IllegalStateException e) {
                    refused++; // java.lang.foreign: the running downcall holds the arena
                    assertThat(l.stopAndJoin()).isNull();
                    arena.close();
                }
                assertThatThrownBy(() -> nat.conv2dForward(g, x, w, null, y))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("freed");
            }
            assertThat(refused).as("closing the arena during a native call was refused at least once")
                    .isGreaterThan(0);
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aConfinedSegmentUsedFromAnotherThreadThrows() throws Exception {
        Backend nat = Backend.nativeBackend();
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 2, 6, 6, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        try (Arena confined = Arena.ofConfined(); Tensor y = Tensor.zeros(g.dstShape())) {
            Tensor x = Tensor.wrap(confined.allocate(4L * 72, 64), g.srcShape());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try {
                    nat.maxPool2dForward(g, x, y, null);
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            other.start();
            other.join(20_000);
            assertThat(failure.get()).isInstanceOf(WrongThreadException.class);
            nat.maxPool2dForward(g, x, y, null); // the owner thread may
        }
    }
}
