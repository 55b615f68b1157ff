package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.ConvAlgorithm;
import io.github.panamacnn.reference.ReferenceKernels;

import java.util.Objects;

/**
 * The error bound one convolution pass is checked against, chosen by the algorithm that served it
 * ({@link NativeBackend#lastAlgorithm()}): a pass served by {@link ConvAlgorithm#WINOGRAD} gets Winograd's own,
 * looser bound ({@link Tolerance#winogradAbsBound}, {@link Tolerance#winogradBackwardWeightsAbsBound}:
 * docs/winograd.md); every other algorithm (direct, pointwise, depthwise) sums the same products in some order,
 * so it gets the direct bound, {@code S} = the same pass on the inputs' absolute values. The bias gradient is a
 * plain sum of {@code diffDst} whichever algorithm served the weights: {@link #backwardBias}.
 *
 * <p>The one place that rule lives: {@link CheckedBackend}, the CLI's {@code check} and the cross-check tests
 * all take their bounds from here, so a pass can never be held to the wrong algorithm's bound in one of them
 * and the right one in another. An element may differ from the exact result by
 * {@link Tolerance#allowedError(double, long) allowedError(absSum[i], k)}.
 */
public final class ConvBound {
    private final double[] absSum;
    private final long k;
    private final boolean winograd;

    private ConvBound(double[] absSum, long k, boolean winograd) {
        this.absSum = absSum;
        this.k = k;
        this.winograd = winograd;
    }

    /**
     * A forward pass ({@code dst}) from {@code |src|}, {@code |weights|} and {@code |bias|} (null without a bias).
     *
     * @param served the algorithm that served the pass ({@link ConvAlgorithm#AUTO} is not one)
     */
    public static ConvBound forward(Conv2dGeometry g, ConvAlgorithm served, double[] absSrc, double[] absWeights,
                                    double[] absBias) {
        if (isWinograd(served)) {
            return new ConvBound(Tolerance.winogradAbsBound(g, false, absSrc, absWeights, absBias),
                    Tolerance.winogradReduction(g, false), true);
        }
        double[] s = new double[Math.toIntExact(g.n() * g.oc() * g.oh() * g.ow())];
        ReferenceKernels.conv2dForward(g, absSrc, absWeights, absBias, s);
        return new ConvBound(s, Tolerance.forwardReduction(g, absBias != null), false);
    }

    /** A backward-data pass ({@code diffSrc}) from {@code |diffDst|} and {@code |weights|}. */
    public static ConvBound backwardData(Conv2dGeometry g, ConvAlgorithm served, double[] absDiffDst,
                                         double[] absWeights) {
        if (isWinograd(served)) {
            return new ConvBound(Tolerance.winogradAbsBound(g, true, absDiffDst, absWeights, null),
                    Tolerance.winogradReduction(g, true), true);
        }
        double[] s = new double[Math.toIntExact(g.n() * g.c() * g.ih() * g.iw())];
        ReferenceKernels.conv2dBackwardData(g, absDiffDst, absWeights, s);
        return new ConvBound(s, Tolerance.backwardDataReduction(g), false);
    }

    /** A backward-weights pass ({@code diffWeights}, without the bias) from {@code |src|} and {@code |diffDst|}. */
    public static ConvBound backwardWeights(Conv2dGeometry g, ConvAlgorithm served, double[] absSrc,
                                            double[] absDiffDst) {
        if (isWinograd(served)) {
            return new ConvBound(Tolerance.winogradBackwardWeightsAbsBound(g, absSrc, absDiffDst),
                    Tolerance.winogradBackwardWeightsReduction(g), true);
        }
        double[] s = new double[Math.toIntExact(g.oc() * g.channelsPerGroup() * g.kh() * g.kw())];
        ReferenceKernels.conv2dBackwardWeights(g, absSrc, absDiffDst, s, null);
        return new ConvBound(s, Tolerance.backwardWeightsReduction(g), false);
    }

    /** The bias gradient ({@code diffBias[o]} = the sum of {@code diffDst} over images and the plane): direct. */
    public static ConvBound backwardBias(Conv2dGeometry g, double[] absDiffDst) {
        long plane = g.oh() * g.ow();
        double[] s = new double[Math.toIntExact(g.oc())];
        for (long n = 0; n < g.n(); n++) {
            for (long o = 0; o < g.oc(); o++) {
                long base = (n * g.oc() + o) * plane;
                double sum = 0;
                for (long p = 0; p < plane; p++) {
                    sum += absDiffDst[Math.toIntExact(base + p)];
                }
                s[(int) o] += sum;
            }
        }
        return new ConvBound(s, Tolerance.backwardWeightsReduction(g), false);
    }

    /**
     * The algorithm that served the calling thread's last convolution pass on {@code backend}: for the native
     * backend {@link NativeBackend#lastAlgorithm()}, for any other {@link ConvAlgorithm#DIRECT} (the reference
     * computes the direct sums).
     *
     * @throws IllegalStateException when the native backend has served no call on this thread yet
     */
    public static ConvAlgorithm lastServed(Backend backend) {
        if (!(backend instanceof NativeBackend)) {
            return ConvAlgorithm.DIRECT;
        }
        ConvAlgorithm a = NativeBackend.lastAlgorithm();
        if (a == null) {
            throw new IllegalStateException("the native backend has served no call on this thread yet");
        }
        return a;
    }

    private static boolean isWinograd(ConvAlgorithm served) {
        Objects.requireNonNull(served, "served");
        if (served == ConvAlgorithm.AUTO) {
            throw new IllegalArgumentException("served: AUTO is a request, not an algorithm that served a pass");
        }
        return served == ConvAlgorithm.WINOGRAD;
    }

    /** {@code S} per output element (the array itself: do not modify). */
    public double[] absSum() {
        return absSum;
    }

    /** The reduction length {@code K}. */
    public long k() {
        return k;
    }

    /** True for Winograd's bound, false for the direct one. */
    public boolean winograd() {
        return winograd;
    }

    /**
     * {@link Tolerance#compareConv}: null when every element of {@code actual} is within the bound of
     * {@code exact}, else a message naming {@code what} (and which bound: "winograd" or "direct").
     */
    public String compare(String what, float[] actual, double[] exact) {
        return Tolerance.compareConv(what + " (" + (winograd ? "winograd" : "direct") + " bound)", actual, exact,
                absSum, k);
    }
}
