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
 * <p><b>Winograd F(4x4,3x3)</b> (forward and backward-data served by
 * {@link io.github.panamacnn.ConvAlgorithm#WINOGRAD}; derivation in {@code docs/winograd.md}):
 * {@code |computed - exact| <= gamma(K_w) * S_w + K_w * 2^-149} with {@code K_w = cin + 32}
 * ({@code cin} = engine input channels per group: {@code c/groups} forward, {@code oc/groups}
 * backward-data) and {@code S_w = |A^T| (sum_c (|G||g_c||G^T|) .* (|B^T||d_c||B|)) |A| (+ |bias|)}
 * per 4x4 output tile (tiles anchored at output (0,0)), computed by {@link #winogradAbsBound}.
 * Dilated 3x3 stride-1 layers served by Winograd through the native phase frame: the same bound
 * of the frame's undilated convolution ({@link DilatedFrame}), mapped back to the real elements.
 * Backward-weights served by Winograd (3x3, stride 1, dilation 1): {@code |computed - exact| <=
 * gamma(K_w) * S_w + K_w * 2^-149} per weight element with {@code K_w = n*ceil(oh/4)*ceil(ow/4) + 32}
 * and {@code S_w = |G^T| (sum over tiles of (|A||dY||A^T|) .* (|B^T||d||B|)) |G|}
 * ({@link #winogradBackwardWeightsAbsBound}); its bias gradient keeps the direct bound.
 *
 * <p>Which of these bounds a native pass is held to (Winograd's, or the direct one for every other
 * algorithm) follows the algorithm that served it: {@link ConvBound}, the one place that choice is made.
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

    /** {@code K_w} of the Winograd bound: engine input channels per group + 32 (see the class comment). */
    public static long winogradReduction(Conv2dGeometry g, boolean backwardData) {
        return (backwardData ? g.outChannelsPerGroup() : g.channelsPerGroup()) + 32;
    }

    private static final double[][] BT = {
        {4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
        {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
    };
    private static final double[][] G = {
        {0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1},
    };
    private static final double[][] AT = {
        {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1},
    };

    /**
     * {@code S_w} of the Winograd bound for every output element (NCHW: {@code dst} forward,
     * {@code diffSrc} backward-data), from the absolute values of the inputs: forward
     * {@code in = |src|, w = |weights|, bias = |bias|} (or null); backward-data
     * {@code in = |diffDst|, w = |weights|, bias = null}. 3x3, stride 1 geometries only.
     *
     * <p>Dilated geometries are what the native library serves through its dilated "phase frame"
     * (AUTO, wide layers: {@code native/src/kernels/conv2d/dilated.h}): the Winograd kernels then run
     * an undilated, unpadded convolution of the frame (real inputs or zeros laid out by
     * {@link DilatedFrame}). So the bound is the undilated one of that frame convolution, per framed
     * image, mapped back to the real outputs (junk frame outputs dropped); derivation in
     * {@code docs/winograd.md}.
     */
    public static double[] winogradAbsBound(Conv2dGeometry g, boolean backwardData, double[] in, double[] w,
                                            double[] bias) {
        if (g.kh() != 3 || g.kw() != 3 || g.strideH() != 1 || g.strideW() != 1) {
            throw new IllegalArgumentException("Winograd bound: 3x3, stride 1 only, not " + g);
        }
        if (g.dilationH() == 1 && g.dilationW() == 1) {
            return undilatedWinogradAbsBound(g, backwardData, in, w, bias);
        }
        DilatedFrame frame = DilatedFrame.of(g);
        if (backwardData) {
            return frame.scatterInput(undilatedWinogradAbsBound(frame.dense(), true, frame.gatherOutput(in), w, null));
        }
        return frame.scatterOutput(undilatedWinogradAbsBound(frame.dense(), false, frame.gatherInput(in), w, bias));
    }

    /** {@link #winogradAbsBound} of a 3x3, stride 1, dilation 1 geometry (tiles anchored at output (0,0)). */
    private static double[] undilatedWinogradAbsBound(Conv2dGeometry g, boolean backwardData, double[] in,
                                                      double[] w, double[] bias) {
        final long groups = g.groups();
        final long cin = backwardData ? g.outChannelsPerGroup() : g.channelsPerGroup();
        final long cout = backwardData ? g.channelsPerGroup() : g.outChannelsPerGroup();
        final long ih = backwardData ? g.oh() : g.ih(), iw = backwardData ? g.ow() : g.iw();
        final long oh = backwardData ? g.ih() : g.oh(), ow = backwardData ? g.iw() : g.ow();
        final long oy = backwardData ? g.padTop() - 2 : -g.padTop(), ox = backwardData ? g.padLeft() - 2 : -g.padLeft();
        final long ty = (oh + 3) / 4, tx = (ow + 3) / 4;
        double[] s = new double[Math.toIntExact(g.n() * groups * cout * oh * ow)];
        // |G| |g| |G^T| for every (group, out, in) engine pair
        double[][] u = new double[Math.toIntExact(groups * cout * cin)][];
        for (long gr = 0; gr < groups; gr++) {
            for (long o = 0; o < cout; o++) {
                for (long c = 0; c < cin; c++) {
                    double[][] gg = new double[3][3];
                    for (int a = 0; a < 3; a++) {
                        for (int b = 0; b < 3; b++) {
                            long idx = backwardData
                                    ? (((gr * cin + c) * cout + o) * 3 + (2 - a)) * 3 + (2 - b)
                                    : (((gr * cout + o) * cin + c) * 3 + a) * 3 + b;
                            gg[a][b] = Math.abs(w[(int) idx]);
                        }
                    }
                    double[] uu = new double[36];
                    for (int i = 0; i < 6; i++) {
                        for (int j = 0; j < 6; j++) {
                            double acc = 0;
                            for (int a = 0; a < 3; a++) {
                                for (int b = 0; b < 3; b++) {
                                    acc += Math.abs(G[i][a]) * gg[a][b] * Math.abs(G[j][b]);
                                }
                            }
                            uu[i * 6 + j] = acc;
                        }
                    }
                    u[(int) ((gr * cout + o) * cin + c)] = uu;
                }
            }
        }
        double[] v = new double[Math.toIntExact(cin * 36)];
        double[] dd = new double[36];
        double[] t = new double[36];
        for (long n = 0; n < g.n(); n++) {
            for (long gr = 0; gr < groups; gr++) {
                for (long a = 0; a < ty; a++) {
                    for (long b = 0; b < tx; b++) {
                        for (long c = 0; c < cin; c++) { // |B^T| |d| |B| per input channel
                            long plane = ((n * groups + gr) * cin + c) * ih * iw;
                            absInputTile(in, plane, ih, iw, oy + 4 * a, ox + 4 * b, dd, t, v, (int) (c * 36));
                        }
                        for (long o = 0; o < cout; o++) {
                            double[] m = new double[36];
                            for (long c = 0; c < cin; c++) {
                                double[] uu = u[(int) ((gr * cout + o) * cin + c)];
                                for (int e = 0; e < 36; e++) {
                                    m[e] += uu[e] * v[(int) (c * 36 + e)];
                                }
                            }
                            long oc = gr * cout + o;
                            double bb = bias == null ? 0.0 : Math.abs(bias[(int) oc]);
                            for (int r = 0; r < 4; r++) {
                                for (int q = 0; q < 4; q++) {
                                    long y = 4 * a + r, x = 4 * b + q;
                                    if (y >= oh || x >= ow) {
                                        continue;
                                    }
                                    double acc = bb;
                                    for (int i = 0; i < 6; i++) {
                                        for (int j = 0; j < 6; j++) {
                                            acc += Math.abs(AT[r][i]) * m[i * 6 + j] * Math.abs(AT[q][j]);
                                        }
                                    }
                                    s[(int) (((n * groups * cout + oc) * oh + y) * ow + x)] = acc;
                                }
                            }
                        }
                    }
                }
            }
        }
        return s;
    }

    /**
     * {@code |B^T| |d| |B|} of the 6x6 input patch whose corner is at {@code (y0, x0)} of one plane of
     * {@code in} (zeros outside the plane), into {@code out[off .. off + 36)}; {@code patch} and
     * {@code tmp} are 36-element work arrays. Shared by the forward and backward-weights bounds.
     */
    private static void absInputTile(double[] in, long plane, long ih, long iw, long y0, long x0,
                                     double[] patch, double[] tmp, double[] out, int off) {
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                long y = y0 + i, x = x0 + j;
                patch[i * 6 + j] = y >= 0 && y < ih && x >= 0 && x < iw ? Math.abs(in[(int) (plane + y * iw + x)]) : 0.0;
            }
        }
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                double acc = 0;
                for (int k = 0; k < 6; k++) {
                    acc += Math.abs(BT[i][k]) * patch[k * 6 + j];
                }
                tmp[i * 6 + j] = acc;
            }
        }
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                double acc = 0;
                for (int k = 0; k < 6; k++) {
                    acc += tmp[i * 6 + k] * Math.abs(BT[j][k]);
                }
                out[off + i * 6 + j] = acc;
            }
        }
    }

    /**
     * {@code K_w} of the Winograd backward-weights bound: the number of 4x4 output tiles summed over,
     * {@code n * ceil(oh/4) * ceil(ow/4)}, + 32 (see the class comment).
     */
    public static long winogradBackwardWeightsReduction(Conv2dGeometry g) {
        return g.n() * ((g.oh() + 3) / 4) * ((g.ow() + 3) / 4) + 32;
    }

    /**
     * {@code S_w} of the Winograd backward-weights bound for every weight element (OIHW), from
     * {@code x = |src|} and {@code dy = |diffDst|}: {@code |G^T| (sum over images and 4x4 output tiles of
     * (|A| |dY_o| |A^T|) .* (|B^T| |d_c| |B|)) |G|}, tiles anchored at output (0,0), the input patch of
     * tile (a, b) at {@code (4a - padTop, 4b - padLeft)} (zeros outside). 3x3, stride 1, dilation 1 only
     * (the geometries the native Winograd backward-weights takes). Derivation: {@code docs/winograd.md}.
     */
    public static double[] winogradBackwardWeightsAbsBound(Conv2dGeometry g, double[] x, double[] dy) {
        if (g.kh() != 3 || g.kw() != 3 || g.strideH() != 1 || g.strideW() != 1 || g.dilationH() != 1
                || g.dilationW() != 1) {
            throw new IllegalArgumentException("Winograd backward-weights bound: 3x3, stride 1, dilation 1 only, not " + g);
        }
        final long groups = g.groups(), cg = g.channelsPerGroup(), og = g.outChannelsPerGroup();
        final long ih = g.ih(), iw = g.iw(), oh = g.oh(), ow = g.ow();
        final long ty = (oh + 3) / 4, tx = (ow + 3) / 4;
        double[] s = new double[Math.toIntExact(g.oc() * cg * 9)];
        double[][] m = new double[Math.toIntExact(og * cg)][36];
        double[] v = new double[Math.toIntExact(cg * 36)];
        double[] z = new double[Math.toIntExact(og * 36)];
        double[] p = new double[36];
        double[] t = new double[36];
        for (long gr = 0; gr < groups; gr++) {
            for (double[] row : m) {
                java.util.Arrays.fill(row, 0.0);
            }
            for (long n = 0; n < g.n(); n++) {
                for (long a = 0; a < ty; a++) {
                    for (long b = 0; b < tx; b++) {
                        for (long c = 0; c < cg; c++) { // |B^T| |d_c| |B|
                            long plane = (n * g.c() + gr * cg + c) * ih * iw;
                            absInputTile(x, plane, ih, iw, 4 * a - g.padTop(), 4 * b - g.padLeft(), p, t, v, (int) (c * 36));
                        }
                        for (long o = 0; o < og; o++) { // |A| |dY_o| |A^T|, A = (A^T)^T
                            long plane = (n * g.oc() + gr * og + o) * oh * ow;
                            double[] q = new double[16];
                            for (int r = 0; r < 4; r++) {
                                for (int c4 = 0; c4 < 4; c4++) {
                                    long yy = 4 * a + r, xx = 4 * b + c4;
                                    q[r * 4 + c4] = yy < oh && xx < ow ? Math.abs(dy[(int) (plane + yy * ow + xx)]) : 0.0;
                                }
                            }
                            for (int i = 0; i < 6; i++) {
                                for (int c4 = 0; c4 < 4; c4++) {
                                    double acc = 0;
                                    for (int r = 0; r < 4; r++) {
                                        acc += Math.abs(AT[r][i]) * q[r * 4 + c4];
                                    }
                                    t[i * 6 + c4] = acc;
                                }
                            }
                            for (int i = 0; i < 6; i++) {
                                for (int j = 0; j < 6; j++) {
                                    double acc = 0;
                                    for (int c4 = 0; c4 < 4; c4++) {
                                        acc += t[i * 6 + c4] * Math.abs(AT[c4][j]);
                                    }
                                    z[(int) (o * 36 + i * 6 + j)] = acc;
                                }
                            }
                        }
                        for (long o = 0; o < og; o++) {
                            for (long c = 0; c < cg; c++) {
                                double[] mm = m[(int) (o * cg + c)];
                                for (int e = 0; e < 36; e++) {
                                    mm[e] += z[(int) (o * 36 + e)] * v[(int) (c * 36 + e)];
                                }
                            }
                        }
                    }
                }
            }
            for (long o = 0; o < og; o++) {
                for (long c = 0; c < cg; c++) {
                    double[] mm = m[(int) (o * cg + c)];
                    for (int k = 0; k < 3; k++) {
                        for (int l = 0; l < 3; l++) {
                            double acc = 0;
                            for (int i = 0; i < 6; i++) {
                                for (int j = 0; j < 6; j++) {
                                    acc += Math.abs(G[i][k]) * mm[i * 6 + j] * Math.abs(G[j][l]);
                                }
                            }
                            s[(int) ((((gr * og + o) * cg + c) * 3 + k) * 3 + l)] = acc;
                        }
                    }
                }
            }
        }
        return s;
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
