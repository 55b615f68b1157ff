package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The native linear, ReLU and cross-entropy kernels against the reference at every ISA level (through
 * the checked backend, which throws on any disagreement), whole networks native vs reference, bad input
 * on the native path, and the allocation-free steady state of a LeNet-5 training step and inference.
 */
class NetOpsNativeTest {
    private static final long[][] LINEAR_SHAPES = {
        {1, 1, 1}, {1, 400, 120}, {64, 400, 120}, {64, 120, 84}, {64, 84, 10}, {1, 84, 10}, {3, 7, 5},
        {5, 17, 33}, {7, 31, 9}, {2, 16, 16}, {13, 65, 3}, {1, 1000, 1}, {9, 1, 37}, {6, 33, 29}, {65, 257, 11},
    };
    private static final int[] RELU_COUNTS = {1, 7, 8, 9, 15, 16, 17, 33, 1000, 16383, 16385, 40000};

    @Test
    void everyOpAtEveryIsaLevelAgreesWithTheReference() {
        Backend checked = Backend.checked();
        Isa before = PanamaCnn.activeIsa();
        long comparisons = 0;
        int levels = 0;
        long seed = System.nanoTime();
        SplittableRandom shapes = new SplittableRandom(seed);
        try {
            for (Isa isa : Isa.values()) {
                if (isa.level() > PanamaCnn.detectedIsa().level()) {
                    break;
                }
                PanamaCnn.setMaxIsa(isa);
                SplittableRandom r = new SplittableRandom(42 + isa.level());
                for (long[] s : LINEAR_SHAPES) {
                    comparisons += linear(checked, LinearGeometry.of(s[0], s[1], s[2]), r, true);
                    comparisons += linear(checked, LinearGeometry.of(s[0], s[1], s[2]), r, false);
                }
                for (int i = 0; i < 10; i++) {
                    LinearGeometry g = LinearGeometry.of(1 + shapes.nextInt(70), 1 + shapes.nextInt(300),
                            1 + shapes.nextInt(140));
                    try {
                        comparisons += linear(checked, g, r, i % 2 == 0);
                    } catch (RuntimeException | AssertionError e) {
                        throw new AssertionError("random " + g + " (seed " + seed + ") at " + isa, e);
                    }
                }
                for (int count : RELU_COUNTS) {
                    comparisons += relu(checked, count, r);
                }
                for (int[] nc : new int[][] {{1, 1}, {1, 10}, {64, 10}, {3, 1000}, {17, 3}}) {
                    comparisons += crossEntropy(checked, nc[0], nc[1], r);
                }
                levels++;
            }
        } finally {
            PanamaCnn.setMaxIsa(before);
        }
        assertThat(levels).isEqualTo(PanamaCnn.detectedIsa().level() + 1);
        assertThat(comparisons).isEqualTo(levels * ((LINEAR_SHAPES.length * 2L + 10) * 3 + RELU_COUNTS.length * 2
                + 5 * 2));
    }

    private static int linear(Backend be, LinearGeometry g, SplittableRandom r, boolean bias) {
        try (Tensor x = random(r, g.srcShape()); Tensor w = random(r, g.weightsShape());
             Tensor b = bias ? random(r, g.out()) : null; Tensor y = Tensor.zeros(g.dstShape());
             Tensor dy = random(r, g.dstShape()); Tensor dx = Tensor.zeros(g.srcShape());
             Tensor dw = Tensor.zeros(g.weightsShape()); Tensor db = Tensor.zeros(g.out())) {
            be.linearForward(g, x, w, b, y);
            be.linearBackwardData(g, dy, w, dx);
            be.linearBackwardWeights(g, x, dy, dw, bias ? db : null);
            return 3;
        }
    }

    private static int relu(Backend be, int count, SplittableRandom r) {
        float[] special = {-2f, -0.0f, 0.0f, 1.5f, Float.intBitsToFloat(0x7fc00123), Float.intBitsToFloat(0xffc00077),
            Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 1e-40f, -1e-40f};
        float[] x = new float[count], dy = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = i % 3 == 0 ? special[r.nextInt(special.length)] : (float) r.nextDouble(-1, 1);
            dy[i] = i % 5 == 0 ? special[r.nextInt(special.length)] : (float) r.nextDouble(-1, 1);
        }
        try (Tensor in = Tensor.of(x, count); Tensor out = Tensor.zeros(count); Tensor g = Tensor.of(dy, count);
             Tensor gi = Tensor.zeros(count)) {
            be.reluForward(in, out);
            be.reluBackward(out, g, gi);
            return 2;
        }
    }

    private static int crossEntropy(Backend be, int n, int c, SplittableRandom r) {
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(c);
        }
        try (Tensor logits = random(r, n, c); IndexBuffer l = IndexBuffer.of(labels); Tensor g = Tensor.zeros(n, c)) {
            logits.set(0, 80f); // exp overflows in float without the max shift
            be.crossEntropyForward(logits, l);
            be.crossEntropyBackward(logits, l, g);
            return 2;
        }
    }

    @Test
    void lenetNativeMatchesTheReference() {
        try (Sequential nat = NetLayersTest.lenet(Backend.nativeBackend());
             Sequential ref = NetLayersTest.lenet(Backend.reference());
             CrossEntropyLoss lossN = new CrossEntropyLoss(Backend.nativeBackend());
             CrossEntropyLoss lossR = new CrossEntropyLoss(Backend.reference());
             Tensor x = random(new SplittableRandom(3), 4, 1, 28, 28)) {
            int[] labels = {3, 1, 4, 1};
            float ln = lossN.forward(nat.forward(x), labels);
            float lr = lossR.forward(ref.forward(x), labels);
            assertThat(ln).isCloseTo(lr, org.assertj.core.data.Offset.offset(1e-5f));
            nat.backward(lossN.backward());
            ref.backward(lossR.backward());
            List<Parameter> pn = nat.parameters(), pr = ref.parameters();
            for (int i = 0; i < pn.size(); i++) {
                float[] a = pn.get(i).grad().toArray(), b = pr.get(i).grad().toArray();
                double scale = 0;
                for (float v : b) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int j = 0; j < a.length; j++) {
                    assertThat((double) a[j]).as("%s[%d]", pn.get(i).name(), j)
                            .isCloseTo(b[j], org.assertj.core.data.Offset.offset(1e-4 * scale + 1e-7));
                }
            }
        }
    }

    @Test
    void badInputOnTheNativePath() {
        Backend nat = Backend.nativeBackend();
        try (Linear fc = Linear.builder(4, 3).backend(nat).build(); Tensor x = Tensor.zeros(2, 5);
             CrossEntropyLoss loss = new CrossEntropyLoss(nat); Tensor logits = Tensor.zeros(2, 3);
             IndexBuffer bad = IndexBuffer.of(0, 7); Tensor g = Tensor.zeros(2, 3)) {
            assertThatThrownBy(() -> fc.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[2, 5]");
            assertThatThrownBy(() -> loss.forward(logits, new int[] {0, 3})).isInstanceOf(
                    IllegalArgumentException.class).hasMessageContaining("labels[1] = 3");
            assertThatThrownBy(() -> nat.crossEntropyBackward(logits, bad, g))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels[1] = 7");
            assertThatThrownBy(() -> nat.reluForward(logits, Tensor.zeros(3, 2)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3, 2]");
            LinearGeometry lg = LinearGeometry.of(2, 3, 3);
            assertThatThrownBy(() -> nat.linearForward(lg, logits, Tensor.zeros(3, 3), null, logits))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlaps");
            Tensor closed = Tensor.zeros(2, 4);
            closed.close();
            assertThatThrownBy(() -> fc.forward(closed)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
    }

    /** A LeNet-5 training step (batch 64) and one-image inference allocate nothing per call once warm. */
    @Test
    void steadyStateAllocatesNothing() {
        // com.sun.management.ThreadMXBean#getThreadAllocatedBytes, reached through a method handle: the
        // test sources compile inside the library module, which does not read jdk.management (and must not).
        Object mx;
        MethodHandle allocated;
        try {
            mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            Class<?> bean = Class.forName("com.sun.management.ThreadMXBean");
            bean.getMethod("setThreadAllocatedMemoryEnabled", boolean.class).invoke(mx, true);
            allocated = MethodHandles.publicLookup()
                    .findVirtual(bean, "getThreadAllocatedBytes", MethodType.methodType(long.class, long.class))
                    .asType(MethodType.methodType(long.class, Object.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("com.sun.management.ThreadMXBean is not available", e);
        }
        long tid = Thread.currentThread().threadId();
        Backend nat = Backend.nativeBackend();
        try (Sequential net = NetLayersTest.lenet(nat); CrossEntropyLoss loss = new CrossEntropyLoss(nat);
             Tensor x = random(new SplittableRandom(1), 64, 1, 28, 28);
             Tensor one = random(new SplittableRandom(2), 1, 1, 28, 28)) {
            int[] labels = new int[64];
            for (int i = 0; i < 64; i++) {
                labels[i] = i % 10;
            }
            Runnable step = () -> {
                loss.forward(net.forward(x), labels);
                net.backward(loss.backward());
            };
            long perStep = bytesPerCall(mx, allocated, tid, step);
            net.eval();
            long perInference = bytesPerCall(mx, allocated, tid, () -> net.forward(one));
            assertThat(perStep).as("bytes allocated per training step").isZero();
            assertThat(perInference).as("bytes allocated per one-image inference").isZero();
        }
    }

    /** Minimum over a few rounds of (bytes allocated by 200 calls) / 200, after a warm-up for the JIT. */
    private static long bytesPerCall(Object mx, MethodHandle allocated, long tid, Runnable r) {
        for (int i = 0; i < 3000; i++) {
            r.run();
        }
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long before = allocatedBytes(allocated, mx, tid);
            for (int i = 0; i < 200; i++) {
                r.run();
            }
            best = Math.min(best, (allocatedBytes(allocated, mx, tid) - before) / 200);
        }
        return best;
    }

    private static long allocatedBytes(MethodHandle allocated, Object mx, long tid) {
        try {
            return (long) allocated.invokeExact(mx, tid);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    private static Tensor random(SplittableRandom r, long... shape) {
        Tensor t = Tensor.zeros(shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.set(i, (float) r.nextDouble(-1, 1));
        }
        return t;
    }
}
