package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.MaxPool2dGeometry;

import java.util.Arrays;
import java.util.Objects;

/**
 * The five kernels written as plainly as possible: the oracle the C kernels are checked against.
 *
 * <p>Semantics are exactly those of {@code native/include/panamacnn/panamacnn.h}. Layout NCHW,
 * weights {@code [oc][c/groups][kh][kw]}, zero padding (asymmetric allowed), stride, dilation
 * (1 = dense) and groups. Convolutions compute in {@code double} over {@code double[]} arrays, so
 * that they are more accurate than any float kernel they are compared with. Max pooling works in
 * {@code float}: it only compares and adds, and it is meant to be bit-exact with the C kernel.
 *
 * <p>Rules kept on purpose: {@code long} indices everywhere, no threads, no blocking, no caching,
 * and each backward pass written as its own formulation (backward-data gathers, for every input
 * position, the output positions and taps that read it) rather than as a transposed copy of the
 * forward loop. Outputs are overwritten, never accumulated into.
 *
 * <p>Arrays are Java arrays, so tensors beyond {@link #MAX_ARRAY_LENGTH} elements are out of scope.
 */
public final class ReferenceKernels {

    /** The largest array the reference handles (the usual JVM array limit). */
    public static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private ReferenceKernels() {
    }

    // ---------------------------------------------------------------- convolution

    /**
     * {@code dst[n][o][y][x] = bias[o] + sum over ci < c/groups, ky, kx of
     * src[n][g*cg + ci][y*sh - pt + ky*dh][x*sw - pl + kx*dw] * weights[o][ci][ky][kx]},
     * {@code g = o / (oc/groups)}, out-of-range source positions read as zero.
     *
     * @param bias may be null (no bias)
     */
    public static void conv2dForward(Conv2dGeometry g, double[] src, double[] weights, double[] bias, double[] dst) {
        Objects.requireNonNull(g, "geometry");
        requireLength("src", src, g.n() * g.c() * g.ih() * g.iw());
        requireLength("weights", weights, g.oc() * g.channelsPerGroup() * g.kh() * g.kw());
        if (bias != null) {
            requireLength("bias", bias, g.oc());
        }
        requireLength("dst", dst, g.n() * g.oc() * g.oh() * g.ow());

        long cg = g.channelsPerGroup();
        long ocg = g.outChannelsPerGroup();
        for (long n = 0; n < g.n(); n++) {
            for (long o = 0; o < g.oc(); o++) {
                long group = o / ocg;
                for (long y = 0; y < g.oh(); y++) {
                    for (long x = 0; x < g.ow(); x++) {
                        double sum = 0.0;
                        for (long ci = 0; ci < cg; ci++) {
                            long c = group * cg + ci;
                            for (long ky = 0; ky < g.kh(); ky++) {
                                long iy = y * g.strideH() - g.padTop() + ky * g.dilationH();
                                if (iy < 0 || iy >= g.ih()) {
                                    continue;
                                }
                                for (long kx = 0; kx < g.kw(); kx++) {
                                    long ix = x * g.strideW() - g.padLeft() + kx * g.dilationW();
                                    if (ix < 0 || ix >= g.iw()) {
                                        continue;
                                    }
                                    sum += src[srcIndex(g, n, c, iy, ix)] * weights[weightIndex(g, o, ci, ky, kx)];
                                }
                            }
                        }
                        if (bias != null) {
                            sum += bias[(int) o];
                        }
                        dst[dstIndex(g, n, o, y, x)] = sum;
                    }
                }
            }
        }
    }

    /**
     * The adjoint of {@link #conv2dForward} (without bias), written in gather form: for each input
     * position {@code (n, c, iy, ix)}, sum {@code diffDst[n][o][y][x] * weights[o][ci][ky][kx]} over
     * the output channels {@code o} of c's group and the taps {@code (ky, kx)} for which an output
     * position {@code (y, x)} with {@code y*sh - pt + ky*dh == iy} and {@code x*sw - pl + kx*dw == ix}
     * exists. Overwrites {@code diffSrc}.
     */
    public static void conv2dBackwardData(Conv2dGeometry g, double[] diffDst, double[] weights, double[] diffSrc) {
        Objects.requireNonNull(g, "geometry");
        requireLength("diffDst", diffDst, g.n() * g.oc() * g.oh() * g.ow());
        requireLength("weights", weights, g.oc() * g.channelsPerGroup() * g.kh() * g.kw());
        requireLength("diffSrc", diffSrc, g.n() * g.c() * g.ih() * g.iw());

        long cg = g.channelsPerGroup();
        long ocg = g.outChannelsPerGroup();
        for (long n = 0; n < g.n(); n++) {
            for (long c = 0; c < g.c(); c++) {
                long group = c / cg;
                long ci = c % cg;
                for (long iy = 0; iy < g.ih(); iy++) {
                    for (long ix = 0; ix < g.iw(); ix++) {
                        double sum = 0.0;
                        for (long o = group * ocg; o < (group + 1) * ocg; o++) {
                            for (long ky = 0; ky < g.kh(); ky++) {
                                long y = outputPosition(iy, ky, g.strideH(), g.padTop(), g.dilationH(), g.oh());
                                if (y < 0) {
                                    continue;
                                }
                                for (long kx = 0; kx < g.kw(); kx++) {
                                    long x = outputPosition(ix, kx, g.strideW(), g.padLeft(), g.dilationW(), g.ow());
                                    if (x < 0) {
                                        continue;
                                    }
                                    sum += diffDst[dstIndex(g, n, o, y, x)] * weights[weightIndex(g, o, ci, ky, kx)];
                                }
                            }
                        }
                        diffSrc[srcIndex(g, n, c, iy, ix)] = sum;
                    }
                }
            }
        }
    }

    /**
     * {@code diffWeights[o][ci][ky][kx] = sum over n, y, x of
     * src[n][g*cg + ci][y*sh - pt + ky*dh][x*sw - pl + kx*dw] * diffDst[n][o][y][x]} (out-of-range
     * source positions contribute nothing) and, when {@code diffBias} is not null,
     * {@code diffBias[o] = sum over n, y, x of diffDst[n][o][y][x]}. Overwrites both.
     *
     * @param diffBias may be null (no bias gradient wanted)
     */
    public static void conv2dBackwardWeights(Conv2dGeometry g, double[] src, double[] diffDst, double[] diffWeights,
                                             double[] diffBias) {
        Objects.requireNonNull(g, "geometry");
        requireLength("src", src, g.n() * g.c() * g.ih() * g.iw());
        requireLength("diffDst", diffDst, g.n() * g.oc() * g.oh() * g.ow());
        requireLength("diffWeights", diffWeights, g.oc() * g.channelsPerGroup() * g.kh() * g.kw());
        if (diffBias != null) {
            requireLength("diffBias", diffBias, g.oc());
        }

        long cg = g.channelsPerGroup();
        long ocg = g.outChannelsPerGroup();
        for (long o = 0; o < g.oc(); o++) {
            long group = o / ocg;
            for (long ci = 0; ci < cg; ci++) {
                long c = group * cg + ci;
                for (long ky = 0; ky < g.kh(); ky++) {
                    for (long kx = 0; kx < g.kw(); kx++) {
                        double sum = 0.0;
                        for (long n = 0; n < g.n(); n++) {
                            for (long y = 0; y < g.oh(); y++) {
                                long iy = y * g.strideH() - g.padTop() + ky * g.dilationH();
                                if (iy < 0 || iy >= g.ih()) {
                                    continue;
                                }
                                for (long x = 0; x < g.ow(); x++) {
                                    long ix = x * g.strideW() - g.padLeft() + kx * g.dilationW();
                                    if (ix < 0 || ix >= g.iw()) {
                                        continue;
                                    }
                                    sum += src[srcIndex(g, n, c, iy, ix)] * diffDst[dstIndex(g, n, o, y, x)];
                                }
                            }
                        }
                        diffWeights[weightIndex(g, o, ci, ky, kx)] = sum;
                    }
                }
            }
        }
        if (diffBias != null) {
            for (long o = 0; o < g.oc(); o++) {
                double sum = 0.0;
                for (long n = 0; n < g.n(); n++) {
                    for (long y = 0; y < g.oh(); y++) {
                        for (long x = 0; x < g.ow(); x++) {
                            sum += diffDst[dstIndex(g, n, o, y, x)];
                        }
                    }
                }
                diffBias[(int) o] = sum;
            }
        }
    }

    /**
     * The output position {@code y} in {@code [0, outSize)} whose tap {@code k} reads input position
     * {@code in}, i.e. {@code y*stride - padLo + k*dilation == in}; -1 when there is none.
     */
    private static long outputPosition(long in, long k, long stride, long padLo, long dilation, long outSize) {
        long t = in + padLo - k * dilation; // == y * stride
        if (t < 0 || t % stride != 0) {
            return -1;
        }
        long y = t / stride;
        return y < outSize ? y : -1;
    }

    private static int srcIndex(Conv2dGeometry g, long n, long c, long iy, long ix) {
        return (int) (((n * g.c() + c) * g.ih() + iy) * g.iw() + ix);
    }

    private static int dstIndex(Conv2dGeometry g, long n, long o, long y, long x) {
        return (int) (((n * g.oc() + o) * g.oh() + y) * g.ow() + x);
    }

    private static int weightIndex(Conv2dGeometry g, long o, long ci, long ky, long kx) {
        return (int) (((o * g.channelsPerGroup() + ci) * g.kh() + ky) * g.kw() + kx);
    }

    // ---------------------------------------------------------------- max pooling

    /**
     * For each window, scans the taps row-major (ky, then kx), skipping positions outside the input
     * (padding never wins). The first in-range tap initialises the maximum; a later tap {@code v}
     * replaces it when {@code v > max || isNaN(v)}: ties keep the first maximum, the last NaN wins.
     * {@code dst} receives the winner's value (its bits unchanged), {@code indices} (may be null)
     * its plane offset {@code iy*iw + ix}.
     */
    public static void maxPool2dForward(MaxPool2dGeometry g, float[] src, float[] dst, int[] indices) {
        Objects.requireNonNull(g, "geometry");
        requireLength("src", src, g.n() * g.c() * g.ih() * g.iw());
        requireLength("dst", dst, g.n() * g.c() * g.oh() * g.ow());
        if (indices != null) {
            requireLength("indices", indices, g.n() * g.c() * g.oh() * g.ow());
        }
        maxPool2dScan(g, src, dst, indices, null);
    }

    /**
     * {@link #maxPool2dForward} recording the compact mask: {@code taps[n][c][y][x]} receives the winner's
     * window tap {@code ky*kw + kx} (row-major over the whole window, padded taps included in the numbering),
     * from the same scan. Needs {@code kh*kw <= MaxPool2dGeometry.MAX_MASK_TAPS}.
     *
     * @throws IllegalArgumentException for a window of more taps, or a wrong array length
     */
    public static void maxPool2dForwardTaps(MaxPool2dGeometry g, float[] src, float[] dst, int[] taps) {
        Objects.requireNonNull(g, "geometry");
        requireTapsFit(g);
        requireLength("src", src, g.n() * g.c() * g.ih() * g.iw());
        requireLength("dst", dst, g.n() * g.c() * g.oh() * g.ow());
        requireLength("taps", taps, g.n() * g.c() * g.oh() * g.ow());
        maxPool2dScan(g, src, dst, null, taps);
    }

    private static void maxPool2dScan(MaxPool2dGeometry g, float[] src, float[] dst, int[] indices, int[] taps) {

        long inPlane = g.ih() * g.iw();
        long outPlane = g.oh() * g.ow();
        for (long p = 0; p < g.n() * g.c(); p++) {
            for (long y = 0; y < g.oh(); y++) {
                for (long x = 0; x < g.ow(); x++) {
                    boolean found = false;
                    float max = 0.0f;
                    long argmax = -1;
                    long argTap = -1;
                    for (long ky = 0; ky < g.kh(); ky++) {
                        long iy = y * g.strideH() - g.padTop() + ky * g.dilationH();
                        if (iy < 0 || iy >= g.ih()) {
                            continue;
                        }
                        for (long kx = 0; kx < g.kw(); kx++) {
                            long ix = x * g.strideW() - g.padLeft() + kx * g.dilationW();
                            if (ix < 0 || ix >= g.iw()) {
                                continue;
                            }
                            float v = src[(int) (p * inPlane + iy * g.iw() + ix)];
                            if (!found || v > max || Float.isNaN(v)) {
                                found = true;
                                max = v;
                                argmax = iy * g.iw() + ix;
                                argTap = ky * g.kw() + kx;
                            }
                        }
                    }
                    if (!found) {
                        // MaxPool2dGeometry rejects such geometries; reaching this is a bug.
                        throw new IllegalStateException("max-pool window (" + y + ", " + x + ") of " + g
                                + " covers no input position");
                    }
                    int out = (int) (p * outPlane + y * g.ow() + x);
                    dst[out] = max;
                    if (indices != null) {
                        indices[out] = (int) argmax;
                    }
                    if (taps != null) {
                        taps[out] = (int) argTap;
                    }
                }
            }
        }
    }

    /**
     * Zeroes {@code diffSrc}, then adds each {@code diffDst[n][c][y][x]}, in row-major output order and
     * in float arithmetic, into plane {@code (n, c)} of {@code diffSrc} at {@code indices[n][c][y][x]}.
     *
     * @throws IllegalArgumentException when an index lies outside {@code [0, ih*iw)}; {@code diffSrc}
     *         is then partly written
     */
    public static void maxPool2dBackward(MaxPool2dGeometry g, float[] diffDst, int[] indices, float[] diffSrc) {
        Objects.requireNonNull(g, "geometry");
        requireLength("diffDst", diffDst, g.n() * g.c() * g.oh() * g.ow());
        requireLength("indices", indices, g.n() * g.c() * g.oh() * g.ow());
        requireLength("diffSrc", diffSrc, g.n() * g.c() * g.ih() * g.iw());

        long inPlane = g.ih() * g.iw();
        long outPlane = g.oh() * g.ow();
        Arrays.fill(diffSrc, 0.0f);
        for (long n = 0; n < g.n(); n++) {
            for (long c = 0; c < g.c(); c++) {
                long p = n * g.c() + c;
                for (long y = 0; y < g.oh(); y++) {
                    for (long x = 0; x < g.ow(); x++) {
                        int out = (int) (p * outPlane + y * g.ow() + x);
                        long index = indices[out];
                        if (index < 0 || index >= inPlane) {
                            throw new IllegalArgumentException("max-pool index " + index + " at indices[n=" + n
                                    + "][c=" + c + "][y=" + y + "][x=" + x + "] (flat " + out
                                    + ") is outside the input plane [0, ih*iw = " + inPlane + ")");
                        }
                        diffSrc[(int) (p * inPlane + index)] += diffDst[out];
                    }
                }
            }
        }
    }

    /**
     * {@link #maxPool2dBackward} from a compact mask: each tap {@code t = ky*kw + kx} of output {@code (y, x)}
     * names input position {@code (y*strideH - padTop + ky*dilationH, x*strideW - padLeft + kx*dilationW)}.
     *
     * @throws IllegalArgumentException when a tap is not in {@code [0, kh*kw)} or names a position outside the
     *         input (padding); {@code diffSrc} is then partly written
     */
    public static void maxPool2dBackwardTaps(MaxPool2dGeometry g, float[] diffDst, int[] taps, float[] diffSrc) {
        Objects.requireNonNull(g, "geometry");
        requireTapsFit(g);
        requireLength("diffDst", diffDst, g.n() * g.c() * g.oh() * g.ow());
        requireLength("taps", taps, g.n() * g.c() * g.oh() * g.ow());
        requireLength("diffSrc", diffSrc, g.n() * g.c() * g.ih() * g.iw());

        long window = g.kh() * g.kw();
        long inPlane = g.ih() * g.iw();
        long outPlane = g.oh() * g.ow();
        Arrays.fill(diffSrc, 0.0f);
        for (long p = 0; p < g.n() * g.c(); p++) {
            for (long y = 0; y < g.oh(); y++) {
                for (long x = 0; x < g.ow(); x++) {
                    int out = (int) (p * outPlane + y * g.ow() + x);
                    long tap = taps[out];
                    long iy = y * g.strideH() - g.padTop() + (tap / g.kw()) * g.dilationH();
                    long ix = x * g.strideW() - g.padLeft() + (tap % g.kw()) * g.dilationW();
                    if (tap < 0 || tap >= window || iy < 0 || iy >= g.ih() || ix < 0 || ix >= g.iw()) {
                        throw new IllegalArgumentException("max-pool tap " + tap + " at taps[" + out + "] (plane "
                                + p + ", y=" + y + ", x=" + x + ") is not one of the " + g.kh() + "x" + g.kw()
                                + " window's taps inside the " + g.ih() + "x" + g.iw() + " input");
                    }
                    diffSrc[(int) (p * inPlane + iy * g.iw() + ix)] += diffDst[out];
                }
            }
        }
    }

    private static void requireTapsFit(MaxPool2dGeometry g) {
        if (!g.tapMaskFits()) {
            throw new IllegalArgumentException("a tap mask numbers at most " + MaxPool2dGeometry.MAX_MASK_TAPS
                    + " window taps, but the window is " + g.kh() + "x" + g.kw());
        }
    }

    // ---------------------------------------------------------------- checks

    private static void requireLength(String name, double[] a, long expected) {
        Objects.requireNonNull(a, name);
        checkLength(name, a.length, expected);
    }

    private static void requireLength(String name, float[] a, long expected) {
        Objects.requireNonNull(a, name);
        checkLength(name, a.length, expected);
    }

    private static void requireLength(String name, int[] a, long expected) {
        Objects.requireNonNull(a, name);
        checkLength(name, a.length, expected);
    }

    private static void checkLength(String name, int actual, long expected) {
        if (expected > MAX_ARRAY_LENGTH) {
            throw new IllegalArgumentException(name + " needs " + expected + " elements, more than the "
                    + MAX_ARRAY_LENGTH + " a Java array can hold: the reference kernels do not support it");
        }
        if (actual != expected) {
            throw new IllegalArgumentException(name + " has " + actual + " elements but the geometry needs "
                    + expected);
        }
    }
}
