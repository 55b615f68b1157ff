package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.LinearGeometry;
import io.github.panamacnn.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * The oracle for the network operations next to convolution and pooling: fully connected (linear),
 * ReLU and softmax cross-entropy. Semantics are those of {@code native/include/panamacnn/panamacnn.h}.
 *
 * <p>Linear and the loss compute in {@code double} and round once to float, like the convolution
 * reference. ReLU is exact (a select), and both its passes here are the bit-for-bit definition:
 * forward {@code y = (x > 0 || isNaN(x)) ? x : +0.0f} (NaN propagates, {@code -0.0} becomes
 * {@code +0.0}, like PyTorch's {@code relu}); backward from the saved output {@code y}:
 * {@code dx = (y > 0 || isNaN(y)) ? dy : +0.0f} (PyTorch's {@code threshold_backward}, which
 * passes the gradient through a NaN input because {@code NaN <= 0} is false).
 *
 * <p>Plain loops, {@code long} indices, no threads, no caching. Validates its arguments with the
 * same messages as the other backends. Stateless.
 */
public final class ReferenceNetKernels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private ReferenceNetKernels() {
    }

    // ---------------------------------------------------------------- linear

    /** {@code dst[i][o] = bias[o] + sum_k src[i][k] * weights[o][k]}, in double; {@code bias} may be null. */
    public static void linearForward(LinearGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        Objects.requireNonNull(g, "geometry");
        g.checkForward(src, weights, bias, dst);
        double[] out = new double[checkedLength("dst", dst)];
        linearForward(g, doubles("src", src), doubles("weights", weights),
                bias == null ? null : doubles("bias", bias), out);
        write(dst, out);
    }

    /** {@code diffSrc[i][k] = sum_o diffDst[i][o] * weights[o][k]}, in double. */
    public static void linearBackwardData(LinearGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
        Objects.requireNonNull(g, "geometry");
        g.checkBackwardData(diffDst, weights, diffSrc);
        double[] out = new double[checkedLength("diffSrc", diffSrc)];
        linearBackwardData(g, doubles("diffDst", diffDst), doubles("weights", weights), out);
        write(diffSrc, out);
    }

    /** {@code diffWeights[o][k] = sum_i diffDst[i][o] * src[i][k]}; {@code diffBias[o] = sum_i diffDst[i][o]}. */
    public static void linearBackwardWeights(LinearGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                             Tensor diffBias) {
        Objects.requireNonNull(g, "geometry");
        g.checkBackwardWeights(src, diffDst, diffWeights, diffBias);
        double[] dw = new double[checkedLength("diffWeights", diffWeights)];
        double[] db = diffBias == null ? null : new double[(int) g.out()];
        linearBackwardWeights(g, doubles("src", src), doubles("diffDst", diffDst), dw, db);
        write(diffWeights, dw);
        if (diffBias != null) {
            write(diffBias, db);
        }
    }

    /** Array form of {@link #linearForward(LinearGeometry, Tensor, Tensor, Tensor, Tensor)}. */
    public static void linearForward(LinearGeometry g, double[] src, double[] weights, double[] bias, double[] dst) {
        long n = g.n(), in = g.in(), out = g.out();
        for (long i = 0; i < n; i++) {
            for (long o = 0; o < out; o++) {
                double sum = bias == null ? 0.0 : bias[(int) o];
                for (long k = 0; k < in; k++) {
                    sum += src[(int) (i * in + k)] * weights[(int) (o * in + k)];
                }
                dst[(int) (i * out + o)] = sum;
            }
        }
    }

    /** Array form of {@link #linearBackwardData(LinearGeometry, Tensor, Tensor, Tensor)}. */
    public static void linearBackwardData(LinearGeometry g, double[] diffDst, double[] weights, double[] diffSrc) {
        long n = g.n(), in = g.in(), out = g.out();
        for (long i = 0; i < n; i++) {
            for (long k = 0; k < in; k++) {
                double sum = 0.0;
                for (long o = 0; o < out; o++) {
                    sum += diffDst[(int) (i * out + o)] * weights[(int) (o * in + k)];
                }
                diffSrc[(int) (i * in + k)] = sum;
            }
        }
    }

    /** Array form of {@link #linearBackwardWeights(LinearGeometry, Tensor, Tensor, Tensor, Tensor)}; diffBias may be null. */
    public static void linearBackwardWeights(LinearGeometry g, double[] src, double[] diffDst, double[] diffWeights,
                                             double[] diffBias) {
        long n = g.n(), in = g.in(), out = g.out();
        for (long o = 0; o < out; o++) {
            for (long k = 0; k < in; k++) {
                double sum = 0.0;
                for (long i = 0; i < n; i++) {
                    sum += diffDst[(int) (i * out + o)] * src[(int) (i * in + k)];
                }
                diffWeights[(int) (o * in + k)] = sum;
            }
            if (diffBias != null) {
                double sum = 0.0;
                for (long i = 0; i < n; i++) {
                    sum += diffDst[(int) (i * out + o)];
                }
                diffBias[(int) o] = sum;
            }
        }
    }

    // ---------------------------------------------------------------- ReLU

    /** {@code dst = (src > 0 || isNaN(src)) ? src : +0.0f}, element-wise; src and dst have the same shape. */
    public static void reluForward(Tensor src, Tensor dst) {
        requireSameShape("src", src, "dst", dst);
        MemorySegment s = src.segment(), d = dst.segment();
        for (long i = 0, count = src.elementCount(); i < count; i++) {
            float x = s.getAtIndex(F, i);
            d.setAtIndex(F, i, reluForward(x));
        }
    }

    /** {@code diffSrc = (dst > 0 || isNaN(dst)) ? diffDst : +0.0f}, where {@code dst} is the forward's output. */
    public static void reluBackward(Tensor dst, Tensor diffDst, Tensor diffSrc) {
        requireSameShape("dst", dst, "diffDst", diffDst);
        requireSameShape("dst", dst, "diffSrc", diffSrc);
        MemorySegment y = dst.segment(), dy = diffDst.segment(), dx = diffSrc.segment();
        for (long i = 0, count = dst.elementCount(); i < count; i++) {
            dx.setAtIndex(F, i, reluBackward(y.getAtIndex(F, i), dy.getAtIndex(F, i)));
        }
    }

    /** The forward rule for one element. */
    public static float reluForward(float x) {
        return x > 0.0f || x != x ? x : 0.0f;
    }

    /** The backward rule for one element, from the forward output {@code y}. */
    public static float reluBackward(float y, float dy) {
        return y > 0.0f || y != y ? dy : 0.0f;
    }

    // ---------------------------------------------------------------- softmax cross-entropy

    /**
     * Mean over the batch of {@code log(sum_c exp(logits[i][c])) - logits[i][labels[i]]}, computed in
     * double as {@code log(sum_c exp(x[i][c] - m_i)) + m_i - x[i][label]} with {@code m_i} the row
     * maximum; rounded to float once.
     *
     * @throws IllegalArgumentException when a label is outside {@code [0, classes)} (naming its index and
     *         value), or the shapes do not match
     */
    public static float crossEntropyForward(Tensor logits, IndexBuffer labels) {
        long[] nc = checkCrossEntropy(logits, labels, null);
        int n = checkedLength("logits", logits) / (int) nc[1];
        return (float) crossEntropy(n, (int) nc[1], doubles("logits", logits), labels.toArray(), null);
    }

    /**
     * The gradient of {@link #crossEntropyForward} with respect to the logits:
     * {@code diffLogits[i][c] = (softmax(x_i)[c] - (c == labels[i] ? 1 : 0)) / n}, in double, rounded once.
     */
    public static void crossEntropyBackward(Tensor logits, IndexBuffer labels, Tensor diffLogits) {
        long[] nc = checkCrossEntropy(logits, labels, diffLogits);
        int n = checkedLength("logits", logits) / (int) nc[1];
        double[] grad = new double[n * (int) nc[1]];
        crossEntropy(n, (int) nc[1], doubles("logits", logits), labels.toArray(), grad);
        write(diffLogits, grad);
    }

    /**
     * Array form, all in double: returns the mean loss and, when {@code grad} is not null, writes
     * {@code (softmax - onehot) / n} into it. Labels must already be in range.
     */
    public static double crossEntropy(int n, int c, double[] x, int[] labels, double[] grad) {
        double total = 0.0;
        for (int i = 0; i < n; i++) {
            double m = x[i * c];
            for (int j = 1; j < c; j++) {
                double v = x[i * c + j];
                if (v > m || v != v) {
                    m = v;
                }
            }
            double s = 0.0;
            for (int j = 0; j < c; j++) {
                s += Math.exp(x[i * c + j] - m);
            }
            total += Math.log(s) + m - x[i * c + labels[i]];
            if (grad != null) {
                for (int j = 0; j < c; j++) {
                    double p = Math.exp(x[i * c + j] - m) / s;
                    grad[i * c + j] = (p - (j == labels[i] ? 1.0 : 0.0)) / n;
                }
            }
        }
        return total / n;
    }

    /**
     * Validates a cross-entropy call: logits {@code [n, classes]}, labels of length n with every value in
     * {@code [0, classes)}, diffLogits (may be null) of the logits' shape. Returns {@code {n, classes}}.
     */
    public static long[] checkCrossEntropy(Tensor logits, IndexBuffer labels, Tensor diffLogits) {
        Objects.requireNonNull(logits, "logits must not be null");
        Objects.requireNonNull(labels, "labels must not be null");
        logits.checkAlive("logits");
        if (logits.rank() != 2) {
            throw new IllegalArgumentException("logits must have rank 2 [n, classes] but has shape "
                    + Arrays.toString(logits.shape()));
        }
        long n = logits.dim(0), c = logits.dim(1);
        labels.check("labels", n);
        if (diffLogits != null) {
            Conv2dGeometry.requireShape("diffLogits", diffLogits, new long[] {n, c});
        }
        MemorySegment l = labels.segment();
        for (long i = 0; i < n; i++) {
            int label = l.getAtIndex(ValueLayout.JAVA_INT, i);
            if (label < 0 || label >= c) {
                throw new IllegalArgumentException("labels[" + i + "] = " + label + " is out of range [0, " + c
                        + ") (logits have " + c + " classes)");
            }
        }
        return new long[] {n, c};
    }

    // ---------------------------------------------------------------- helpers

    private static void requireSameShape(String aName, Tensor a, String bName, Tensor b) {
        Objects.requireNonNull(a, aName + " must not be null");
        Objects.requireNonNull(b, bName + " must not be null");
        a.checkAlive(aName);
        b.checkAlive(bName);
        if (!b.hasShape(a.shape())) {
            throw new IllegalArgumentException(bName + " has shape " + Arrays.toString(b.shape()) + " but " + aName
                    + " has shape " + Arrays.toString(a.shape()) + "; they must be equal");
        }
    }

    private static int checkedLength(String name, Tensor t) {
        if (t.elementCount() > ReferenceKernels.MAX_ARRAY_LENGTH) {
            throw new IllegalArgumentException(name + " " + Arrays.toString(t.shape()) + " has " + t.elementCount()
                    + " elements; the pure-Java reference handles at most " + ReferenceKernels.MAX_ARRAY_LENGTH);
        }
        return (int) t.elementCount();
    }

    private static double[] doubles(String name, Tensor t) {
        checkedLength(name, t);
        float[] f = t.toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static void write(Tensor t, double[] values) {
        t.copyFrom(ReferenceBackend.toFloats(values));
    }
}
