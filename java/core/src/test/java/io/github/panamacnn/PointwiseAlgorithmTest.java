package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.nativeimpl.NativeBackend;
import io.github.panamacnn.nativeimpl.Tolerance;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The POINTWISE algorithm (strided 1x1) through the Java API: with integer-valued data every sum is
 * exact, so an explicit POINTWISE request must give the DIRECT results bit for bit (forward with bias,
 * backward-data) at every ISA level the machine has, and report POINTWISE as what served; AUTO picks
 * it for strided 1x1 forward passes (and backward-weights from 16 channels per group); the builder and the backend reject geometries it cannot take; a
 * POINTWISE layer passes the checked backend (the reference within the direct bound).
 * Accuracy on random data under AUTO: the strided-1x1 rows of ShapeCorpus in the cross-check.
 */
class PointwiseAlgorithmTest {

    /** n, c, ih, iw, oc, strideH, strideW, groups */
    private static final long[][] SHAPES = {
        {2, 20, 15, 13, 24, 2, 2, 1},
        {1, 17, 28, 28, 33, 2, 2, 1},
        {3, 9, 7, 12, 5, 3, 2, 1},
        {2, 32, 9, 9, 16, 2, 2, 2},
    };

    private final Backend nat = Backend.nativeBackend();

    @Test
    void explicitPointwiseEqualsDirectOnIntegerDataAtEveryIsaLevel() {
        int[] level = {0};
        int levels = TestArrays.atEveryIsaLevel(isa -> {
            level[0]++;
            for (long[] v : SHAPES) {
                Conv2dGeometry g = Conv2dGeometry.of(v[0], v[1], v[2], v[3], v[4], 1, 1, v[5], v[6], 0, 0, 0, 0,
                        1, 1, v[7]);
                compare(g, isa, level[0] * 100 + v[1]);
            }
        });
        assertThat(levels).isGreaterThanOrEqualTo(1);
    }

    private void compare(Conv2dGeometry g, Isa isa, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        String where = isa.id() + " " + g;
        try (Tensor x = Tensor.of(ints(r, g.srcShape()), g.srcShape());
             Tensor w = Tensor.of(ints(r, g.weightsShape()), g.weightsShape());
             Tensor b = Tensor.of(ints(r, g.biasShape()), g.biasShape());
             Tensor dy = Tensor.of(ints(r, g.dstShape()), g.dstShape());
             Tensor y1 = Tensor.zeros(g.dstShape()); Tensor y2 = Tensor.zeros(g.dstShape());
             Tensor dx1 = Tensor.zeros(g.srcShape()); Tensor dx2 = Tensor.zeros(g.srcShape())) {
            nat.conv2dForward(g, ConvAlgorithm.POINTWISE, x, w, b, y1);
            assertThat(NativeBackend.lastAlgorithm()).as(where).isEqualTo(ConvAlgorithm.POINTWISE);
            nat.conv2dBackwardData(g, ConvAlgorithm.POINTWISE, dy, w, dx1);
            assertThat(NativeBackend.lastAlgorithm()).as(where).isEqualTo(ConvAlgorithm.POINTWISE);
            nat.conv2dForward(g, ConvAlgorithm.DIRECT, x, w, b, y2);
            nat.conv2dBackwardData(g, ConvAlgorithm.DIRECT, dy, w, dx2);
            assertThat(NativeBackend.lastAlgorithm()).as(where).isEqualTo(ConvAlgorithm.DIRECT);
            Tolerance.assertBitExact(where + " fwd", y1.toArray(), y2.toArray());
            Tolerance.assertBitExact(where + " bwd_data", dx1.toArray(), dx2.toArray());
        }
    }

    @Test
    void autoPicksPointwiseForStridedOneByOne() {
        Conv2dGeometry wide = Conv2dGeometry.of(1, 16, 10, 10, 8, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1);
        Conv2dGeometry thin = Conv2dGeometry.of(1, 15, 10, 10, 8, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1);
        Conv2dGeometry dense = Conv2dGeometry.of(1, 16, 10, 10, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        boolean vector = PanamaCnn.activeIsa().id().startsWith("avx");
        for (Conv2dGeometry g : new Conv2dGeometry[] {wide, thin, dense}) {
            try (Tensor x = Tensor.zeros(g.srcShape()); Tensor w = Tensor.zeros(g.weightsShape());
                 Tensor y = Tensor.zeros(g.dstShape()); Tensor dw = Tensor.zeros(g.weightsShape())) {
                nat.conv2dForward(g, ConvAlgorithm.AUTO, x, w, null, y);
                ConvAlgorithm want = g != dense && vector ? ConvAlgorithm.POINTWISE : ConvAlgorithm.DIRECT;
                assertThat(NativeBackend.lastAlgorithm()).as("fwd " + g).isEqualTo(want);
                nat.conv2dBackwardWeights(g, x, y, dw, null); // the thread's request is still AUTO
                want = g == wide && vector ? ConvAlgorithm.POINTWISE : ConvAlgorithm.DIRECT;
                assertThat(NativeBackend.lastAlgorithm()).as("bwd_weights " + g).isEqualTo(want);
            }
        }
    }

    @Test
    void pointwiseOnAShapeItCannotTakeIsRejectedNamingTheGeometry() {
        assertThatThrownBy(() -> Conv2d.builder(8, 8, 3, 3).stride(2).algorithm(ConvAlgorithm.POINTWISE).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("POINTWISE").hasMessageContaining("1x1").hasMessageContaining("kernel 3x3");
        assertThatThrownBy(() -> Conv2d.builder(8, 8, 1, 1).algorithm(ConvAlgorithm.POINTWISE).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stride 1x1");
        assertThatThrownBy(() -> Conv2d.builder(8, 8, 1, 1).stride(2).padding(1).algorithm(ConvAlgorithm.POINTWISE)
                .build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("padding top 1");
        Conv2dGeometry g = Conv2dGeometry.of(1, 2, 8, 8, 2, 1, 1, 2, 2, 0, 1, 0, 0, 1, 1, 1);
        try (Tensor x = Tensor.zeros(g.srcShape()); Tensor w = Tensor.zeros(g.weightsShape());
             Tensor y = Tensor.zeros(g.dstShape())) {
            assertThatThrownBy(() -> nat.conv2dForward(g, ConvAlgorithm.POINTWISE, x, w, null, y))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bottom 1");
        }
        assertThat(ConvAlgorithm.parse(" PointWise ", "test")).isEqualTo(ConvAlgorithm.POINTWISE);
    }

    @Test
    void aPointwiseLayerPassesTheCheckedBackend() {
        try (Conv2d conv = Conv2d.builder(16, 12, 1, 1).stride(2).algorithm(ConvAlgorithm.POINTWISE)
                .backend(Backend.checked()).seed(3).build();
             Tensor x = Tensor.of(TestArrays.uniform(new SplittableRandom(5), new long[] {2, 16, 11, 9}), 2, 16, 11, 9)) {
            Tensor y = conv.forward(x);
            assertThat(NativeBackend.lastAlgorithm()).isEqualTo(ConvAlgorithm.POINTWISE);
            try (Tensor dy = Tensor.of(TestArrays.uniform(new SplittableRandom(6), y.shape()), y.shape())) {
                conv.backward(dy);
            }
        }
    }

    /**
     * Backward-weights of a layer must run under that layer's own algorithm request, not the one the
     * previous call on this thread left behind (here: the next layer's explicit POINTWISE request,
     * which cannot take a 3x3 convolution).
     */
    @Test
    void backwardWeightsAfterAnotherLayersPointwiseRequestUsesItsOwnAlgorithm() {
        try (Conv2d a = Conv2d.builder(3, 16, 3, 3).padding(1).seed(1).build();
             Conv2d b = Conv2d.builder(16, 8, 1, 1).stride(2).algorithm(ConvAlgorithm.POINTWISE).seed(2).build();
             Tensor x = Tensor.of(TestArrays.uniform(new SplittableRandom(7), new long[] {2, 3, 9, 9}), 2, 3, 9, 9)) {
            Tensor y = b.forward(a.forward(x));
            try (Tensor dy = Tensor.of(TestArrays.uniform(new SplittableRandom(8), y.shape()), y.shape())) {
                Tensor dh = b.backward(dy);
                assertThat(NativeBackend.lastAlgorithm()).isEqualTo(ConvAlgorithm.POINTWISE);
                a.backward(dh);
                assertThat(NativeBackend.lastAlgorithm()).isEqualTo(ConvAlgorithm.DIRECT);
            }
        }
    }

    private static float[] ints(SplittableRandom r, long[] shape) {
        float[] a = new float[(int) TestArrays.count(shape)];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextInt(-4, 5);
        }
        return a;
    }

}
