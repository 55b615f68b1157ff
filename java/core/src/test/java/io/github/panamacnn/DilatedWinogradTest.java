package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.github.panamacnn.nativeimpl.NativeBackend;
import io.github.panamacnn.nativeimpl.Tolerance;
import io.github.panamacnn.reference.ReferenceKernels;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Dilated 3x3 stride-1 layers that AUTO serves with Winograd through the native phase frame
 * ({@code native/src/kernels/conv2d/dilated.h}; x86 levels, >= 128 channels per group on both
 * sides): the checked backend accepts them (its Winograd bound is the framed one,
 * {@link Tolerance#winogradAbsBound}), the native results lie within that bound, and the bound is
 * not vacuous: against the largest error actually made it is no looser than the undilated Winograd
 * bound of the same-size layer (measured at AVX-512: max allowed / max error 1835 vs 2177 forward, 2468 vs
 * 2159 backward-data; the test allows 2x), and a 4x-bound error is reported.
 */
class DilatedWinogradTest {
    // 17x17, pad 2, dilation 2: the frame's junk is within the native entry's quarter
    private static final Conv2dGeometry G = Conv2dGeometry.of(1, 128, 17, 17, 128, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1);

    private static void assumeFrameLevel() {
        assumeThat(PanamaCnn.activeIsa().id()).as("the Winograd frame runs at the x86 vector levels").startsWith("avx");
    }

    @Test
    void aDilatedLayerServedByTheWinogradFramePassesTheCheckedBackend() {
        assumeFrameLevel();
        try (Conv2d conv = Conv2d.builder(128, 128, 3, 3).padding(2).dilation(2, 2).backend(Backend.checked()).seed(7)
                .build();
             Tensor x = Tensor.of(TestArrays.uniform(new SplittableRandom(5), G.srcShape()), G.srcShape())) {
            Tensor y = conv.forward(x);
            assertThat(NativeBackend.lastAlgorithm()).isEqualTo(ConvAlgorithm.WINOGRAD);
            assertThat(NativeBackend.lastKernel()).startsWith("winograd/avx");
            try (Tensor dy = Tensor.of(TestArrays.uniform(new SplittableRandom(6), y.shape()), y.shape())) {
                conv.backward(dy); // backward-data (Winograd frame) and weights, both checked
            }
        }
    }

    @Test
    void theNativeFrameIsWithinTheFramedBoundAndTheBoundIsNotVacuous() {
        assumeFrameLevel();
        // the same layer undilated (pad 1), Winograd by request: the looseness of the accepted bound
        Conv2dGeometry plain = Conv2dGeometry.of(1, 128, 17, 17, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        Isa before = PanamaCnn.activeIsa();
        int levels = 0;
        try {
            for (Isa isa : Isa.values()) { // every x86 vector level the machine has
                if (!isa.id().startsWith("avx") || isa.level() > PanamaCnn.detectedIsa().level()) {
                    continue;
                }
                PanamaCnn.setMaxIsa(isa);
                for (boolean bwd : new boolean[] {false, true}) {
                    double framed = looseness(G, ConvAlgorithm.AUTO, bwd, isa);
                    double undilated = looseness(plain, ConvAlgorithm.WINOGRAD, bwd, isa);
                    // the framed bound is no looser, against the errors actually made, than the undilated one
                    assertThat(framed).as("%s %s: framed vs undilated max allowed / max error", isa.id(),
                            bwd ? "bwd_data" : "fwd").isLessThan(2 * undilated);
                }
                levels++;
            }
        } finally {
            PanamaCnn.setMaxIsa(before);
        }
        assertThat(levels).isGreaterThanOrEqualTo(1);
    }

    /**
     * Runs one pass natively (asserting Winograd served it), checks the result against the bound,
     * checks that a 4x-bound error at a corner, the middle and the last element is reported, and
     * returns the largest allowed error over the largest error seen.
     */
    private static double looseness(Conv2dGeometry g, ConvAlgorithm algorithm, boolean bwd, Isa isa) {
        Backend nat = Backend.nativeBackend();
        SplittableRandom r = new SplittableRandom(bwd ? 31 : 30);
        long[] inShape = bwd ? g.dstShape() : g.srcShape();
        float[] in = TestArrays.uniform(r, inShape);
        float[] w = TestArrays.uniform(r, g.weightsShape());
        float[] b = bwd ? null : TestArrays.uniform(r, g.biasShape());
        try (Tensor tin = Tensor.of(in, inShape); Tensor tw = Tensor.of(w, g.weightsShape());
             Tensor tb = b == null ? null : Tensor.of(b, g.biasShape());
             Tensor out = Tensor.zeros(bwd ? g.srcShape() : g.dstShape())) {
            double[] exact = new double[(int) out.elementCount()];
            double[] s;
            if (bwd) {
                nat.conv2dBackwardData(g, algorithm, tin, tw, out);
                ReferenceKernels.conv2dBackwardData(g, TestArrays.toDouble(in), TestArrays.toDouble(w), exact);
                s = Tolerance.winogradAbsBound(g, true, TestArrays.toDouble(in), TestArrays.toDouble(w), null);
            } else {
                nat.conv2dForward(g, algorithm, tin, tw, tb, out);
                ReferenceKernels.conv2dForward(g, TestArrays.toDouble(in), TestArrays.toDouble(w), TestArrays.toDouble(b), exact);
                s = Tolerance.winogradAbsBound(g, false, TestArrays.toDouble(in), TestArrays.toDouble(w), TestArrays.toDouble(b));
            }
            String where = (bwd ? "bwd_data " : "fwd ") + g;
            assertThat(NativeBackend.lastKernel()).as(where).isEqualTo("winograd/" + isa.id());
            float[] actual = out.toArray();
            long k = Tolerance.winogradReduction(g, bwd);
            assertThat(Tolerance.compareConv(where, actual, exact, s, k)).isNull();
            for (int i : new int[] {0, actual.length / 2 + 3, actual.length - 1}) {
                float[] bad = actual.clone();
                bad[i] = (float) (exact[i] + 4 * Tolerance.allowedError(s[i], k));
                assertThat(Tolerance.compareConv(where, bad, exact, s, k)).as(where + " at " + i).isNotNull();
            }
            double maxErr = 0;
            double maxAllowed = 0;
            for (int i = 0; i < actual.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(actual[i] - exact[i]));
                maxAllowed = Math.max(maxAllowed, Tolerance.allowedError(s[i], k));
            }
            assertThat(maxErr).as(where).isGreaterThan(0.0);
            return maxAllowed / maxErr;
        }
    }

}
