package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Backend;
import io.github.panamacnn.BackendMismatchException;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.Isa;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.reference.ReferenceKernels;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A small native-vs-reference check of each op on every ISA this machine has (the big corpus lives
 * elsewhere), plus the checked backend: it passes on correct results and catches a wrong one.
 */
class NativeSmokeTest {
    private static final long SEED = 0x5EEDL;
    /** Grouped, strided, dilated, asymmetrically padded, channel counts that are not vector multiples. */
    private static final Conv2dGeometry G = Conv2dGeometry.of(2, 6, 9, 11, 9, 3, 2, 2, 1, 1, 2, 0, 1, 1, 2, 3);
    private static final MaxPool2dGeometry P = MaxPool2dGeometry.of(2, 3, 9, 10, 3, 2, 2, 2, 1, 0, 1, 1, 1, 1, true);

    private final Backend nb = Backend.nativeBackend();
    private Isa savedCap;

    @BeforeEach
    void save() {
        savedCap = PanamaCnn.activeIsa();
    }

    @AfterEach
    void restore() {
        PanamaCnn.setMaxIsa(Isa.AVX512);
        assertThat(PanamaCnn.activeIsa()).isEqualTo(PanamaCnn.detectedIsa());
        PanamaCnn.setMaxIsa(savedCap);
    }

    private static List<Isa> isasHere() {
        List<Isa> list = new ArrayList<>();
        for (Isa isa : Isa.values()) {
            if (isa.level() <= PanamaCnn.detectedIsa().level()) {
                list.add(isa);
            }
        }
        return list;
    }

    private static float[] random(SplittableRandom r, long n) {
        float[] a = new float[(int) n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    private static double[] d(float[] a, boolean abs) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = abs ? Math.abs((double) a[i]) : a[i];
        }
        return out;
    }

    private static long count(long[] shape) {
        long c = 1;
        for (long s : shape) {
            c *= s;
        }
        return c;
    }

    @Test
    void convolutionsMatchTheReferenceOnEveryIsa() {
        SplittableRandom r = new SplittableRandom(SEED);
        float[] x = random(r, count(G.srcShape()));
        float[] w = random(r, count(G.weightsShape()));
        float[] b = random(r, count(G.biasShape()));
        float[] dy = random(r, count(G.dstShape()));

        double[] fwdExact = new double[(int) count(G.dstShape())];
        double[] fwdS = new double[fwdExact.length];
        ReferenceKernels.conv2dForward(G, d(x, false), d(w, false), d(b, false), fwdExact);
        ReferenceKernels.conv2dForward(G, d(x, true), d(w, true), d(b, true), fwdS);
        double[] bdExact = new double[x.length];
        double[] bdS = new double[x.length];
        ReferenceKernels.conv2dBackwardData(G, d(dy, false), d(w, false), bdExact);
        ReferenceKernels.conv2dBackwardData(G, d(dy, true), d(w, true), bdS);
        double[] bwExact = new double[w.length];
        double[] bwS = new double[w.length];
        double[] bbExact = new double[b.length];
        double[] bbS = new double[b.length];
        ReferenceKernels.conv2dBackwardWeights(G, d(x, false), d(dy, false), bwExact, bbExact);
        ReferenceKernels.conv2dBackwardWeights(G, d(x, true), d(dy, true), bwS, bbS);

        int compared = 0;
        for (Isa isa : isasHere()) {
            PanamaCnn.setMaxIsa(isa);
            assertThat(PanamaCnn.activeIsa()).isEqualTo(isa);
            try (Tensor tx = Tensor.of(x, G.srcShape()); Tensor tw = Tensor.of(w, G.weightsShape());
                 Tensor tb = Tensor.of(b, G.biasShape()); Tensor tdy = Tensor.of(dy, G.dstShape());
                 Tensor out = Tensor.zeros(G.dstShape()).fill(Float.NaN);
                 Tensor dx = Tensor.zeros(G.srcShape()).fill(Float.NaN);
                 Tensor dw = Tensor.zeros(G.weightsShape()).fill(Float.NaN);
                 Tensor db = Tensor.zeros(G.biasShape()).fill(Float.NaN)) {
                nb.conv2dForward(G, tx, tw, tb, out);
                Tolerance.assertConvClose(isa + " forward", out.toArray(), fwdExact, fwdS,
                        Tolerance.forwardReduction(G, true));
                nb.conv2dBackwardData(G, tdy, tw, dx);
                Tolerance.assertConvClose(isa + " backward-data", dx.toArray(), bdExact, bdS,
                        Tolerance.backwardDataReduction(G));
                nb.conv2dBackwardWeights(G, tx, tdy, dw, db);
                long k = Tolerance.backwardWeightsReduction(G);
                Tolerance.assertConvClose(isa + " backward-weights", dw.toArray(), bwExact, bwS, k);
                Tolerance.assertConvClose(isa + " backward-bias", db.toArray(), bbExact, bbS, k);
                compared++;
            }
        }
        assertThat(compared).isEqualTo(PanamaCnn.detectedIsa().level() + 1);
    }

    @Test
    void maxPoolIsBitExactOnEveryIsaIncludingNaNsAndTies() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        float[] x = new float[(int) count(P.srcShape())];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextInt(5) - 2; // many ties
        }
        x[3] = Float.NaN;
        x[50] = Float.NEGATIVE_INFINITY;
        x[101] = -0.0f;
        float[] expected = new float[(int) P.dstElementCount()];
        int[] expectedIdx = new int[expected.length];
        ReferenceKernels.maxPool2dForward(P, x, expected, expectedIdx);
        float[] dy = random(r, P.dstElementCount());
        float[] expectedDx = new float[x.length];
        ReferenceKernels.maxPool2dBackward(P, dy, expectedIdx, expectedDx);

        int compared = 0;
        for (Isa isa : isasHere()) {
            PanamaCnn.setMaxIsa(isa);
            try (Tensor tx = Tensor.of(x, P.srcShape()); Tensor out = Tensor.zeros(P.dstShape()).fill(Float.NaN);
                 IndexBuffer idx = IndexBuffer.allocate(P.dstElementCount());
                 Tensor tdy = Tensor.of(dy, P.dstShape()); Tensor dx = Tensor.zeros(P.srcShape()).fill(Float.NaN)) {
                nb.maxPool2dForward(P, tx, out, idx);
                Tolerance.assertBitExact(isa + " maxpool dst", out.toArray(), expected);
                Tolerance.assertIndicesEqual(isa + " maxpool indices", idx.toArray(), expectedIdx);
                nb.maxPool2dBackward(P, tdy, idx, dx);
                Tolerance.assertBitExact(isa + " maxpool diffSrc", dx.toArray(), expectedDx);
                try (Tensor out2 = Tensor.zeros(P.dstShape())) {
                    nb.maxPool2dForward(P, tx, out2, null); // indices are optional
                    Tolerance.assertBitExact(isa + " maxpool dst without indices", out2.toArray(), expected);
                }
                compared++;
            }
        }
        assertThat(compared).isEqualTo(PanamaCnn.detectedIsa().level() + 1);
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        int saved = PanamaCnn.numThreads();
        SplittableRandom r = new SplittableRandom(SEED + 2);
        Conv2dGeometry g = Conv2dGeometry.of(4, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        float[] x = random(r, count(g.srcShape()));
        float[] w = random(r, count(g.weightsShape()));
        float[] dy = random(r, count(g.dstShape()));
        try (Tensor tx = Tensor.of(x, g.srcShape()); Tensor tw = Tensor.of(w, g.weightsShape());
             Tensor tdy = Tensor.of(dy, g.dstShape());
             Tensor y1 = Tensor.zeros(g.dstShape()); Tensor y3 = Tensor.zeros(g.dstShape());
             Tensor dw1 = Tensor.zeros(g.weightsShape()); Tensor dw3 = Tensor.zeros(g.weightsShape())) {
            PanamaCnn.setNumThreads(1);
            nb.conv2dForward(g, tx, tw, null, y1);
            nb.conv2dBackwardWeights(g, tx, tdy, dw1, null);
            PanamaCnn.setNumThreads(3);
            nb.conv2dForward(g, tx, tw, null, y3);
            nb.conv2dBackwardWeights(g, tx, tdy, dw3, null);
            Tolerance.assertBitExact("forward, 1 vs 3 threads", y3.toArray(), y1.toArray());
            Tolerance.assertBitExact("backward-weights, 1 vs 3 threads", dw3.toArray(), dw1.toArray());
        } finally {
            PanamaCnn.setNumThreads(saved);
        }
    }

    // ---- checked backend ----

    @Test
    void checkedBackendAcceptsCorrectResultsForEveryOp() {
        Backend checked = Backend.checked();
        SplittableRandom r = new SplittableRandom(SEED + 3);
        try (Tensor x = Tensor.of(random(r, count(G.srcShape())), G.srcShape());
             Tensor w = Tensor.of(random(r, count(G.weightsShape())), G.weightsShape());
             Tensor b = Tensor.of(random(r, count(G.biasShape())), G.biasShape());
             Tensor y = Tensor.zeros(G.dstShape()); Tensor dy = Tensor.of(random(r, count(G.dstShape())), G.dstShape());
             Tensor dx = Tensor.zeros(G.srcShape()); Tensor dw = Tensor.zeros(G.weightsShape());
             Tensor db = Tensor.zeros(G.biasShape());
             Tensor px = Tensor.of(random(r, count(P.srcShape())), P.srcShape()); Tensor py = Tensor.zeros(P.dstShape());
             IndexBuffer idx = IndexBuffer.allocate(P.dstElementCount());
             Tensor pdy = Tensor.of(random(r, P.dstElementCount()), P.dstShape());
             Tensor pdx = Tensor.zeros(P.srcShape())) {
            checked.conv2dForward(G, x, w, b, y);
            checked.conv2dForward(G, x, w, null, y);
            checked.conv2dBackwardData(G, dy, w, dx);
            checked.conv2dBackwardWeights(G, x, dy, dw, db);
            checked.conv2dBackwardWeights(G, x, dy, dw, null);
            checked.maxPool2dForward(P, px, py, idx);
            checked.maxPool2dForward(P, px, py, null);
            checked.maxPool2dBackward(P, pdy, idx, pdx);
            assertThat(nanCount(y.toArray())).isZero();
        }
    }

    /** The native backend with one output element nudged: what a subtle kernel bug looks like. */
    private static final class Nudged extends ForwardingBackend {
        private final long index;
        private final float delta;

        Nudged(Backend inner, long index, float delta) {
            super(inner);
            this.index = index;
            this.delta = delta;
        }

        @Override
        public void conv2dForward(Conv2dGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            super.conv2dForward(g, src, weights, bias, dst);
            dst.set(index, dst.get(index) + delta);
        }

        @Override
        public void maxPool2dForward(MaxPool2dGeometry g, Tensor src, Tensor dst, IndexBuffer indices) {
            super.maxPool2dForward(g, src, dst, indices);
            dst.set(index, Math.nextUp(dst.get(index)));
        }
    }

    @Test
    void checkedBackendReportsTheFirstOffendingElement() {
        SplittableRandom r = new SplittableRandom(SEED + 4);
        try (Tensor x = Tensor.of(random(r, count(G.srcShape())), G.srcShape());
             Tensor w = Tensor.of(random(r, count(G.weightsShape())), G.weightsShape());
             Tensor y = Tensor.zeros(G.dstShape());
             Tensor px = Tensor.of(random(r, count(P.srcShape())), P.srcShape()); Tensor py = Tensor.zeros(P.dstShape())) {
            // 1e-3 is far above gamma(K)*S for K = 2*3*2 = 12 and |x|,|w| <= 1 (about 1e-6 * 12)
            CheckedBackend bad = new CheckedBackend(new Nudged(Backend.nativeBackend(), 17, 1e-3f));
            assertThatThrownBy(() -> bad.conv2dForward(G, x, w, null, y))
                    .isInstanceOf(BackendMismatchException.class)
                    .hasMessageContaining("conv2dForward")
                    .hasMessageContaining(G.toString())
                    .hasMessageContaining("first at index 17")
                    .hasMessageContaining("bound")
                    .hasMessageContaining("max abs error");
            CheckedBackend badPool = new CheckedBackend(new Nudged(Backend.nativeBackend(), 5, 0f));
            assertThatThrownBy(() -> badPool.maxPool2dForward(P, px, py, null))
                    .isInstanceOf(BackendMismatchException.class)
                    .hasMessageContaining("maxPool2dForward")
                    .hasMessageContaining("first at index 5");
        }
    }

    /** Delegates everything; subclasses override what they corrupt. */
    private abstract static class ForwardingBackend implements Backend {
        private final Backend inner;

        ForwardingBackend(Backend inner) {
            this.inner = inner;
        }

        @Override public String name() { return "forwarding"; }
        @Override public void conv2dForward(Conv2dGeometry g, Tensor s, Tensor w, Tensor b, Tensor d) {
            inner.conv2dForward(g, s, w, b, d);
        }
        @Override public void conv2dBackwardData(Conv2dGeometry g, Tensor dy, Tensor w, Tensor dx) {
            inner.conv2dBackwardData(g, dy, w, dx);
        }
        @Override public void conv2dBackwardWeights(Conv2dGeometry g, Tensor s, Tensor dy, Tensor dw, Tensor db) {
            inner.conv2dBackwardWeights(g, s, dy, dw, db);
        }
        @Override public void maxPool2dForward(MaxPool2dGeometry g, Tensor s, Tensor d, IndexBuffer i) {
            inner.maxPool2dForward(g, s, d, i);
        }
        @Override public void maxPool2dBackward(MaxPool2dGeometry g, Tensor dy, IndexBuffer i, Tensor dx) {
            inner.maxPool2dBackward(g, dy, i, dx);
        }
    }

    private static int nanCount(float[] a) {
        int n = 0;
        for (float v : a) {
            if (Float.isNaN(v)) {
                n++;
            }
        }
        return n;
    }
}
