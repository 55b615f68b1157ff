package io.github.panamacnn;

/**
 * How a layer keeps its output and input-gradient tensors: reused while the shape stays the same
 * (so a steady-state loop allocates nothing), replaced - the old one closed - when the shape changes
 * or when the caller closed it. See {@code docs/ownership.md}.
 */
final class LayerBuffers {
    private LayerBuffers() {
    }

    /** {@code current} when it is open and has {@code shape}; otherwise closes it and returns a new zero tensor. */
    static Tensor ensure(Tensor current, long[] shape) {
        if (current != null && current.isAlive() && current.hasShape(shape)) {
            return current;
        }
        if (current != null) {
            current.close();
        }
        return Tensor.zeros(shape);
    }

    /** Like {@link #ensure(Tensor, long[])} with the shape of {@code like}. */
    static Tensor ensureLike(Tensor current, Tensor like) {
        if (current != null && current.isAlive() && current.hasSameShape(like)) {
            return current;
        }
        if (current != null) {
            current.close();
        }
        return Tensor.zeros(like.shape());
    }

    /**
     * {@code bias[c] = sum over n and the plane of gradOutput[n][c][...]}, in double: the bias gradient
     * when the weights are frozen but the bias is not (the kernels compute it only together with the weights).
     */
    static void sumBias(Tensor gradOutput, long n, long channels, long plane, Tensor biasGrad) {
        java.lang.foreign.MemorySegment dy = gradOutput.segment();
        java.lang.foreign.MemorySegment db = biasGrad.segment();
        for (long c = 0; c < channels; c++) {
            double sum = 0.0;
            for (long i = 0; i < n; i++) {
                long base = (i * channels + c) * plane;
                for (long p = 0; p < plane; p++) {
                    sum += dy.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, base + p);
                }
            }
            db.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, c, (float) sum);
        }
    }

    /** Draws every element of {@code t} from {@code U(-bound, bound)}, in row-major order. */
    static void uniform(java.util.SplittableRandom random, Tensor t, double bound) {
        java.lang.foreign.MemorySegment s = t.segment();
        for (long i = 0, count = t.elementCount(); i < count; i++) {
            s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) random.nextDouble(-bound, bound));
        }
    }
}
