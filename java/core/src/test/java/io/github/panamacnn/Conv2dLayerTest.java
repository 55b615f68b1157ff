package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.reference.ReferenceKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The Conv2d layer on the reference backend: builder, initialisation, wiring, reuse and ownership. */
class Conv2dLayerTest {

    private static final Backend REF = Backend.reference();

    @Test
    void builderDefaultsAreStride1Padding0Dilation1Groups1WithBias() {
        try (Conv2d conv = Conv2d.builder(3, 4, 3, 3).backend(REF).build()) {
            assertThat(conv.inChannels()).isEqualTo(3);
            assertThat(conv.outChannels()).isEqualTo(4);
            assertThat(conv.kernelH()).isEqualTo(3);
            assertThat(conv.kernelW()).isEqualTo(3);
            assertThat(conv.groups()).isEqualTo(1);
            assertThat(conv.weight().shape()).containsExactly(4, 3, 3, 3);
            assertThat(conv.bias()).isNotNull();
            assertThat(conv.bias().shape()).containsExactly(4);
            assertThat(conv.weightGrad().shape()).containsExactly(4, 3, 3, 3);
            assertThat(conv.biasGrad().shape()).containsExactly(4);
            // stride 1, no padding, dense: 8 - 3 + 1 = 6
            assertThat(conv.outputShape(2, 3, 8, 8)).containsExactly(2, 4, 6, 6);
            assertThat(conv.outputShape(1, 3, 3, 5)).containsExactly(1, 4, 1, 3);
            assertThat(conv.seed()).isZero();
            assertThat(conv.backend()).isSameAs(REF);
        }
    }

    @Test
    void defaultSeedIsZeroAndDefaultBackendIsTheDefaultBackend() {
        try (Conv2d implicit = Conv2d.builder(2, 3, 2, 2).build();
             Conv2d explicit = Conv2d.builder(2, 3, 2, 2).seed(0).backend(REF).build()) {
            assertThat(implicit.weight().toArray()).containsExactly(explicit.weight().toArray());
            assertThat(implicit.bias().toArray()).containsExactly(explicit.bias().toArray());
            assertThat(implicit.backend().name()).isEqualTo(Backend.defaultBackend().name());
        }
    }

    @Test
    void stridePaddingDilationAreApplied() {
        // oh = floor((9 + 2 + 0 - 2*(3-1) - 1) / 2) + 1 = floor(6/2) + 1 = 4
        // ow = floor((10 + 1 + 3 - 1*(2-1) - 1) / 3) + 1 = floor(12/3) + 1 = 5
        try (Conv2d conv = Conv2d.builder(6, 4, 3, 2).stride(2, 3).padding(2, 0, 1, 3).dilation(2, 1).groups(2)
                .backend(REF).build()) {
            assertThat(conv.outputShape(1, 6, 9, 10)).containsExactly(1, 4, 4, 5);
            assertThat(conv.weight().shape()).containsExactly(4, 3, 3, 2);
        }
        try (Conv2d conv = Conv2d.builder(2, 2, 3, 3).padding(1).backend(REF).build()) {
            assertThat(conv.outputShape(1, 2, 5, 7)).containsExactly(1, 2, 5, 7);
        }
    }

    @Test
    void pytorchDefaultInitBoundsHoldAndTheRangeIsUsed() {
        // PyTorch's kaiming_uniform_(a=sqrt(5)): fan_in = (8/1)*3*3 = 72, weight and bias bound 1/sqrt(72)
        checkInitBounds(Conv2d.builder(8, 16, 3, 3).seed(7), 72);
        // groups: fan_in = (8/4)*3*3 = 18
        checkInitBounds(Conv2d.builder(8, 16, 3, 3).groups(4).seed(7), 18);
        // depthwise 5x5: fan_in = 1*5*5 = 25
        checkInitBounds(Conv2d.builder(32, 32, 5, 5).groups(32).seed(11), 25);
    }

    private static void checkInitBounds(Conv2d.Builder builder, int fanIn) {
        try (Conv2d conv = builder.backend(REF).build()) {
            assertThat(conv.fanIn()).isEqualTo(fanIn);
            float[] w = conv.weight().toArray();
            float[] b = conv.bias().toArray();
            double wb = 1.0 / Math.sqrt(fanIn); // gain sqrt(2/(1+5)) * sqrt(3/fanIn)
            double bb = 1.0 / Math.sqrt(fanIn);
            assertWithinAndSpread(w, wb);
            assertWithinAndSpread(b, bb);
        }
    }

    private static void assertWithinAndSpread(float[] v, double bound) {
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE, sum = 0;
        for (float f : v) {
            assertThat(Math.abs((double) f)).isLessThanOrEqualTo((float) bound);
            min = Math.min(min, f);
            max = Math.max(max, f);
            sum += f;
        }
        // Uniform on (-bound, bound): the largest of m draws stays below e*bound with probability
        // ((1+e)/2)^m: 0.95^200 < 4e-5 for the weights, 0.65^16 = 1e-3 for the small bias vectors
        // (the seeds are fixed, so this is decided once, not flaky).
        double edge = v.length >= 200 ? 0.9 : 0.3;
        assertThat(max).as("largest of %d draws, bound %s", v.length, bound).isGreaterThan(edge * bound);
        assertThat(min).as("smallest of %d draws, bound %s", v.length, bound).isLessThan(-edge * bound);
        if (v.length >= 200) {
            // mean of uniform(-b, b): sd = b/sqrt(3n); 6 sd
            assertThat(Math.abs(sum / v.length)).isLessThan(6 * bound / Math.sqrt(3.0 * v.length));
        }
    }

    @Test
    void initialisationIsReproducibleBySeed() {
        try (Conv2d a = Conv2d.builder(4, 6, 3, 3).seed(123).backend(REF).build();
             Conv2d b = Conv2d.builder(4, 6, 3, 3).seed(123).backend(REF).build();
             Conv2d c = Conv2d.builder(4, 6, 3, 3).seed(124).backend(REF).build()) {
            assertThat(a.weight().toArray()).containsExactly(b.weight().toArray());
            assertThat(a.bias().toArray()).containsExactly(b.bias().toArray());
            assertThat(a.weight().toArray()).isNotEqualTo(c.weight().toArray());
            assertThat(a.bias().toArray()).isNotEqualTo(c.bias().toArray());
        }
    }

    @Test
    void knownAnswerForwardAndBackward() {
        // 1 -> 1 channel, 2x2 kernel [[1, 0], [0, -1]], bias 0.5, input 3x3 = 1..9:
        // out[y][x] = in[y][x] - in[y+1][x+1] + 0.5 = -4 + 0.5 = -3.5 everywhere (2x2).
        try (Conv2d conv = Conv2d.builder(1, 1, 2, 2).backend(REF).build();
             Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
             Tensor dy = Tensor.of(new float[] {1, 1, 1, 1}, 1, 1, 2, 2)) {
            conv.weight().copyFrom(new float[] {1, 0, 0, -1});
            conv.bias().copyFrom(new float[] {0.5f});
            Tensor y = conv.forward(x);
            assertThat(y.shape()).containsExactly(1, 1, 2, 2);
            assertThat(y.toArray()).containsExactly(-3.5f, -3.5f, -3.5f, -3.5f);

            Tensor dx = conv.backward(dy);
            // weight gradient: sums of the 2x2 windows of x at each kernel offset
            assertThat(conv.weightGrad().toArray()).containsExactly(12, 16, 24, 28);
            assertThat(conv.biasGrad().toArray()).containsExactly(4);
            // input gradient: +1 where the top-left tap touched, -1 where the bottom-right tap touched
            assertThat(dx.toArray()).containsExactly(1, 1, 0, 1, 0, -1, 0, -1, -1);
        }
    }

    static List<Arguments> configurations() {
        List<Arguments> list = new ArrayList<>();
        //                     c  oc kh kw sh sw pt pb pl pr dh dw  g  bias  n  ih iw
        list.add(Arguments.of(3, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, true, 2, 6, 7));
        list.add(Arguments.of(4, 6, 3, 2, 2, 1, 1, 0, 2, 1, 1, 2, 2, true, 1, 9, 8));
        list.add(Arguments.of(5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, false, 3, 5, 5));
        list.add(Arguments.of(2, 3, 1, 1, 3, 2, 0, 0, 0, 0, 1, 1, 1, true, 1, 7, 4));
        list.add(Arguments.of(6, 4, 2, 3, 1, 2, 0, 2, 0, 1, 2, 1, 2, false, 2, 6, 9));
        return list;
    }

    @ParameterizedTest
    @MethodSource("configurations")
    void forwardAndBackwardEqualTheReferenceKernels(int c, int oc, int kh, int kw, int sh, int sw, int pt, int pb,
                                                   int pl, int pr, int dh, int dw, int groups, boolean withBias,
                                                   int n, int ih, int iw) {
        Conv2dGeometry g = Conv2dGeometry.of(n, c, ih, iw, oc, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups);
        SplittableRandom r = new SplittableRandom(31L * c + oc + ih);
        float[] xs = random(r, (int) (n * c * ih * iw));
        float[] dys = random(r, (int) (g.n() * g.oc() * g.oh() * g.ow()));
        try (Conv2d conv = Conv2d.builder(c, oc, kh, kw).stride(sh, sw).padding(pt, pb, pl, pr).dilation(dh, dw)
                .groups(groups).bias(withBias).seed(5).backend(REF).build();
             Tensor x = Tensor.of(xs, n, c, ih, iw);
             Tensor dy = Tensor.of(dys, g.dstShape())) {
            assertThat(conv.bias() == null).isEqualTo(!withBias);
            assertThat(conv.biasGrad() == null).isEqualTo(!withBias);
            double[] w = toDoubles(conv.weight().toArray());
            double[] b = withBias ? toDoubles(conv.bias().toArray()) : null;

            Tensor y = conv.forward(x);
            assertThat(conv.geometry()).isEqualTo(g);
            double[] expectedY = new double[(int) (g.n() * g.oc() * g.oh() * g.ow())];
            ReferenceKernels.conv2dForward(g, toDoubles(xs), w, b, expectedY);
            assertThat(y.shape()).containsExactly(g.dstShape());
            assertThat(y.toArray()).containsExactly(toFloats(expectedY));

            Tensor dx = conv.backward(dy);
            double[] expectedDx = new double[xs.length];
            ReferenceKernels.conv2dBackwardData(g, toDoubles(dys), w, expectedDx);
            assertThat(dx.shape()).containsExactly(n, c, ih, iw);
            assertThat(dx.toArray()).containsExactly(toFloats(expectedDx));

            double[] expectedDw = new double[w.length];
            double[] expectedDb = withBias ? new double[oc] : null;
            ReferenceKernels.conv2dBackwardWeights(g, toDoubles(xs), toDoubles(dys), expectedDw, expectedDb);
            assertThat(conv.weightGrad().toArray()).containsExactly(toFloats(expectedDw));
            if (withBias) {
                assertThat(conv.biasGrad().toArray()).containsExactly(toFloats(expectedDb));
            }
        }
    }

    @Test
    void backwardOverwritesGradientsInsteadOfAccumulating() {
        try (Conv2d conv = Conv2d.builder(2, 2, 2, 2).seed(3).backend(REF).build();
             Tensor x = Tensor.of(random(new SplittableRandom(1), 2 * 4 * 4), 1, 2, 4, 4);
             Tensor dy = Tensor.of(random(new SplittableRandom(2), 2 * 3 * 3), 1, 2, 3, 3)) {
            conv.forward(x);
            conv.backward(dy);
            float[] dw1 = conv.weightGrad().toArray();
            float[] db1 = conv.biasGrad().toArray();
            float[] dx1 = conv.backward(dy).toArray();
            assertThat(conv.weightGrad().toArray()).containsExactly(dw1);
            assertThat(conv.biasGrad().toArray()).containsExactly(db1);
            assertThat(conv.backward(dy).toArray()).containsExactly(dx1);
        }
    }

    @Test
    void outputAndGradientTensorsAreReusedForTheSameShape() {
        try (Conv2d conv = Conv2d.builder(2, 3, 3, 3).padding(1).backend(REF).build();
             Tensor x1 = Tensor.of(random(new SplittableRandom(1), 2 * 5 * 5), 1, 2, 5, 5);
             Tensor x2 = Tensor.of(random(new SplittableRandom(2), 2 * 5 * 5), 1, 2, 5, 5);
             Tensor x3 = Tensor.of(random(new SplittableRandom(3), 2 * 2 * 6 * 4), 2, 2, 6, 4);
             Tensor dy = Tensor.zeros(1, 3, 5, 5).fill(1f);
             Tensor dy3 = Tensor.zeros(2, 3, 6, 4).fill(1f)) {
            Tensor wg = conv.weightGrad();
            Tensor y1 = conv.forward(x1);
            float[] y1Values = y1.toArray();
            Tensor dx1 = conv.backward(dy);
            Tensor y2 = conv.forward(x2);
            assertThat(y2).isSameAs(y1);
            assertThat(y2.toArray()).isNotEqualTo(y1Values); // overwritten with x2's result
            Tensor dx2 = conv.backward(dy);
            assertThat(dx2).isSameAs(dx1);
            assertThat(conv.weightGrad()).isSameAs(wg);

            Tensor y3 = conv.forward(x3);
            assertThat(y3).isNotSameAs(y1);
            assertThat(y1.isAlive()).as("the old-shape output is freed").isFalse();
            assertThat(y3.shape()).containsExactly(2, 3, 6, 4);
            Tensor dx3 = conv.backward(dy3);
            assertThat(dx3).isNotSameAs(dx1);
            assertThat(dx1.isAlive()).isFalse();
            assertThat(dx3.shape()).containsExactly(2, 2, 6, 4);
        }
    }

    @Test
    void anOutputClosedByTheCallerIsReplaced() {
        try (Conv2d conv = Conv2d.builder(1, 1, 1, 1).backend(REF).build();
             Tensor x = Tensor.zeros(1, 1, 2, 2).fill(2f)) {
            Tensor y = conv.forward(x);
            y.close();
            Tensor y2 = conv.forward(x);
            assertThat(y2).isNotSameAs(y);
            assertThat(y2.isAlive()).isTrue();
            assertThat(y2.toArray()).hasSize(4);
        }
    }

    @Test
    void closeFreesParametersGradientsAndResultsButNotTheInput() {
        Conv2d conv = Conv2d.builder(2, 2, 1, 1).backend(REF).build();
        Tensor x = Tensor.zeros(1, 2, 3, 3).fill(1f);
        Tensor dy = Tensor.zeros(1, 2, 3, 3).fill(1f);
        try {
            Tensor w = conv.weight(), b = conv.bias(), wg = conv.weightGrad(), bg = conv.biasGrad();
            Tensor y = conv.forward(x);
            Tensor dx = conv.backward(dy);
            conv.close();
            conv.close(); // idempotent
            assertThat(conv.isClosed()).isTrue();
            for (Tensor t : new Tensor[] {w, b, wg, bg, y, dx}) {
                assertThat(t.isAlive()).as("%s", t).isFalse();
            }
            assertThat(x.isAlive()).isTrue();
            assertThat(dy.isAlive()).isTrue();
            List<Consumer<Conv2d>> calls = List.of(c -> c.forward(x), c -> c.backward(dy), Conv2d::weight,
                    Conv2d::bias, Conv2d::weightGrad, Conv2d::biasGrad, Conv2d::geometry, Conv2d::inChannels,
                    Conv2d::outChannels, c -> c.outputShape(1, 2, 3, 3), Conv2d::fanIn, Conv2d::backend);
            for (Consumer<Conv2d> call : calls) {
                assertThatThrownBy(() -> call.accept(conv)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("Conv2d layer is closed");
            }
        } finally {
            x.close();
            dy.close();
        }
    }

    @Test
    void backwardNeedsTheInputOfTheLastForwardAlive() {
        try (Conv2d conv = Conv2d.builder(1, 1, 1, 1).backend(REF).build();
             Tensor dy = Tensor.zeros(1, 1, 2, 2)) {
            Tensor x = Tensor.zeros(1, 1, 2, 2);
            conv.forward(x);
            x.close();
            assertThatThrownBy(() -> conv.backward(dy)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("input of the last forward [1, 1, 2, 2] has been closed");
        }
    }

    @Test
    void geometryBeforeForwardThrows() {
        try (Conv2d conv = Conv2d.builder(1, 1, 1, 1).backend(REF).build()) {
            assertThatThrownBy(conv::geometry).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no forward");
        }
    }

    // ---------------------------------------------------------------- helpers

    static float[] random(SplittableRandom r, int count) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
