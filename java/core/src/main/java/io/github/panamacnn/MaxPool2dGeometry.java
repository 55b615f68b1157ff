package io.github.panamacnn;

import java.util.Arrays;

/**
 * The complete, validated geometry of one 2-D max pooling: the Java twin of the C
 * {@code pcnn_maxpool2d_desc}. Immutable; equal geometries are interchangeable.
 *
 * <p>Floor mode: {@code oh = floor((ih + padTop + padBottom - dilationH*(kh-1) - 1) / strideH) + 1}.
 * Ceil mode rounds the division up, then drops a last window that would start at or past
 * {@code ih + padTop} (PyTorch's rule). Every window must cover at least one input position.
 * Indices are int32 offsets into one input plane, so {@code ih*iw <= Integer.MAX_VALUE}.
 */
public final class MaxPool2dGeometry {
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

    private static long outputSize(String axis, long in, long k, long stride, long padLo, long padHi,
                                   long dilation, boolean ceil) {
        long padded = Conv2dGeometry.addExact("padded input " + axis,
                Conv2dGeometry.addExact("padded input " + axis, in, padLo), padHi);
        long extent = Conv2dGeometry.addExact("dilated kernel " + axis,
                Conv2dGeometry.mulExact("dilated kernel " + axis, dilation, k - 1), 1);
        if (extent > padded) {
            throw new IllegalArgumentException("dilated pooling window " + axis + " (dilation*(k-1)+1 = " + extent
                    + ") exceeds the padded input " + axis + " (" + in + " + " + padLo + " + " + padHi + " = "
                    + padded + ")");
        }
        long span = padded - extent;
        long out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil && (out - 1) * stride >= in + padLo) {
            out--;
        }
        for (long o = 0; o < out; o++) {
            long start = o * stride - padLo;
            if (!windowTouchesInput(start, k, dilation, in)) {
                throw new IllegalArgumentException("pooling window " + o + " along the " + axis + " (taps at "
                        + start + " + j*" + dilation + ", j < " + k + ") lies entirely in the padding of an input of "
                        + axis + " " + in + " (padding " + padLo + " + " + padHi + ")");
            }
        }
        return out;
    }

    private static boolean windowTouchesInput(long start, long k, long dilation, long in) {
        for (long j = 0; j < k; j++) {
            long p = start + j * dilation;
            if (p >= 0 && p < in) {
                return true;
            }
            if (p >= in) {
                return false;
            }
        }
        return false;
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

    /** Validates the tensors of a forward pass; {@code indices} may be null, else it must be a live
     *  native segment of exactly {@code 4 * dstElementCount()} bytes. */
    public void checkForward(Tensor src, Tensor dst, IndexBuffer indices) {
        Conv2dGeometry.requireShape("src", src, srcShape);
        Conv2dGeometry.requireShape("dst", dst, dstShape);
        if (indices != null) {
            indices.check("indices", dstElementCount());
        }
    }

    /** Validates the tensors of a backward pass. */
    public void checkBackward(Tensor diffDst, IndexBuffer indices, Tensor diffSrc) {
        Conv2dGeometry.requireShape("diffDst", diffDst, dstShape);
        if (indices == null) {
            throw new NullPointerException("indices must not be null");
        }
        indices.check("indices", dstElementCount());
        Conv2dGeometry.requireShape("diffSrc", diffSrc, srcShape);
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
