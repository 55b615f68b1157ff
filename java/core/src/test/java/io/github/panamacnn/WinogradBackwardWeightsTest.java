package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.panamacnn.nativeimpl.NativeBackend;
import io.github.panamacnn.nativeimpl.Tolerance;
import io.github.panamacnn.reference.ReferenceKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Backward-weights served by Winograd F(4x4,3x3) through the Java API: at every ISA level the
 * machine has, a WINOGRAD request is served by {@code winograd/<level>} and the weight gradient lies
 * within {@link Tolerance#winogradBackwardWeightsAbsBound} of the exact one (the bias gradient within
 * the direct bound); a 1e-2 relative error in one element is detected; the checked backend accepts a
 * Winograd-served layer and AUTO picks Winograd for a wide layer at the vector levels.
 */
class WinogradBackwardWeightsTest {

    /** n, c, ih, iw, oc, padTop, padBottom, padLeft, padRight, groups: output tails, channel tails. */
    private static final long[][] SHAPES = {
        {1, 1, 5, 5, 1, 1, 1, 1, 1, 1},
        {2, 3, 9, 6, 5, 1, 1, 1, 1, 1},
        {1, 17, 13, 14, 13, 0, 2, 1, 0, 1},
        {2, 8, 7, 23, 6, 2, 1, 2, 0, 2},
        {3, 20, 10, 9, 18, 0, 0, 0, 0, 2},
    };

    private final Backend nat = Backend.nativeBackend();

    @Test
    void nativeWinogradWeightGradientIsWithinItsBoundAtEveryIsaLevel() {
        List<String> failures = new ArrayList<>();
        int[] compared = {0};
        int levels = TestArrays.atEveryIsaLevel(isa -> {
            for (long[] v : SHAPES) {
                Conv2dGeometry g = Conv2dGeometry.of(v[0], v[1], v[2], v[3], v[4], 3, 3, 1, 1, v[5], v[6], v[7],
                        v[8], 1, 1, v[9]);
                String msg = compare(g, isa, 41 + compared[0]);
                if (msg != null) {
                    failures.add(msg);
                }
                compared[0]++;
            }
        });
        assertThat(failures).isEmpty();
        assertThat(levels).isGreaterThanOrEqualTo(1);
        assertThat(compared[0]).isEqualTo(SHAPES.length * levels);
    }

    private String compare(Conv2dGeometry g, Isa isa, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = TestArrays.uniform(r, g.srcShape());
        float[] dy = TestArrays.uniform(r, g.dstShape());
        try (Tensor tx = Tensor.of(x, g.srcShape()); Tensor tdy = Tensor.of(dy, g.dstShape());
             Tensor dw = Tensor.zeros(g.weightsShape()); Tensor db = Tensor.zeros(g.biasShape())) {
            nat.conv2dBackwardWeights(g, ConvAlgorithm.WINOGRAD, tx, tdy, dw, db);
            String where = isa.id() + " bwd_weights " + g;
            String level = isa.id().startsWith("avx") ? isa.id() : "scalar";
            if (NativeBackend.lastAlgorithm() != ConvAlgorithm.WINOGRAD
                    || !NativeBackend.lastKernel().equals("winograd/" + level)) {
                return where + ": served by " + NativeBackend.lastKernel();
            }
            double[] exactW = new double[(int) dw.elementCount()];
            double[] exactB = new double[(int) db.elementCount()];
            ReferenceKernels.conv2dBackwardWeights(g, TestArrays.toDouble(x, false), TestArrays.toDouble(dy, false), exactW, exactB);
            double[] sw = Tolerance.winogradBackwardWeightsAbsBound(g, TestArrays.toDouble(x, true), TestArrays.toDouble(dy, true));
            long k = Tolerance.winogradBackwardWeightsReduction(g);
            float[] actual = dw.toArray();
            String msg = Tolerance.compareConv(where, actual, exactW, sw, k);
            if (msg != null) {
                return msg;
            }
            double[] sWd = new double[exactW.length];
            double[] sB = new double[exactB.length];
            ReferenceKernels.conv2dBackwardWeights(g, TestArrays.toDouble(x, true), TestArrays.toDouble(dy, true), sWd, sB);
            msg = Tolerance.compareConv(where + " bias", db.toArray(), exactB, sB, Tolerance.backwardWeightsReduction(g));
            if (msg != null) {
                return msg;
            }
            double max = 0;
            for (double e : exactW) {
                max = Math.max(max, Math.abs(e));
            }
            actual[actual.length / 2] = (float) (exactW[actual.length / 2] + 1e-2 * max);
            if (Tolerance.compareConv(where, actual, exactW, sw, k) == null) {
                return where + ": the Winograd backward-weights bound misses a 1e-2 relative error";
            }
            return null;
        }
    }

    @Test
    void theCheckedBackendAcceptsAutosWinogradWeightGradient() {
        Conv2dGeometry g = Conv2dGeometry.of(2, 16, 9, 10, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        SplittableRandom r = new SplittableRandom(8);
        try (Tensor x = Tensor.of(TestArrays.uniform(r, g.srcShape()), g.srcShape());
             Tensor dy = Tensor.of(TestArrays.uniform(r, g.dstShape()), g.dstShape());
             Tensor dw = Tensor.zeros(g.weightsShape()); Tensor db = Tensor.zeros(g.biasShape())) {
            // checked against the bound of the algorithm that served (throws when out of it)
            Backend.checked().conv2dBackwardWeights(g, ConvAlgorithm.AUTO, x, dy, dw, db);
            boolean vector = PanamaCnn.activeIsa().id().startsWith("avx");
            // AUTO rule (docs/winograd.md): >= 16 channels per group on both sides, planes >= 8x8
            assertThat(NativeBackend.lastAlgorithm()).isEqualTo(vector ? ConvAlgorithm.WINOGRAD : ConvAlgorithm.DIRECT);
        }
    }

}
