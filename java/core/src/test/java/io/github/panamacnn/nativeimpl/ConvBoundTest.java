package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.ConvAlgorithm;
import io.github.panamacnn.reference.ReferenceKernels;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The bound a conv pass is checked against follows the algorithm that served it (values worked out by hand). */
class ConvBoundTest {

    /** 1 image, 1 channel, 2x2 input, one 2x2 filter: a single output, the sum of four products. */
    private static final Conv2dGeometry ONE_WINDOW = Conv2dGeometry.of(1, 1, 2, 2, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1);

    @Test
    void directForwardIsThePassOnAbsoluteValues() {
        double[] ax = {1, 2, 3, 4};           // |x| of x = {1, -2, 3, -4}
        double[] aw = {1, 0.5, 2, 0.25};      // |w| of w = {-1, 0.5, 2, -0.25}
        ConvBound b = ConvBound.forward(ONE_WINDOW, ConvAlgorithm.DIRECT, ax, aw, new double[] {0.5});
        assertThat(b.absSum()).containsExactly(1 + 1 + 6 + 1 + 0.5); // 1*1 + 2*0.5 + 3*2 + 4*0.25 + |bias|
        assertThat(b.k()).isEqualTo(4 + 1);                            // four products and the bias
        assertThat(b.winograd()).isFalse();
        ConvBound noBias = ConvBound.forward(ONE_WINDOW, ConvAlgorithm.POINTWISE, ax, aw, null);
        assertThat(noBias.absSum()).containsExactly(9.0);
        assertThat(noBias.k()).isEqualTo(4);
    }

    @Test
    void directBackwardDataAndWeights() {
        // backward-data: dx[i] = dy * w[i], one product each, so S = |dy| |w[i]|, K <= oc*kh*kw = 4
        ConvBound d = ConvBound.backwardData(ONE_WINDOW, ConvAlgorithm.DEPTHWISE, new double[] {3},
                new double[] {1, 0.5, 2, 0.25});
        assertThat(d.absSum()).containsExactly(3, 1.5, 6, 0.75);
        assertThat(d.k()).isEqualTo(4);
        // backward-weights: dw[i] = x[i] * dy over the one output position, K = n*oh*ow = 1
        ConvBound w = ConvBound.backwardWeights(ONE_WINDOW, ConvAlgorithm.DIRECT, new double[] {1, 2, 3, 4},
                new double[] {0.5});
        assertThat(w.absSum()).containsExactly(0.5, 1, 1.5, 2);
        assertThat(w.k()).isEqualTo(1);
    }

    @Test
    void biasBoundIsTheSumOfAbsoluteGradientsOverImagesAndPlane() {
        // 2 images, 2 output channels of 1x2 (1x1 filter over a 1x2 input)
        Conv2dGeometry g = Conv2dGeometry.of(2, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        double[] ady = {1, 2, 3, 4, 5, 6, 7, 8}; // [n][o][x]: image 0 (1, 2 | 3, 4), image 1 (5, 6 | 7, 8)
        ConvBound b = ConvBound.backwardBias(g, ady);
        assertThat(b.absSum()).containsExactly(1 + 2 + 5 + 6, 3 + 4 + 7 + 8);
        assertThat(b.k()).isEqualTo(2 * 2); // n * oh * ow
        assertThat(b.winograd()).isFalse();
    }

    @Test
    void winogradServedPassesGetWinogradsBound() {
        Conv2dGeometry g = Conv2dGeometry.of(1, 3, 6, 7, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        SplittableRandom r = new SplittableRandom(7);
        double[] ax = r.doubles(g.n() * g.c() * g.ih() * g.iw(), 0, 1).toArray();
        double[] aw = r.doubles(g.oc() * g.c() * 9, 0, 1).toArray();
        double[] ady = r.doubles(g.n() * g.oc() * g.oh() * g.ow(), 0, 1).toArray();

        ConvBound f = ConvBound.forward(g, ConvAlgorithm.WINOGRAD, ax, aw, null);
        assertThat(f.winograd()).isTrue();
        assertThat(f.k()).isEqualTo(3 + 32); // engine input channels + 32 (docs/winograd.md)
        assertThat(f.absSum()).containsExactly(Tolerance.winogradAbsBound(g, false, ax, aw, null));
        ConvBound d = ConvBound.backwardData(g, ConvAlgorithm.WINOGRAD, ady, aw);
        assertThat(d.k()).isEqualTo(2 + 32);
        assertThat(d.absSum()).containsExactly(Tolerance.winogradAbsBound(g, true, ady, aw, null));
        ConvBound w = ConvBound.backwardWeights(g, ConvAlgorithm.WINOGRAD, ax, ady);
        assertThat(w.k()).isEqualTo(1 * 2 * 2 + 32); // n * ceil(6/4) * ceil(7/4) tiles + 32
        assertThat(w.absSum()).containsExactly(Tolerance.winogradBackwardWeightsAbsBound(g, ax, ady));

        // Winograd's S is the looser one (its transforms' coefficients): here on every output element
        double[] direct = new double[f.absSum().length];
        ReferenceKernels.conv2dForward(g, ax, aw, null, direct);
        for (int i = 0; i < direct.length; i++) {
            assertThat(f.absSum()[i]).as("element " + i).isGreaterThan(direct[i]);
        }
    }

    @Test
    void anErrorBetweenTheTwoBoundsPassesOnlyWinogradsBound() {
        Conv2dGeometry g = Conv2dGeometry.of(1, 4, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        double[] x = new SplittableRandom(11).doubles(g.n() * g.c() * 25, -1, 1).toArray();
        double[] w = new SplittableRandom(12).doubles(g.oc() * g.c() * 9, -1, 1).toArray();
        double[] exact = new double[25];
        ReferenceKernels.conv2dForward(g, x, w, null, exact);
        ConvBound direct = ConvBound.forward(g, ConvAlgorithm.DIRECT, abs(x), abs(w), null);
        ConvBound wino = ConvBound.forward(g, ConvAlgorithm.WINOGRAD, abs(x), abs(w), null);
        int centre = 12; // all nine taps inside
        double dAllowed = Tolerance.allowedError(direct.absSum()[centre], direct.k());
        double wAllowed = Tolerance.allowedError(wino.absSum()[centre], wino.k());
        assertThat(wAllowed).isGreaterThan(4 * dAllowed);
        float[] actual = new float[25];
        for (int i = 0; i < 25; i++) {
            actual[i] = (float) exact[i];
        }
        actual[centre] = (float) (exact[centre] + 2 * dAllowed); // off by twice the direct bound
        assertThat(direct.compare("dst", actual, exact)).contains("1 of 25", "direct bound");
        assertThat(wino.compare("dst", actual, exact)).isNull();
    }

    @Test
    void autoIsARequestNotAServedAlgorithm() {
        assertThatThrownBy(() -> ConvBound.forward(ONE_WINDOW, ConvAlgorithm.AUTO, new double[4], new double[4], null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("AUTO");
        assertThatThrownBy(() -> ConvBound.backwardData(ONE_WINDOW, null, new double[1], new double[4]))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("served");
    }

    @Test
    void theReferenceBackendServesDirect() {
        assertThat(ConvBound.lastServed(Backend.reference())).isEqualTo(ConvAlgorithm.DIRECT);
    }

    private static double[] abs(double[] v) {
        double[] a = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            a[i] = Math.abs(v[i]);
        }
        return a;
    }
}
