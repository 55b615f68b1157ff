package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.reference.ReferenceKernels;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The MaxPool2d layer on the reference backend: builder, known answers, wiring, reuse and ownership. */
class MaxPool2dLayerTest {

    private static final Backend REF = Backend.reference();

    @Test
    void builderDefaultsStrideEqualsKernelNoPaddingFloorMode() {
        try (MaxPool2d pool = MaxPool2d.builder(3, 2).backend(REF).build()) {
            assertThat(pool.kernelH()).isEqualTo(3);
            assertThat(pool.kernelW()).isEqualTo(2);
            assertThat(pool.strideH()).isEqualTo(3);
            assertThat(pool.strideW()).isEqualTo(2);
            assertThat(pool.ceilMode()).isFalse();
            // floor((8-3)/3)+1 = 2, floor((7-2)/2)+1 = 3
            assertThat(pool.outputShape(2, 5, 8, 7)).containsExactly(2, 5, 2, 3);
        }
        try (MaxPool2d pool = MaxPool2d.builder(3, 2).ceilMode(true).backend(REF).build()) {
            // ceil((8-3)/3)+1 = 3 (last window starts at 6 < 8), ceil((7-2)/2)+1 = 4 (starts at 6 < 7)
            assertThat(pool.outputShape(2, 5, 8, 7)).containsExactly(2, 5, 3, 4);
        }
        try (MaxPool2d pool = MaxPool2d.builder(3, 3).stride(1, 2).padding(1, 0, 2, 1).dilation(2, 1)
                .backend(REF).build()) {
            // oh = floor((6+1+0 - 2*2 - 1)/1)+1 = 3, ow = floor((5+2+1 - 2 - 1)/2)+1 = 3
            assertThat(pool.outputShape(1, 1, 6, 5)).containsExactly(1, 1, 3, 3);
        }
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).build()) {
            assertThat(pool.backend().name()).isEqualTo(Backend.defaultBackend().name());
        }
    }

    @Test
    void knownAnswerWithTiesAndNaN() {
        float nan = Float.NaN;
        // 1x2x4x4, 2x2 windows, stride 2
        float[] x = {
                // plane 0: distinct values
                1, 5, 2, 0,
                3, 4, 8, 7,
                9, 9, 6, 6,
                9, 9, 6, 6,
                // plane 1: a NaN, ties and -inf
                0, nan, -1, -1,
                3, 2, -1, -1,
                Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 4, 4,
                Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 5, 4,
        };
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).backend(REF).build();
             Tensor in = Tensor.of(x, 1, 2, 4, 4);
             Tensor dy = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2)) {
            Tensor y = pool.forward(in);
            float[] out = y.toArray();
            assertThat(out[0]).isEqualTo(5f);
            assertThat(out[1]).isEqualTo(8f);
            assertThat(out[2]).isEqualTo(9f);
            assertThat(out[3]).isEqualTo(6f);
            assertThat(out[4]).isNaN();
            assertThat(out[5]).isEqualTo(-1f);
            assertThat(out[6]).isEqualTo(Float.NEGATIVE_INFINITY);
            assertThat(out[7]).isEqualTo(5f);
            // ties go to the first maximum in row-major order; the NaN wins its window
            assertThat(pool.indices()).containsExactly(1, 6, 8, 10, 1, 2, 8, 14);

            Tensor dx = pool.backward(dy);
            float[] expected = new float[32];
            expected[1] = 1;
            expected[6] = 2;
            expected[8] = 3;
            expected[10] = 4;
            expected[16 + 1] = 5;
            expected[16 + 2] = 6;
            expected[16 + 8] = 7;
            expected[16 + 14] = 8;
            assertThat(dx.toArray()).containsExactly(expected);
        }
    }

    @Test
    void overlappingWindowsAccumulateOnTheSharedMaximum() {
        // 3x3 input, maximum in the centre; 2x2 windows with stride 1: all four windows pick it
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).stride(1, 1).backend(REF).build();
             Tensor in = Tensor.of(new float[] {0, 1, 0, 1, 9, 1, 0, 1, 0}, 1, 1, 3, 3);
             Tensor dy = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2)) {
            assertThat(pool.forward(in).toArray()).containsExactly(9, 9, 9, 9);
            assertThat(pool.indices()).containsExactly(4, 4, 4, 4);
            assertThat(pool.backward(dy).toArray()).containsExactly(0, 0, 0, 0, 10, 0, 0, 0, 0);
        }
    }

    @Test
    void paddingNeverWins() {
        // all inputs negative, padding 1: a padded zero must not be the maximum
        try (MaxPool2d pool = MaxPool2d.builder(3, 3).stride(1, 1).padding(1).backend(REF).build();
             Tensor in = Tensor.of(new float[] {-5, -4, -3, -2}, 1, 1, 2, 2)) {
            assertThat(pool.forward(in).toArray()).containsExactly(-2, -2, -2, -2);
            assertThat(pool.indices()).containsExactly(3, 3, 3, 3);
        }
    }

    @ParameterizedTest
    @CsvSource({
            // n, c, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, ceil
            "2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false",
            "1, 4, 11, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true",
            "3, 2, 7, 10, 3, 2, 1, 3, 2, 0, 0, 1, 2, 1, false",
            "1, 5, 9, 9, 2, 3, 3, 2, 0, 1, 1, 0, 2, 2, true",
    })
    void forwardAndBackwardEqualTheReferenceKernels(int n, int c, int ih, int iw, int kh, int kw, int sh, int sw,
                                                   int pt, int pb, int pl, int pr, int dh, int dw, boolean ceil) {
        MaxPool2dGeometry g = MaxPool2dGeometry.of(n, c, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, ceil);
        SplittableRandom r = new SplittableRandom(n * 1000L + ih * 10L + kw);
        float[] xs = new float[n * c * ih * iw];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = r.nextInt(-2, 3); // few distinct values: many ties
        }
        float[] dys = new float[(int) g.dstElementCount()];
        for (int i = 0; i < dys.length; i++) {
            dys[i] = (float) r.nextDouble(-1, 1);
        }
        try (MaxPool2d pool = MaxPool2d.builder(kh, kw).stride(sh, sw).padding(pt, pb, pl, pr).dilation(dh, dw)
                .ceilMode(ceil).backend(REF).build();
             Tensor x = Tensor.of(xs, n, c, ih, iw);
             Tensor dy = Tensor.of(dys, g.dstShape())) {
            Tensor y = pool.forward(x);
            assertThat(pool.geometry()).isEqualTo(g);
            float[] expectedY = new float[dys.length];
            int[] expectedIdx = new int[dys.length];
            ReferenceKernels.maxPool2dForward(g, xs, expectedY, expectedIdx);
            assertThat(y.shape()).containsExactly(g.dstShape());
            assertThat(y.toArray()).containsExactly(expectedY);
            assertThat(pool.indices()).containsExactly(expectedIdx);

            float[] expectedDx = new float[xs.length];
            ReferenceKernels.maxPool2dBackward(g, dys, expectedIdx, expectedDx);
            Tensor dx = pool.backward(dy);
            assertThat(dx.shape()).containsExactly(n, c, ih, iw);
            assertThat(dx.toArray()).containsExactly(expectedDx);
        }
    }

    @Test
    void indicesIsACopyAndNeedsAForward() {
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).backend(REF).build();
             Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2)) {
            assertThatThrownBy(pool::indices).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no forward");
            assertThatThrownBy(pool::geometry).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no forward");
            pool.forward(x);
            int[] idx = pool.indices();
            assertThat(idx).containsExactly(3);
            idx[0] = 0;
            assertThat(pool.indices()).containsExactly(3);
        }
    }

    @Test
    void outputIndicesAndGradientAreReusedForTheSameShape() {
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).backend(REF).build();
             Tensor x1 = Tensor.of(new float[] {1, 2, 3, 4, 8, 7, 6, 5}, 1, 2, 2, 2);
             Tensor x2 = Tensor.of(new float[] {4, 3, 2, 1, 5, 6, 7, 8}, 1, 2, 2, 2);
             Tensor x3 = Tensor.zeros(1, 2, 4, 4);
             Tensor dy = Tensor.of(new float[] {1, 1}, 1, 2, 1, 1);
             Tensor dy3 = Tensor.zeros(1, 2, 2, 2)) {
            Tensor y1 = pool.forward(x1);
            assertThat(pool.indices()).containsExactly(3, 0);
            Tensor dx1 = pool.backward(dy);
            assertThat(dx1.toArray()).containsExactly(0, 0, 0, 1, 1, 0, 0, 0);
            Tensor y2 = pool.forward(x2);
            assertThat(y2).isSameAs(y1);
            assertThat(y2.toArray()).containsExactly(4, 8);
            assertThat(pool.indices()).containsExactly(0, 3);
            Tensor dx2 = pool.backward(dy);
            assertThat(dx2).isSameAs(dx1);
            assertThat(dx2.toArray()).containsExactly(1, 0, 0, 0, 0, 0, 0, 1);

            Tensor y3 = pool.forward(x3);
            assertThat(y3).isNotSameAs(y1);
            assertThat(y1.isAlive()).isFalse();
            assertThat(pool.backward(dy3)).isNotSameAs(dx1);
            assertThat(dx1.isAlive()).isFalse();
        }
    }

    @Test
    void closeFreesResultsButNotTheInputAndEveryMethodThenThrows() {
        MaxPool2d pool = MaxPool2d.builder(2, 2).backend(REF).build();
        try (Tensor x = Tensor.zeros(1, 1, 4, 4); Tensor dy = Tensor.zeros(1, 1, 2, 2)) {
            Tensor y = pool.forward(x);
            Tensor dx = pool.backward(dy);
            pool.close();
            pool.close();
            assertThat(pool.isClosed()).isTrue();
            assertThat(y.isAlive()).isFalse();
            assertThat(dx.isAlive()).isFalse();
            assertThat(x.isAlive()).isTrue();
            List<Consumer<MaxPool2d>> calls = List.of(p -> p.forward(x), p -> p.backward(dy), MaxPool2d::indices,
                    MaxPool2d::geometry, p -> p.outputShape(1, 1, 4, 4), MaxPool2d::kernelH, MaxPool2d::strideW,
                    MaxPool2d::ceilMode, MaxPool2d::backend);
            for (Consumer<MaxPool2d> call : calls) {
                assertThatThrownBy(() -> call.accept(pool)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("MaxPool2d layer is closed");
            }
        }
    }
}
