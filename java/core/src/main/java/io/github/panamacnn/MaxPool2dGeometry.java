package io.github.panamacnn;

import java.util.Arrays;

/**
 * The complete, validated geometry of one 2-D max pooling: the Java twin of the C
 * {@code pcnn_maxpool2d_desc}. Immutable; equal geometries are interchangeable.
 *
 * <p>Output size, PyTorch's formula: floor mode
 * {@code oh = floor((ih + padTop + padBottom - dilationH*(kh-1) - 1) / strideH) + 1}; ceil mode rounds the
 * division up, then drops a last window that would start at or past {@code ih + padTop}. An output size
 * below 1 is rejected. So in ceil mode a window may hang past the padded input and even be larger than it
 * (its out-of-range taps never win), but every window must still cover at least one input position.
 * Padding may be any value {@code >= 0}, asymmetric too (PyTorch takes symmetric padding {@code <= k/2}).
 * Indices are int32 offsets into one input plane, so {@code ih*iw <= Integer.MAX_VALUE}.
 *
 * <p>A max-pool mask ({@link IndexBuffer}) is of one of two kinds: {@link IndexBuffer.Kind#INT32} plane
 * offsets {@code iy*iw + ix}, or the compact {@link IndexBuffer.Kind#TAPS} mask, one byte per output, the
 * winner's window tap {@code ky*kw + kx} (for windows of at most {@link #MAX_MASK_TAPS} taps).
 * {@link #planeOffsets(IndexBuffer)} turns either into plane offsets.
 */
public final class MaxPool2dGeometry {
    /** The most window taps ({@code kh*kw}) a {@link IndexBuffer.Kind#TAPS} mask can number: the C
     *  {@code PCNN_MAXPOOL2D_TAPS_MAX}. */
    public static final int MAX_MASK_TAPS = 256;

    private final long n, c, ih, iw, kh, kw;
    private final long strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW;
    private final boolean ceilMode;
    private final long oh, ow;
    // Kept so that the per-call shape checks and the descriptor-cache lookups allocate nothing.
    private final long[] srcShape, dstShape;
    private final int hash;

    private MaxPool2dGeometry(long n, long c, long ih, long iw, long kh, long kw, long strideH, long strideW,
                              long padTop, long padBottom, long padLeft, long padRight, long dilationH,
                              long dilationW, boolean ceilMode) {
        this.n = Conv2dGeometry.positive("batch size n", n);
        this.c = Conv2dGeometry.positive("channels c", c);
        this.ih = Conv2dGeometry.positive("input height ih", ih);
        this.iw = Conv2dGeometry.positive("input width iw", iw);
        this.kh = Conv2dGeometry.positive("kernel height kh", kh);
        this.kw = Conv2dGeometry.positive("kernel width kw", kw);
        this.strideH = Conv2dGeometry.positive("strideH", strideH);
        this.strideW = Conv2dGeometry.positive("strideW", strideW);
        this.padTop = Conv2dGeometry.nonNegative("padTop", padTop);
        this.padBottom = Conv2dGeometry.nonNegative("padBottom", padBottom);
        this.padLeft = Conv2dGeometry.nonNegative("padLeft", padLeft);
        this.padRight = Conv2dGeometry.nonNegative("padRight", padRight);
        this.dilationH = Conv2dGeometry.positive("dilationH", dilationH);
        this.dilationW = Conv2dGeometry.positive("dilationW", dilationW);
        this.ceilMode = ceilMode;
        long plane = Conv2dGeometry.mulExact("input plane ih*iw", ih, iw);
        if (plane > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("input plane ih*iw = " + ih + "*" + iw + " = " + plane
                    + " exceeds Integer.MAX_VALUE (indices are int32 plane offsets)");
        }
        this.oh = outputSize("height", ih, kh, strideH, padTop, padBottom, dilationH, ceilMode);
        this.ow = outputSize("width", iw, kw, strideW, padLeft, padRight, dilationW, ceilMode);
        Conv2dGeometry.checkedProduct("src element count n*c*ih*iw", n, c, ih, iw);
        Conv2dGeometry.checkedProduct("dst element count n*c*oh*ow", n, c, oh, ow);
        this.srcShape = new long[] {n, c, ih, iw};
        this.dstShape = new long[] {n, c, oh, ow};
        this.hash = Arrays.hashCode(fields());
    }

    public static MaxPool2dGeometry of(long n, long c, long ih, long iw, long kh, long kw, long strideH, long strideW,
                                       long padTop, long padBottom, long padLeft, long padRight, long dilationH,
                                       long dilationW, boolean ceilMode) {
        return new MaxPool2dGeometry(n, c, ih, iw, kh, kw, strideH, strideW, padTop, padBottom, padLeft, padRight,
                dilationH, dilationW, ceilMode);
    }

    /** Unpadded, dense, floor-mode pooling with stride equal to the kernel. */
    public static MaxPool2dGeometry simple(long n, long c, long ih, long iw, long kh, long kw) {
        return of(n, c, ih, iw, kh, kw, kh, kw, 0, 0, 0, 0, 1, 1, false);
    }

    /**
     * PyTorch's output size ({@code pooling_output_shape_pad_lr}): with
     * {@code numer = in + padLo + padHi - (dilation*(k-1)+1)} (may be negative),
     * floor mode {@code floor(numer / stride) + 1}; ceil mode {@code floor((numer + stride - 1) / stride) + 1},
     * then one less when that last window would start at or past {@code in + padLo}. So in ceil mode a
     * window may be larger than the padded input (by up to {@code stride - 1}). Then every window must
     * have a tap inside the input.
     */
    private static long outputSize(String axis, long in, long k, long stride, long padLo, long padHi,
                                   long dilation, boolean ceil) {
        long padded = Conv2dGeometry.addExact("padded input " + axis,
                Conv2dGeometry.addExact("padded input " + axis, in, padLo), padHi);
        long span = Conv2dGeometry.mulExact("dilated kernel " + axis, dilation, k - 1);
        long extent = Conv2dGeometry.addExact("dilated kernel " + axis, span, 1);
        long numer = padded - extent; // both >= 1: no overflow
        long out;
        if (numer >= 0) {
            out = numer / stride + 1 + (ceil && numer % stride != 0 ? 1 : 0);
        } else if (ceil && -numer < stride) {
            out = 1; // 0 <= numer + stride - 1 < stride
        } else {
            String stride_ = axis.equals("height") ? "strideH" : "strideW";
            throw new IllegalArgumentException("dilated pooling window " + axis + " (dilation*(k-1)+1 = " + extent
                    + ") exceeds the padded input " + axis + " (" + in + " + " + padLo + " + " + padHi + " = "
                    + padded + ")" + (ceil
                    ? " by " + (-numer) + "; ceil mode allows at most " + stride_ + " - 1 = " + (stride - 1)
                    : "; only ceil mode allows that (by up to " + stride_ + " - 1)")
                    + ": the output " + axis + " would be below 1");
        }
        if (ceil && out > 1 && (out - 1) * stride >= in + padLo) { // (out-1)*stride <= numer + stride - 1
            out--;
        }
        checkWindows(axis, in, k, stride, padLo, padHi, dilation, span, out);
        return out;
    }

    /**
     * Throws unless every window {@code o < out} (taps {@code o*stride - padLo + j*dilation}, {@code j < k})
     * has a tap in {@code [0, in)}. "Starts before the input's end" and "last tap >= 0" are monotone in
     * {@code o}, so the first and last windows decide them; with {@code dilation > in} a window starting in
     * the padding can jump over the whole input, and whether it does depends only on its start modulo
     * {@code dilation}, which repeats every {@code dilation / gcd(stride, dilation)} windows: at most that many
     * are looked at (the C descriptor check does the same).
     */
    private static void checkWindows(String axis, long in, long k, long stride, long padLo, long padHi,
                                     long dilation, long span, long out) {
        long last = Math.multiplyExact(out - 1, stride) - padLo; // <= numer + stride - 1 - padLo: fits
        long bad = -1;
        if (!windowTouchesInput(-padLo, span, dilation, in)) {
            bad = 0;
        } else if (!windowTouchesInput(last, span, dilation, in)) {
            bad = out - 1;
        } else if (dilation > in && k > 1) {
            long period = dilation / gcd(stride, dilation);
            for (long o = 0; o < out && o < period; o++) {
                long start = o * stride - padLo;
                if (start >= 0) {
                    break;
                }
                if (!windowTouchesInput(start, span, dilation, in)) {
                    bad = o;
                    break;
                }
            }
        }
        if (bad >= 0) {
            throw new IllegalArgumentException("pooling window " + bad + " along the " + axis + " (taps at "
                    + (bad * stride - padLo) + " + j*" + dilation + ", j < " + k + ") lies entirely in the padding "
                    + "of an input of " + axis + " " + in + " (padding " + padLo + " + " + padHi + ")");
        }
    }

    /** Does the window whose first tap is at {@code start} (taps every {@code dilation}, last one at
     *  {@code start + span}) have a tap in {@code [0, in)}? */
    private static boolean windowTouchesInput(long start, long span, long dilation, long in) {
        if (start >= in) {
            return false;
        }
        if (start >= 0) {
            return true;
        }
        if (start + span < 0) {
            return false;
        }
        long neg = -start;
        long j0 = neg / dilation + (neg % dilation != 0 ? 1 : 0); // first tap at a position >= 0
        return start + j0 * dilation < in;
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    public long n() { return n; }
    public long c() { return c; }
    public long ih() { return ih; }
    public long iw() { return iw; }
    public long kh() { return kh; }
    public long kw() { return kw; }
    public long strideH() { return strideH; }
    public long strideW() { return strideW; }
    public long padTop() { return padTop; }
    public long padBottom() { return padBottom; }
    public long padLeft() { return padLeft; }
    public long padRight() { return padRight; }
    public long dilationH() { return dilationH; }
    public long dilationW() { return dilationW; }
    public boolean ceilMode() { return ceilMode; }
    public long oh() { return oh; }
    public long ow() { return ow; }

    public long[] srcShape() { return srcShape.clone(); }
    public long[] dstShape() { return dstShape.clone(); }

    /** The shape arrays themselves (not copies), for the layers' allocation-free checks; never modify them. */
    long[] srcShapeRef() { return srcShape; }
    long[] dstShapeRef() { return dstShape; }

    /** Number of elements of dst (and of the indices). */
    public long dstElementCount() { return n * c * oh * ow; }

    /** The same geometry for another batch size. */
    public MaxPool2dGeometry withBatch(long newN) {
        return of(newN, c, ih, iw, kh, kw, strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH,
                dilationW, ceilMode);
    }

    /** Whether a {@link IndexBuffer.Kind#TAPS} mask can serve this geometry: {@code kh*kw <= MAX_MASK_TAPS}. */
    public boolean tapMaskFits() {
        return kh <= MAX_MASK_TAPS && kw <= MAX_MASK_TAPS && kh * kw <= MAX_MASK_TAPS;
    }

    /**
     * Outputs below which a training {@link MaxPool2d} keeps int32 indices even where taps fit (a 256 KiB int32
     * mask): a small mask stays in cache either way, and there the backward decodes taps slower than it
     * scatters plane offsets (pool_small, 16x13x13 3x3 stride 2, 1 thread: 1.1-1.25x the int32 backward's time
     * since 2026-12-07, 2.1x before, while the taps forward takes 0.92-0.97x the int32 one; the two passes
     * together still 1.05-1.15x; the maxpool2d kernels' README). Large outputs are where the quarter-size mask pays
     * (2 threads, same buffers: pool_mid / pool_resnet forward 0.60 / 0.68 -> 0.71 / 0.84 of oneDNN's best;
     * bench/README.md).
     */
    public static final long TAP_MASK_MIN_OUTPUTS = 1L << 16;

    /**
     * The mask a training {@link MaxPool2d} records by default: {@link IndexBuffer.Kind#TAPS} when it fits and
     * the output has at least {@link #TAP_MASK_MIN_OUTPUTS} elements, else INT32.
     */
    public IndexBuffer.Kind trainingMaskKind() {
        return tapMaskFits() && dstElementCount() >= TAP_MASK_MIN_OUTPUTS ? IndexBuffer.Kind.TAPS
                : IndexBuffer.Kind.INT32;
    }

    /**
     * The plane offset {@code iy*iw + ix} that window tap {@code tap} ({@code ky*kw + kx}) of output
     * {@code (y, x)} names, or -1 when {@code tap} is not in {@code [0, kh*kw)} or names a position outside the
     * input (padding, or past a ceil-mode edge).
     */
    public long tapPlaneOffset(long y, long x, long tap) {
        if (tap < 0 || tap / kw >= kh || y < 0 || y >= oh || x < 0 || x >= ow) {
            return -1;
        }
        long iy = y * strideH - padTop + (tap / kw) * dilationH;
        long ix = x * strideW - padLeft + (tap % kw) * dilationW;
        return iy < 0 || iy >= ih || ix < 0 || ix >= iw ? -1 : iy * iw + ix;
    }

    /**
     * The plane offsets {@code iy*iw + ix} a mask of either kind names, one per output element (NCHW order): a
     * copy of an INT32 mask, or a TAPS mask expanded through {@link #tapPlaneOffset}.
     *
     * @throws IllegalArgumentException for a mask of the wrong length, or a tap naming no input position
     */
    public int[] planeOffsets(IndexBuffer mask) {
        if (mask == null) {
            throw new NullPointerException("mask must not be null");
        }
        mask.checkLength("mask", dstElementCount());
        int[] values = mask.toArray();
        if (mask.kind() == IndexBuffer.Kind.INT32) {
            return values;
        }
        long outPlane = oh * ow;
        for (int i = 0; i < values.length; i++) {
            long y = (i % outPlane) / ow;
            long x = i % ow;
            long offset = tapPlaneOffset(y, x, values[i]);
            if (offset < 0) {
                throw new IllegalArgumentException("mask tap " + values[i] + " at [" + i + "] (output y=" + y + ", x="
                        + x + ") names no input position of a " + kh + "x" + kw + " window of " + this);
            }
            values[i] = (int) offset;
        }
        return values;
    }

    /** Validates the tensors of a forward pass; {@code mask} may be null, else it must be open and hold
     *  exactly {@code dstElementCount()} elements, and a TAPS mask needs {@link #tapMaskFits()}. */
    public void checkForward(Tensor src, Tensor dst, IndexBuffer mask) {
        Conv2dGeometry.requireShape("src", src, srcShape);
        Conv2dGeometry.requireShape("dst", dst, dstShape);
        if (mask != null) {
            checkMask(mask);
        }
    }

    /** Validates the tensors of a backward pass ({@code mask} as for {@link #checkForward}, not null). */
    public void checkBackward(Tensor diffDst, IndexBuffer mask, Tensor diffSrc) {
        Conv2dGeometry.requireShape("diffDst", diffDst, dstShape);
        if (mask == null) {
            throw new NullPointerException("indices must not be null");
        }
        checkMask(mask);
        Conv2dGeometry.requireShape("diffSrc", diffSrc, srcShape);
    }

    private void checkMask(IndexBuffer mask) {
        mask.checkLength("indices", dstElementCount());
        if (mask.kind() == IndexBuffer.Kind.TAPS && !tapMaskFits()) {
            throw new IllegalArgumentException("indices is a " + IndexBuffer.Kind.TAPS + " mask, but the " + kh + "x"
                    + kw + " window has "
                    + java.math.BigInteger.valueOf(kh).multiply(java.math.BigInteger.valueOf(kw)) + " taps, more than MAX_MASK_TAPS = "
                    + MAX_MASK_TAPS + "; use an INT32 index buffer");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o == this
                || (o instanceof MaxPool2dGeometry g && hash == g.hash && Arrays.equals(fields(), g.fields()));
    }

    @Override
    public int hashCode() {
        return hash;
    }

    private long[] fields() {
        return new long[] {n, c, ih, iw, kh, kw, strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH,
                dilationW, ceilMode ? 1 : 0};
    }

    @Override
    public String toString() {
        return "MaxPool2dGeometry[n=" + n + ", c=" + c + ", ih=" + ih + ", iw=" + iw + ", kh=" + kh + ", kw=" + kw
                + ", stride=" + strideH + "x" + strideW + ", pad(t,b,l,r)=" + padTop + "," + padBottom + ","
                + padLeft + "," + padRight + ", dilation=" + dilationH + "x" + dilationW + ", ceil=" + ceilMode
                + " -> oh=" + oh + ", ow=" + ow + "]";
    }
}
