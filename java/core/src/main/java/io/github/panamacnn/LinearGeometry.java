package io.github.panamacnn;

/**
 * The validated shapes of one fully connected pass {@code y[n][out] = x[n][in] W^T + b}:
 * src {@code [n, in]}, weights {@code [out, in]} (PyTorch's layout), bias {@code [out]},
 * dst {@code [n, out]}. Immutable; equal geometries are interchangeable.
 */
public final class LinearGeometry {
    private final long n, in, out;
    // Kept so that the per-call shape checks allocate nothing.
    private final long[] srcShape, weightsShape, biasShape, dstShape;

    private LinearGeometry(long n, long in, long out) {
        this.n = Conv2dGeometry.positive("batch size n", n);
        this.in = Conv2dGeometry.positive("in features", in);
        this.out = Conv2dGeometry.positive("out features", out);
        Conv2dGeometry.checkedProduct("src element count n*in", n, in, 1, 1);
        Conv2dGeometry.checkedProduct("weights element count out*in", out, in, 1, 1);
        Conv2dGeometry.checkedProduct("dst element count n*out", n, out, 1, 1);
        this.srcShape = new long[] {n, in};
        this.weightsShape = new long[] {out, in};
        this.biasShape = new long[] {out};
        this.dstShape = new long[] {n, out};
    }

    /** Validates the sizes (each >= 1, element counts within {@code long}). */
    public static LinearGeometry of(long n, long in, long out) {
        return new LinearGeometry(n, in, out);
    }

    public long n() {
        return n;
    }

    public long in() {
        return in;
    }

    public long out() {
        return out;
    }

    /** {@code [n, in]} (a copy). */
    public long[] srcShape() {
        return srcShape.clone();
    }

    /** {@code [n, out]} (a copy). */
    public long[] dstShape() {
        return dstShape.clone();
    }

    /** {@code [out, in]} (a copy). */
    public long[] weightsShape() {
        return weightsShape.clone();
    }

    /** The shape arrays themselves (not copies), for the layers' allocation-free checks; never modify them. */
    long[] srcShapeRef() {
        return srcShape;
    }

    long[] dstShapeRef() {
        return dstShape;
    }

    /** Multiply-adds of one pass: {@code n*in*out}. */
    public double macs() {
        return (double) n * in * out;
    }

    /** Validates the tensors of a forward pass; {@code bias} may be null. */
    public void checkForward(Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        Conv2dGeometry.requireShape("src", src, srcShape);
        Conv2dGeometry.requireShape("weights", weights, weightsShape);
        if (bias != null) {
            Conv2dGeometry.requireShape("bias", bias, biasShape);
        }
        Conv2dGeometry.requireShape("dst", dst, dstShape);
    }

    /** Validates the tensors of a backward-data pass ({@code diffSrc = diffDst W}). */
    public void checkBackwardData(Tensor diffDst, Tensor weights, Tensor diffSrc) {
        Conv2dGeometry.requireShape("diffDst", diffDst, dstShape);
        Conv2dGeometry.requireShape("weights", weights, weightsShape);
        Conv2dGeometry.requireShape("diffSrc", diffSrc, srcShape);
    }

    /** Validates the tensors of a backward-weights pass; {@code diffBias} may be null. */
    public void checkBackwardWeights(Tensor src, Tensor diffDst, Tensor diffWeights, Tensor diffBias) {
        Conv2dGeometry.requireShape("src", src, srcShape);
        Conv2dGeometry.requireShape("diffDst", diffDst, dstShape);
        Conv2dGeometry.requireShape("diffWeights", diffWeights, weightsShape);
        if (diffBias != null) {
            Conv2dGeometry.requireShape("diffBias", diffBias, biasShape);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o == this || (o instanceof LinearGeometry g && g.n == n && g.in == in && g.out == out);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(n) * 961 + Long.hashCode(in) * 31 + Long.hashCode(out);
    }

    @Override
    public String toString() {
        return "LinearGeometry[n=" + n + ", in=" + in + ", out=" + out + "]";
    }
}
