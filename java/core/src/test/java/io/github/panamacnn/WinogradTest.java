package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.nativeimpl.NativeBackend;
import io.github.panamacnn.nativeimpl.Tolerance;
import io.github.panamacnn.reference.ReferenceKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The WINOGRAD algorithm through the Java API: native Winograd (every ISA level the machine has)
 * against the exact result within the Winograd bound of {@link Tolerance#winogradAbsBound}, which
 * algorithm served (and the ISA), the builder's geometry check, the system property, the checked
 * backend on a WINOGRAD layer, and a negative control showing the bound detects a 1e-3 error.
 */
class WinogradTest {

    /** n, c, ih, iw, oc, padTop, padBottom, padLeft, padRight, groups: output tails 1..5, channel tails. */
    private static final long[][] SHAPES = {
        {1, 1, 5, 5, 1, 1, 1, 1, 1, 1},
        {2, 3, 9, 6, 5, 1, 1, 1, 1, 1},
        {1, 17, 13, 14, 13, 0, 2, 1, 0, 1},
        {2, 8, 7, 23, 6, 2, 1, 2, 0, 2},
        {1, 20, 21, 19, 18, 1, 1, 1, 1, 2},
        {3, 5, 10, 11, 7, 1, 1, 1, 1, 1},
        // 230 in / 270 out channels per group: the transformed tiles of a task pass 512 KB, so the
        // output channel blocks run in super-blocks (two forward, the second a 12-channel tail)
        {1, 460, 5, 6, 540, 1, 1, 1, 1, 2},
    };

    private final Backend nat = Backend.nativeBackend();

    @Test
    void nativeWinogradIsWithinTheWinogradBoundAtEveryIsaLevel() {
        List<String> failures = new ArrayList<>();
        int[] compared = {0};
        int levels = TestArrays.atEveryIsaLevel(isa -> {
            for (long[] v : SHAPES) {
                Conv2dGeometry g = Conv2dGeometry.of(v[0], v[1], v[2], v[3], v[4], 3, 3, 1, 1, v[5], v[6], v[7],
                        v[8], 1, 1, v[9]);
                for (boolean bwd : new boolean[] {false, true}) {
                    String msg = compare(g, bwd, isa, 17 + compared[0]);
                    if (msg != null) {
                        failures.add(msg);
                    }
                    compared[0]++;
                }
            }
        });
        assertThat(failures).isEmpty();
        assertThat(levels).isGreaterThanOrEqualTo(1);
        assertThat(compared[0]).isEqualTo(SHAPES.length * 2 * levels);
    }

    private String compare(Conv2dGeometry g, boolean bwd, Isa isa, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] in = TestArrays.uniform(r, bwd ? g.dstShape() : g.srcShape());
        float[] w = TestArrays.uniform(r, g.weightsShape());
        float[] b = bwd ? null : TestArrays.uniform(r, g.biasShape());
        try (Tensor tin = Tensor.of(in, bwd ? g.dstShape() : g.srcShape()); Tensor tw = Tensor.of(w, g.weightsShape());
             Tensor tb = b == null ? null : Tensor.of(b, g.biasShape());
             Tensor out = Tensor.zeros(bwd ? g.srcShape() : g.dstShape())) {
            double[] exact = new double[(int) out.elementCount()];
            double[] s;
            if (bwd) {
                nat.conv2dBackwardData(g, ConvAlgorithm.WINOGRAD, tin, tw, out);
                ReferenceKernels.conv2dBackwardData(g, TestArrays.toDouble(in), TestArrays.toDouble(w), exact);
                s = Tolerance.winogradAbsBound(g, true, TestArrays.toDouble(in), TestArrays.toDouble(w), null);
            } else {
                nat.conv2dForward(g, ConvAlgorithm.WINOGRAD, tin, tw, tb, out);
                ReferenceKernels.conv2dForward(g, TestArrays.toDouble(in), TestArrays.toDouble(w), TestArrays.toDouble(b), exact);
                s = Tolerance.winogradAbsBound(g, false, TestArrays.toDouble(in), TestArrays.toDouble(w), TestArrays.toDouble(b));
            }
            String where = isa.id() + " " + (bwd ? "bwd_data " : "fwd ") + g;
            // x86 levels have SIMD Winograd kernels; scalar and NEON the scalar one
            String level = isa.id().startsWith("avx") ? isa.id() : "scalar";
            if (NativeBackend.lastAlgorithm() != ConvAlgorithm.WINOGRAD
                    || !NativeBackend.lastKernel().equals("winograd/" + level)) {
                return where + ": served by " + NativeBackend.lastKernel();
            }
            float[] actual = out.toArray();
            long k = Tolerance.winogradReduction(g, bwd);
            String msg = Tolerance.compareConv(where, actual, exact, s, k);
            if (msg != null) {
                return msg;
            }
            // negative control: an error of 1e-3 of the largest |exact| in one element must be out of
            // bound; 1e-2 above 64 input channels per group, where the derived bound (which grows
            // with the reduction length) passes 1e-3 (as in test_conv2d_winograd.c)
            double max = 0;
            for (double e : exact) {
                max = Math.max(max, Math.abs(e));
            }
            double injected = g.c() / g.groups() > 64 ? 1e-2 : 1e-3;
            actual[actual.length / 2] = (float) (exact[actual.length / 2] + injected * max);
            if (Tolerance.compareConv(where, actual, exact, s, k) == null) {
                return where + ": the Winograd bound misses a " + injected + " relative error";
            }
            return null;
        }
    }

    @Test
    void winogradOnAShapeItCannotTakeIsRejectedNamingTheGeometry() {
        assertThatThrownBy(() -> Conv2d.builder(8, 8, 5, 5).algorithm(ConvAlgorithm.WINOGRAD).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("WINOGRAD").hasMessageContaining("kernel 5x5");
        assertThatThrownBy(() -> Conv2d.builder(8, 8, 3, 3).stride(2).algorithm(ConvAlgorithm.WINOGRAD).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stride 2x2");
        assertThatThrownBy(() -> Conv2d.builder(8, 8, 3, 3).dilation(2, 1).algorithm(ConvAlgorithm.WINOGRAD).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dilation 2x1");
        Conv2dGeometry g = Conv2dGeometry.of(1, 2, 8, 8, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        try (Tensor x = Tensor.zeros(g.srcShape()); Tensor w = Tensor.zeros(g.weightsShape());
             Tensor y = Tensor.zeros(g.dstShape())) {
            assertThatThrownBy(() -> nat.conv2dForward(g, ConvAlgorithm.WINOGRAD, x, w, null, y))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kernel 1x1");
        }
    }

    @Test
    void theSystemPropertyGivesTheDefault() {
        String old = System.getProperty(ConvAlgorithm.PROPERTY);
        try {
            System.setProperty(ConvAlgorithm.PROPERTY, "Winograd");
            try (Conv2d c = Conv2d.builder(4, 4, 3, 3).padding(1).build()) {
                assertThat(c.algorithm()).isEqualTo(ConvAlgorithm.WINOGRAD);
            }
            System.setProperty(ConvAlgorithm.PROPERTY, "fastest");
            assertThatThrownBy(() -> Conv2d.builder(4, 4, 3, 3).build())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(ConvAlgorithm.PROPERTY).hasMessageContaining("'fastest'");
            System.clearProperty(ConvAlgorithm.PROPERTY);
            try (Conv2d c = Conv2d.builder(4, 4, 3, 3).build()) {
                assertThat(c.algorithm()).isEqualTo(ConvAlgorithm.AUTO);
            }
        } finally {
            if (old == null) {
                System.clearProperty(ConvAlgorithm.PROPERTY);
            } else {
                System.setProperty(ConvAlgorithm.PROPERTY, old);
            }
        }
    }

    @Test
    void aWinogradLayerPassesTheCheckedBackend() {
        try (Conv2d conv = Conv2d.builder(12, 10, 3, 3).padding(1, 0, 2, 1).algorithm(ConvAlgorithm.WINOGRAD)
                .backend(Backend.checked()).seed(3).build();
             Tensor x = Tensor.of(TestArrays.uniform(new SplittableRandom(5), new long[] {2, 12, 11, 9}), 2, 12, 11, 9)) {
            Tensor y = conv.forward(x);
            assertThat(NativeBackend.lastAlgorithm()).isEqualTo(ConvAlgorithm.WINOGRAD);
            try (Tensor dy = Tensor.of(TestArrays.uniform(new SplittableRandom(6), y.shape()), y.shape())) {
                conv.backward(dy);
            }
        }
    }

}
