package io.github.panamacnn.reference;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * The pure-Java backend: validates with the geometry's {@code check*} methods, copies the tensors
 * into Java arrays ({@code double[]} for convolutions, {@code float[]} for max pooling), runs
 * {@link ReferenceKernels} and writes the results back (convolution results rounded to float once,
 * at the end). Slow on purpose; it is the oracle. Stateless and thread-safe.
 *
 * <p>Tensors of more than {@link ReferenceKernels#MAX_ARRAY_LENGTH} elements are not supported
 * (they do not fit in a Java array): such calls throw {@link IllegalArgumentException} saying so.
 */
public final class ReferenceBackend implements Backend {

    public ReferenceBackend() {
    }

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void conv2dForward(Conv2dGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        Objects.requireNonNull(g, "geometry");
        g.checkForward(src, weights, bias, dst);
        requireArraySized("dst", dst);
        double[] out = new double[(int) dst.elementCount()];
        ReferenceKernels.conv2dForward(g, toDoubles("src", src), toDoubles("weights", weights),
                bias == null ? null : toDoubles("bias", bias), out);
        writeRounded(dst, out);
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
        Objects.requireNonNull(g, "geometry");
        g.checkBackwardData(diffDst, weights, diffSrc);
        requireArraySized("diffSrc", diffSrc);
        double[] out = new double[(int) diffSrc.elementCount()];
        ReferenceKernels.conv2dBackwardData(g, toDoubles("diffDst", diffDst), toDoubles("weights", weights), out);
        writeRounded(diffSrc, out);
    }

    @Override
    public void conv2dBackwardWeights(Conv2dGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                      Tensor diffBias) {
        Objects.requireNonNull(g, "geometry");
        g.checkBackwardWeights(src, diffDst, diffWeights, diffBias);
        requireArraySized("diffWeights", diffWeights);
        double[] dw = new double[(int) diffWeights.elementCount()];
        double[] db = diffBias == null ? null : new double[(int) diffBias.elementCount()];
        ReferenceKernels.conv2dBackwardWeights(g, toDoubles("src", src), toDoubles("diffDst", diffDst), dw, db);
        writeRounded(diffWeights, dw);
        if (diffBias != null) {
            writeRounded(diffBias, db);
        }
    }

    /** The mask's kind picks the scan's output: plane offsets (INT32) or window taps (TAPS), both computed here. */
    @Override
    public void maxPool2dForward(MaxPool2dGeometry g, Tensor src, Tensor dst, IndexBuffer indices) {
        Objects.requireNonNull(g, "geometry");
        g.checkForward(src, dst, indices);
        requireArraySized("src", src);
        requireArraySized("dst", dst);
        float[] out = new float[(int) dst.elementCount()];
        int[] mask = indices == null ? null : new int[out.length];
        if (indices != null && indices.kind() == IndexBuffer.Kind.TAPS) {
            ReferenceKernels.maxPool2dForwardTaps(g, src.toArray(), out, mask);
        } else {
            ReferenceKernels.maxPool2dForward(g, src.toArray(), out, mask);
        }
        dst.copyFrom(out);
        if (indices != null) {
            indices.copyFrom(mask);
        }
    }

    @Override
    public void maxPool2dBackward(MaxPool2dGeometry g, Tensor diffDst, IndexBuffer indices, Tensor diffSrc) {
        Objects.requireNonNull(g, "geometry");
        g.checkBackward(diffDst, indices, diffSrc);
        requireArraySized("diffDst", diffDst);
        requireArraySized("diffSrc", diffSrc);
        float[] out = new float[(int) diffSrc.elementCount()];
        // Throws IllegalArgumentException on an out-of-range index or tap before diffSrc is touched.
        if (indices.kind() == IndexBuffer.Kind.TAPS) {
            ReferenceKernels.maxPool2dBackwardTaps(g, diffDst.toArray(), indices.toArray(), out);
        } else {
            ReferenceKernels.maxPool2dBackward(g, diffDst.toArray(), indices.toArray(), out);
        }
        diffSrc.copyFrom(out);
    }

    // ---------------------------------------------------------------- helpers

    /** The tensor's elements widened to double, in row-major order. */
    public static double[] toDoubles(Tensor t) {
        return toDoubles("tensor", t);
    }

    /** Each element rounded to the nearest float. */
    public static float[] toFloats(double[] values) {
        Objects.requireNonNull(values, "values");
        float[] f = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            f[i] = (float) values[i];
        }
        return f;
    }

    private static double[] toDoubles(String name, Tensor t) {
        Objects.requireNonNull(t, name);
        t.checkAlive(name);
        requireArraySized(name, t);
        float[] f = t.toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static void writeRounded(Tensor t, double[] values) {
        t.copyFrom(toFloats(values));
    }

    private static void requireArraySized(String name, Tensor t) {
        if (t.elementCount() > ReferenceKernels.MAX_ARRAY_LENGTH) {
            throw new IllegalArgumentException(name + " " + Arrays.toString(t.shape()) + " has " + t.elementCount()
                    + " elements; the pure-Java reference backend handles at most " + ReferenceKernels.MAX_ARRAY_LENGTH
                    + " elements per tensor (the Java array limit): use the native backend for it");
        }
    }
}
