package io.github.panamacnn;

import java.util.Arrays;

/**
 * The complete, validated geometry of one 2-D convolution: the Java twin of the C
 * {@code pcnn_conv2d_desc}. Immutable; equal geometries are interchangeable.
 *
 * <p>Output size: {@code oh = floor((ih + padTop + padBottom - dilationH*(kh-1) - 1) / strideH) + 1},
 * likewise {@code ow}. Layouts: src {@code [n][c][ih][iw]}, weights {@code [oc][c/groups][kh][kw]},
 * bias {@code [oc]}, dst {@code [n][oc][oh][ow]}.
 */
public final class Conv2dGeometry {
    private final long n, c, ih, iw, oc, kh, kw;
    private final long strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, groups;
    private final long oh, ow;
    // Kept so that the per-call shape checks and the descriptor-cache lookups allocate nothing.
    private final long[] srcShape, weightsShape, biasShape, dstShape;
    private final int hash;

    private Conv2dGeometry(long n, long c, long ih, long iw, long oc, long kh, long kw,
                           long strideH, long strideW, long padTop, long padBottom, long padLeft, long padRight,
                           long dilationH, long dilationW, long groups) {
        this.n = positive("batch size n", n);
        this.c = positive("input channels c", c);
        this.ih = positive("input height ih", ih);
        this.iw = positive("input width iw", iw);
        this.oc = positive("output channels oc", oc);
        this.kh = positive("kernel height kh", kh);
        this.kw = positive("kernel width kw", kw);
        this.strideH = positive("strideH", strideH);
        this.strideW = positive("strideW", strideW);
        this.padTop = nonNegative("padTop", padTop);
        this.padBottom = nonNegative("padBottom", padBottom);
        this.padLeft = nonNegative("padLeft", padLeft);
        this.padRight = nonNegative("padRight", padRight);
        this.dilationH = positive("dilationH", dilationH);
        this.dilationW = positive("dilationW", dilationW);
        this.groups = positive("groups", groups);
        if (c % groups != 0) {
            throw new IllegalArgumentException("groups (" + groups + ") must divide input channels c (" + c + ")");
        }
        if (oc % groups != 0) {
            throw new IllegalArgumentException("groups (" + groups + ") must divide output channels oc (" + oc + ")");
        }
        this.oh = outputSize("height", ih, kh, strideH, padTop, padBottom, dilationH);
        this.ow = outputSize("width", iw, kw, strideW, padLeft, padRight, dilationW);
        checkedProduct("src element count n*c*ih*iw", n, c, ih, iw);
        checkedProduct("dst element count n*oc*oh*ow", n, oc, oh, ow);
        checkedProduct("weights element count oc*(c/groups)*kh*kw", oc, c / groups, kh, kw);
        this.srcShape = new long[] {n, c, ih, iw};
        this.weightsShape = new long[] {oc, c / groups, kh, kw};
        this.biasShape = new long[] {oc};
        this.dstShape = new long[] {n, oc, oh, ow};
        this.hash = Arrays.hashCode(fields());
    }

    /** Validates and computes the output size; throws {@link IllegalArgumentException} naming the bad value. */
    public static Conv2dGeometry of(long n, long c, long ih, long iw, long oc, long kh, long kw,
                                    long strideH, long strideW, long padTop, long padBottom, long padLeft,
                                    long padRight, long dilationH, long dilationW, long groups) {
        return new Conv2dGeometry(n, c, ih, iw, oc, kh, kw, strideH, strideW, padTop, padBottom, padLeft, padRight,
                dilationH, dilationW, groups);
    }

    /** Dense, unpadded, stride-1, ungrouped convolution. */
    public static Conv2dGeometry simple(long n, long c, long ih, long iw, long oc, long kh, long kw) {
        return of(n, c, ih, iw, oc, kh, kw, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    }

    static long outputSize(String axis, long in, long k, long stride, long padLo, long padHi, long dilation) {
        long padded = addExact("padded input " + axis, addExact("padded input " + axis, in, padLo), padHi);
        long extent = addExact("dilated kernel " + axis, mulExact("dilated kernel " + axis, dilation, k - 1), 1);
        if (extent > padded) {
            throw new IllegalArgumentException("dilated kernel " + axis + " (dilation*(k-1)+1 = " + dilation + "*("
                    + k + "-1)+1 = " + extent + ") exceeds the padded input " + axis + " (in + padding = " + in
                    + " + " + padLo + " + " + padHi + " = " + padded + ")");
        }
        return (padded - extent) / stride + 1;
    }

    static long positive(String name, long v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1 but was " + v);
        }
        return v;
    }

    static long nonNegative(String name, long v) {
        if (v < 0) {
            throw new IllegalArgumentException(name + " must be >= 0 but was " + v);
        }
        return v;
    }

    static long addExact(String what, long a, long b) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + " overflows int64: " + a + " + " + b);
        }
    }

    static long mulExact(String what, long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + " overflows int64: " + a + " * " + b);
        }
    }

    static long checkedProduct(String what, long... factors) {
        long p = 1;
        for (long f : factors) {
            try {
                p = Math.multiplyExact(p, f);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(what + " overflows int64 (factors " + Arrays.toString(factors)
                        + ")");
            }
        }
        try {
            Math.multiplyExact(p, Float.BYTES);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + " = " + p + " floats does not fit in 2^63 bytes");
        }
        return p;
    }

    public long n() { return n; }
    public long c() { return c; }
    public long ih() { return ih; }
    public long iw() { return iw; }
    public long oc() { return oc; }
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
    public long groups() { return groups; }
    public long oh() { return oh; }
    public long ow() { return ow; }

    /** Input channels per group. */
    public long channelsPerGroup() { return c / groups; }
    /** Output channels per group. */
    public long outChannelsPerGroup() { return oc / groups; }

    public long[] srcShape() { return srcShape.clone(); }
    public long[] weightsShape() { return weightsShape.clone(); }
    public long[] biasShape() { return biasShape.clone(); }
    public long[] dstShape() { return dstShape.clone(); }

    /** The shape arrays themselves (not copies), for the layers' allocation-free checks; never modify them. */
    long[] srcShapeRef() { return srcShape; }
    long[] dstShapeRef() { return dstShape; }

    /** Multiply-adds times two of one pass: {@code 2*n*oc*oh*ow*(c/groups)*kh*kw}. */
    public double flops() {
        return 2.0 * n * oc * oh * ow * (double) (c / groups) * kh * kw;
    }

    /** The same geometry for another batch size. */
    public Conv2dGeometry withBatch(long newN) {
        return of(newN, c, ih, iw, oc, kh, kw, strideH, strideW, padTop, padBottom, padLeft, padRight,
                dilationH, dilationW, groups);
    }

    /** Throws unless {@code t} is open and has exactly {@code expected} as its shape. */
    public static void requireShape(String name, Tensor t, long[] expected) {
        if (t == null) {
            throw new NullPointerException(name + " must not be null");
        }
        t.checkAlive(name);
        if (!t.hasShape(expected)) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape())
                    + " but this operation needs " + Arrays.toString(expected));
        }
    }

    /** Validates the tensors of a forward pass; {@code bias} may be null. */
    public void checkForward(Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        requireShape("src", src, srcShape);
        requireShape("weights", weights, weightsShape);
        if (bias != null) {
            requireShape("bias", bias, biasShape);
        }
        requireShape("dst", dst, dstShape);
    }

    /** Validates the tensors of a backward-data pass. */
    public void checkBackwardData(Tensor diffDst, Tensor weights, Tensor diffSrc) {
        requireShape("diffDst", diffDst, dstShape);
        requireShape("weights", weights, weightsShape);
        requireShape("diffSrc", diffSrc, srcShape);
    }

    /** Validates the tensors of a backward-weights pass; {@code diffBias} may be null. */
    public void checkBackwardWeights(Tensor src, Tensor diffDst, Tensor diffWeights, Tensor diffBias) {
        requireShape("src", src, srcShape);
        requireShape("diffDst", diffDst, dstShape);
        requireShape("diffWeights", diffWeights, weightsShape);
        if (diffBias != null) {
            requireShape("diffBias", diffBias, biasShape);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o == this || (o instanceof Conv2dGeometry g && hash == g.hash && Arrays.equals(fields(), g.fields()));
    }

    @Override
    public int hashCode() {
        return hash;
    }

    private long[] fields() {
        return new long[] {n, c, ih, iw, oc, kh, kw, strideH, strideW, padTop, padBottom, padLeft, padRight,
                dilationH, dilationW, groups};
    }

    @Override
    public String toString() {
        return "Conv2dGeometry[n=" + n + ", c=" + c + ", ih=" + ih + ", iw=" + iw + ", oc=" + oc + ", kh=" + kh
                + ", kw=" + kw + ", stride=" + strideH + "x" + strideW + ", pad(t,b,l,r)=" + padTop + "," + padBottom
                + "," + padLeft + "," + padRight + ", dilation=" + dilationH + "x" + dilationW + ", groups=" + groups
                + " -> oh=" + oh + ", ow=" + ow + "]";
    }
}
