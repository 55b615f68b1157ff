package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Conv2dGeometry;

/**
 * How far a float32 kernel result may lie from the exact one, and the comparisons used by
 * {@link CheckedBackend} and by the tests.
 *
 * <p><b>Convolutions.</b> Each output element is a sum of {@code K} products (plus the bias).
 * Whatever the summation order, blocking, FMA use or thread split, the classical bound for a
 * float dot product (Higham, <i>Accuracy and Stability of Numerical Algorithms</i>, 3.1) is
 * {@code |computed - exact| <= gamma_K * S} with {@code u = 2^-24},
 * {@code gamma_K = K*u / (1 - K*u)} and {@code S} the same operation applied to the absolute
 * values of the inputs. This class uses {@code gamma(K) = K*u/(1-K*u) + 2u}, which is
 * {@code (K+2)*2^-24} to first order: the extra {@code 2u} covers rounding the double reference
 * to float and the reference's own (double) rounding error. Underflow adds at most half a
 * subnormal ulp ({@code 2^-150}) per product, so the bound also has an absolute term
 * {@code K * 2^-149}. Reduction lengths: forward {@code (c/groups)*kh*kw} (+1 with bias);
 * backward-data at most {@code (oc/groups)*kh*kw}; backward-weights and diff-bias {@code n*oh*ow}.
 * {@code S} is computed with {@code ReferenceKernels} in double on {@code |x|, |w|, |b|}
 * (forward), {@code |dy|, |w|} (backward-data), {@code |x|, |dy|} (backward-weights).
 *
 * <p><b>Max pooling.</b> Bit-exact: equal raw float bits (or both NaN), and equal indices.
 */
public final class Tolerance {
    /** The unit roundoff of float32: {@code 2^-24}. */
    public static final double U = 0x1p-24;
    private static final double UNDERFLOW_PER_TERM = 0x1p-149;

    private Tolerance() {
    }

    /** {@code K*u/(1-K*u) + 2u}; {@code +Infinity} when {@code K*u >= 1} (no useful bound exists). */
    public static double gamma(long k) {
        if (k < 0) {
            throw new IllegalArgumentException("reduction length must be >= 0 but was " + k);
        }
        double ku = k * U;
        if (ku >= 1.0) {
            return Double.POSITIVE_INFINITY;
        }
        return ku / (1.0 - ku) + 2.0 * U;
    }

    /** The allowed absolute error of one element whose magnitude sum is {@code absBound}. */
    public static double allowedError(double absBound, long k) {
        return gamma(k) * absBound + k * UNDERFLOW_PER_TERM;
    }

    /** Reduction length of a forward element: {@code (c/groups)*kh*kw}, plus one with a bias. */
    public static long forwardReduction(Conv2dGeometry g, boolean withBias) {
        return g.channelsPerGroup() * g.kh() * g.kw() + (withBias ? 1 : 0);
    }

    /** Upper bound of the reduction length of a backward-data element: {@code (oc/groups)*kh*kw}. */
    public static long backwardDataReduction(Conv2dGeometry g) {
        return g.outChannelsPerGroup() * g.kh() * g.kw();
    }

    /** Reduction length of a backward-weights (and diff-bias) element: {@code n*oh*ow}. */
    public static long backwardWeightsReduction(Conv2dGeometry g) {
        return g.n() * g.oh() * g.ow();
    }

    /**
     * Compares a float result with the exact (double) one, element by element, against
     * {@link #allowedError(double, long)}. Returns {@code null} when every element is within its
     * bound, else a message naming {@code what}, the first offending index, both values, the bound,
     * the number of offending elements and the max abs/rel error.
     */
    public static String compareConv(String what, float[] actual, double[] exact, double[] absBound, long k) {
        if (actual.length != exact.length || actual.length != absBound.length) {
            return what + ": length mismatch: actual " + actual.length + ", exact " + exact.length + ", bounds "
                    + absBound.length;
        }
        int first = -1;
        int bad = 0;
        double maxAbs = 0;
        double maxRel = 0;
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i];
            double e = exact[i];
            boolean ok;
            if (Double.isNaN(e) || Double.isNaN(a)) {
                ok = Double.isNaN(e) && Double.isNaN(a);
            } else if (Double.isInfinite(e) || Float.isInfinite((float) e) || Double.isInfinite(a)) {
                // The float result of an overflowing (or infinite-input) sum is the correctly signed infinity.
                ok = a == (double) (float) e;
            } else {
                double err = Math.abs(a - e);
                ok = err <= allowedError(absBound[i], k);
                maxAbs = Math.max(maxAbs, err);
                if (e != 0) {
                    maxRel = Math.max(maxRel, err / Math.abs(e));
                }
            }
            if (!ok) {
                bad++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (first < 0) {
            return null;
        }
        return what + ": " + bad + " of " + actual.length + " elements out of tolerance; first at index " + first
                + ": actual " + actual[first] + ", exact " + exact[first] + ", |error| "
                + Math.abs((double) actual[first] - exact[first]) + " > bound " + allowedError(absBound[first], k)
                + " (gamma(K=" + k + ") * S=" + absBound[first] + "); max abs error " + maxAbs + ", max rel error "
                + maxRel;
    }

    /** Like {@link #compareConv} but throws {@link AssertionError} with the message. */
    public static void assertConvClose(String what, float[] actual, double[] exact, double[] absBound, long k) {
        String msg = compareConv(what, actual, exact, absBound, k);
        if (msg != null) {
            throw new AssertionError(msg);
        }
    }

    /**
     * Bit-exact float comparison (equal raw bits, or both NaN). Returns {@code null} when equal, else a
     * message naming {@code what}, the first differing index, both values (and bits) and the count.
     */
    public static String compareExact(String what, float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            return what + ": length mismatch: actual " + actual.length + ", expected " + expected.length;
        }
        int first = -1;
        int bad = 0;
        double maxAbs = 0;
        for (int i = 0; i < actual.length; i++) {
            float a = actual[i];
            float e = expected[i];
            boolean same = Float.floatToRawIntBits(a) == Float.floatToRawIntBits(e) || (Float.isNaN(a) && Float.isNaN(e));
            if (!same) {
                bad++;
                if (first < 0) {
                    first = i;
                }
                double d = Math.abs((double) a - e);
                if (!Double.isNaN(d)) {
                    maxAbs = Math.max(maxAbs, d);
                }
            }
        }
        if (first < 0) {
            return null;
        }
        return what + ": " + bad + " of " + actual.length + " elements differ (bit-exact expected); first at index "
                + first + ": actual " + actual[first] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(actual[first]))
                + "), expected " + expected[first] + " (0x"
                + Integer.toHexString(Float.floatToRawIntBits(expected[first])) + "), bound 0; max abs error " + maxAbs;
    }

    /** Exact int comparison; {@code null} when equal, else a message naming the first differing index. */
    public static String compareExact(String what, int[] actual, int[] expected) {
        if (actual.length != expected.length) {
            return what + ": length mismatch: actual " + actual.length + ", expected " + expected.length;
        }
        int first = -1;
        int bad = 0;
        for (int i = 0; i < actual.length; i++) {
            if (actual[i] != expected[i]) {
                bad++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (first < 0) {
            return null;
        }
        return what + ": " + bad + " of " + actual.length + " elements differ; first at index " + first + ": actual "
                + actual[first] + ", expected " + expected[first];
    }

    /** Throws {@link AssertionError} unless the arrays are bit-exactly equal (NaNs match any NaN). */
    public static void assertBitExact(String what, float[] actual, float[] expected) {
        String msg = compareExact(what, actual, expected);
        if (msg != null) {
            throw new AssertionError(msg);
        }
    }

    /** Throws {@link AssertionError} unless the index arrays are equal. */
    public static void assertIndicesEqual(String what, int[] actual, int[] expected) {
        String msg = compareExact(what, actual, expected);
        if (msg != null) {
            throw new AssertionError(msg);
        }
    }

    /**
     * Softmax cross-entropy results (loss or gradient) against the double reference: both sides compute in
     * double and round to float once, so they may differ only by the rounding of slightly different double
     * values ({@code exp}/{@code log} of two libraries): allowed {@code 2u * |exact| + 2^-40} per element.
     * Returns null when all are within, else a message naming the first offending index and both values.
     */
    public static String compareLoss(String what, float[] actual, double[] exact) {
        if (actual.length != exact.length) {
            return what + ": length mismatch: actual " + actual.length + ", exact " + exact.length;
        }
        for (int i = 0; i < actual.length; i++) {
            double e = exact[i];
            double a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a)) {
                continue;
            }
            double bound = 2 * U * Math.abs(e) + 0x1p-40;
            if (!(Math.abs(a - e) <= bound)) {
                return what + "[" + i + "]: got " + actual[i] + ", exact " + e + ", allowed error " + bound;
            }
        }
        return null;
    }
}
