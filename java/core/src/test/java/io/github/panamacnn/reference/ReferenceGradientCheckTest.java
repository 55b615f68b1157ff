package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.MaxPool2dGeometry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;

import static io.github.panamacnn.reference.RefTestSupport.conv;
import static io.github.panamacnn.reference.RefTestSupport.dot;
import static io.github.panamacnn.reference.RefTestSupport.dstCount;
import static io.github.panamacnn.reference.RefTestSupport.maxAbs;
import static io.github.panamacnn.reference.RefTestSupport.norm;
import static io.github.panamacnn.reference.RefTestSupport.size;
import static io.github.panamacnn.reference.RefTestSupport.srcCount;
import static io.github.panamacnn.reference.RefTestSupport.uniform;
import static io.github.panamacnn.reference.RefTestSupport.weightCount;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Central finite differences against the analytic backward passes. For convolution the loss is
 * {@code L = <conv(x, w) + b, R>} with random {@code R}, so {@code dL/dx = bwdData(R, w)},
 * {@code dL/dw = bwdWeights(x, R)} and {@code dL/db = sum of R}. L is bilinear, so central
 * differences carry no truncation error and only rounding noise (about 1e-10 here) remains.
 */
class ReferenceGradientCheckTest {

    private static final double H = 1e-6;
    private static final double MAX_RELATIVE_ERROR = 1e-6;

    static Stream<Arguments> convShapes() {
        return Stream.of(
                // name, n, c, ih, iw, oc, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups
                Arguments.of("plain", Conv2dGeometry.of(2, 3, 5, 6, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1)),
                Arguments.of("stride 2", Conv2dGeometry.of(1, 2, 7, 6, 3, 3, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1)),
                Arguments.of("stride 3x1 > kernel", Conv2dGeometry.of(2, 1, 8, 5, 2, 2, 2, 3, 1, 0, 0, 0, 0, 1, 1, 1)),
                Arguments.of("asymmetric padding", Conv2dGeometry.of(1, 2, 4, 5, 2, 3, 3, 1, 1, 2, 0, 1, 2, 1, 1, 1)),
                Arguments.of("dilation 2", Conv2dGeometry.of(1, 2, 7, 7, 2, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1)),
                Arguments.of("dilation 3x1 + padding", Conv2dGeometry.of(2, 1, 6, 5, 3, 2, 3, 1, 2, 1, 1, 0, 1, 3, 1, 1)),
                Arguments.of("groups 2", Conv2dGeometry.of(2, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)),
                Arguments.of("depthwise", Conv2dGeometry.of(1, 3, 6, 6, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3)),
                Arguments.of("everything", Conv2dGeometry.of(2, 6, 9, 8, 4, 3, 2, 2, 3, 1, 2, 0, 1, 2, 2, 2)),
                Arguments.of("kernel == input", Conv2dGeometry.of(1, 2, 3, 4, 2, 3, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1)),
                Arguments.of("1x1 input, padded", Conv2dGeometry.of(1, 1, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convShapes")
    void convGradientsMatchCentralDifferences(String name, Conv2dGeometry g) {
        SplittableRandom rnd = new SplittableRandom(name.hashCode());
        double[] x = uniform(rnd, srcCount(g));
        double[] w = uniform(rnd, weightCount(g));
        double[] b = uniform(rnd, g.oc());
        double[] r = uniform(rnd, dstCount(g));

        double[] dx = RefTestSupport.bwdData(g, r, w);
        double[] dw = new double[w.length];
        double[] db = new double[b.length];
        ReferenceKernels.conv2dBackwardWeights(g, x, r, dw, db);

        assertMatchesFiniteDifferences("dL/dx, " + g, x, dx, xx -> dot(conv(g, xx, w, b), r));
        assertMatchesFiniteDifferences("dL/dw, " + g, w, dw, ww -> dot(conv(g, x, ww, b), r));
        assertMatchesFiniteDifferences("dL/db, " + g, b, db, bb -> dot(conv(g, x, w, bb), r));
    }

    /** Perturbs each entry of {@code at} by +-H (restoring it after) and compares with {@code analytic}. */
    private static void assertMatchesFiniteDifferences(String what, double[] at, double[] analytic,
                                                       Function<double[], Double> loss) {
        double[] fd = new double[at.length];
        for (int i = 0; i < at.length; i++) {
            double saved = at[i];
            at[i] = saved + H;
            double plus = loss.apply(at);
            at[i] = saved - H;
            double minus = loss.apply(at);
            at[i] = saved;
            fd[i] = (plus - minus) / (2 * H);
        }
        double[] diff = new double[fd.length];
        for (int i = 0; i < fd.length; i++) {
            diff[i] = fd[i] - analytic[i];
        }
        assertThat(norm(analytic)).as("%s: gradient is not trivially zero", what).isGreaterThan(1e-3);
        assertThat(norm(diff) / norm(analytic)).as("%s: relative error ||fd - analytic|| / ||analytic||", what)
                .isLessThan(MAX_RELATIVE_ERROR);
        // and entry by entry, relative to the largest entry (an entry the analytic pass misses shows here)
        assertThat(maxAbs(diff) / maxAbs(analytic)).as("%s: worst entry", what).isLessThan(MAX_RELATIVE_ERROR);
    }

    // ----------------------------------------------------------------- max pooling

    static Stream<Arguments> poolShapes() {
        return Stream.of(
                // n, c, ih, iw, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, ceil
                Arguments.of("2x2 stride 2", MaxPool2dGeometry.of(2, 2, 6, 6, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false)),
                Arguments.of("3x3 stride 1 (overlapping)",
                        MaxPool2dGeometry.of(1, 2, 5, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, false)),
                Arguments.of("padding", MaxPool2dGeometry.of(1, 1, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false)),
                Arguments.of("asymmetric padding, ceil",
                        MaxPool2dGeometry.of(2, 1, 7, 6, 3, 2, 2, 2, 2, 0, 0, 1, 1, 1, true)),
                Arguments.of("dilation 2", MaxPool2dGeometry.of(1, 2, 7, 7, 2, 3, 1, 2, 0, 0, 1, 1, 2, 2, false)),
                Arguments.of("ceil, stride 3", MaxPool2dGeometry.of(1, 3, 8, 7, 2, 2, 3, 3, 0, 0, 0, 0, 1, 1, true)));
    }

    /**
     * L = <maxpool(x), R>. Inputs are distinct integers (a permutation) and the step is 0.25, so no
     * perturbation changes any window's winner and every value stays exact in float; the central
     * difference is then exactly the sum of R over the windows that x_i wins.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("poolShapes")
    void maxPoolGradientMatchesCentralDifferences(String name, MaxPool2dGeometry g) {
        SplittableRandom rnd = new SplittableRandom(name.hashCode());
        int inCount = size(g.n() * g.c() * g.ih() * g.iw());
        int outCount = size(g.dstElementCount());
        float[] x = ReferenceIdentitiesTest.distinctValues(rnd, inCount);
        float[] r = new float[outCount];
        for (int i = 0; i < outCount; i++) {
            r[i] = (float) rnd.nextDouble(-1, 1);
        }
        float h = 0.25f;

        int[] idx = new int[outCount];
        ReferenceKernels.maxPool2dForward(g, x, new float[outCount], idx);
        float[] analytic = new float[inCount];
        ReferenceKernels.maxPool2dBackward(g, r, idx, analytic);

        double[] fd = new double[inCount];
        double[] an = new double[inCount];
        for (int i = 0; i < inCount; i++) {
            float saved = x[i];
            x[i] = saved + h;
            double plus = poolLoss(g, x, r);
            x[i] = saved - h;
            double minus = poolLoss(g, x, r);
            x[i] = saved;
            fd[i] = (plus - minus) / (2 * h);
            an[i] = analytic[i];
        }
        double[] diff = new double[inCount];
        for (int i = 0; i < inCount; i++) {
            diff[i] = fd[i] - an[i];
        }
        assertThat(norm(an)).as("%s: gradient is not trivially zero", g).isGreaterThan(0.1);
        // the analytic side sums floats, the FD side doubles: float rounding of a few terms, no more
        assertThat(maxAbs(diff)).as("%s: worst |fd - analytic|", g).isLessThan(1e-6);
    }

    private static double poolLoss(MaxPool2dGeometry g, float[] x, float[] r) {
        float[] y = new float[r.length];
        ReferenceKernels.maxPool2dForward(g, x, y, null);
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += (double) y[i] * r[i];
        }
        return s;
    }
}
