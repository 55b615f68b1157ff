package io.github.panamacnn.nativeimpl;

import io.github.panamacnn.Backend;
import io.github.panamacnn.BackendMismatchException;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.ConvAlgorithm;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.LinearGeometry;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.reference.ReferenceKernels;
import io.github.panamacnn.reference.ReferenceNetKernels;

import java.util.Objects;

/**
 * Runs the native kernels into the caller's outputs, recomputes every output with the reference
 * kernels on copies of the inputs, and throws {@link BackendMismatchException} when they disagree:
 * convolutions against the exact (double) result within {@link Tolerance}, max pooling bit-exactly
 * (values and indices). The message names the op, the geometry, the first offending index, both
 * values, the bound and the max error. For debugging and tests: slow, and limited to tensors of
 * fewer than 2^31 elements (Java arrays).
 */
public final class CheckedBackend implements Backend {
    private final Backend nativeBackend;

    CheckedBackend(Backend nativeBackend) {
        this.nativeBackend = Objects.requireNonNull(nativeBackend, "nativeBackend");
    }

    @Override
    public String name() {
        return "checked";
    }

    @Override
    public void conv2dForward(Conv2dGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        conv2dForward(g, ConvAlgorithm.AUTO, src, weights, bias, dst);
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
        conv2dBackwardData(g, ConvAlgorithm.AUTO, diffDst, weights, diffSrc);
    }

    /**
     * With an algorithm request: the native result is compared against the bound of the algorithm
     * that actually served the call ({@link ConvBound}: Winograd's when {@link NativeBackend#lastAlgorithm()} says
     * WINOGRAD, else the direct one).
     */
    @Override
    public void conv2dForward(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor src, Tensor weights, Tensor bias,
                              Tensor dst) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkForward(src, weights, bias, dst);
        float[] x = array("src", src);
        float[] w = array("weights", weights);
        float[] b = bias == null ? null : array("bias", bias);
        nativeBackend.conv2dForward(g, algorithm, src, weights, bias, dst);
        ConvAlgorithm served = ConvBound.lastServed(nativeBackend);
        float[] actual = array("dst", dst);
        double[] exact = new double[actual.length];
        ReferenceKernels.conv2dForward(g, toDouble(x, false), toDouble(w, false), toDouble(b, false), exact);
        ConvBound bound = ConvBound.forward(g, served, toDouble(x, true), toDouble(w, true), toDouble(b, true));
        fail("conv2dForward dst", g, bound.compare("dst", actual, exact));
    }

    @Override
    public void conv2dBackwardData(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor diffDst, Tensor weights,
                                   Tensor diffSrc) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkBackwardData(diffDst, weights, diffSrc);
        float[] dy = array("diffDst", diffDst);
        float[] w = array("weights", weights);
        array("diffSrc", diffSrc);
        nativeBackend.conv2dBackwardData(g, algorithm, diffDst, weights, diffSrc);
        ConvAlgorithm served = ConvBound.lastServed(nativeBackend);
        float[] actual = diffSrc.toArray();
        double[] exact = new double[actual.length];
        ReferenceKernels.conv2dBackwardData(g, toDouble(dy, false), toDouble(w, false), exact);
        ConvBound bound = ConvBound.backwardData(g, served, toDouble(dy, true), toDouble(w, true));
        fail("conv2dBackwardData diffSrc", g, bound.compare("diffSrc", actual, exact));
    }

    @Override
    public void conv2dBackwardWeights(Conv2dGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                      Tensor diffBias) {
        conv2dBackwardWeights(g, ConvAlgorithm.AUTO, src, diffDst, diffWeights, diffBias);
    }

    @Override
    public void conv2dBackwardWeights(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor src, Tensor diffDst,
                                      Tensor diffWeights, Tensor diffBias) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkBackwardWeights(src, diffDst, diffWeights, diffBias);
        float[] x = array("src", src);
        float[] dy = array("diffDst", diffDst);
        nativeBackend.conv2dBackwardWeights(g, algorithm, src, diffDst, diffWeights, diffBias);
        ConvAlgorithm served = ConvBound.lastServed(nativeBackend);
        float[] actualW = array("diffWeights", diffWeights);
        float[] actualB = diffBias == null ? null : diffBias.toArray();

        double[] exactW = new double[actualW.length];
        double[] exactB = actualB == null ? null : new double[actualB.length];
        ReferenceKernels.conv2dBackwardWeights(g, toDouble(x, false), toDouble(dy, false), exactW, exactB);
        double[] absDy = toDouble(dy, true);
        ConvBound bound = ConvBound.backwardWeights(g, served, toDouble(x, true), absDy);
        fail("conv2dBackwardWeights diffWeights", g, bound.compare("diffWeights", actualW, exactW));
        if (actualB != null) {
            fail("conv2dBackwardWeights diffBias", g,
                    ConvBound.backwardBias(g, absDy).compare("diffBias", actualB, exactB));
        }
    }

    /** Values and the mask (either kind: plane offsets or window taps) must equal the reference's exactly. */
    @Override
    public void maxPool2dForward(MaxPool2dGeometry g, Tensor src, Tensor dst, IndexBuffer indices) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkForward(src, dst, indices);
        float[] x = array("src", src);
        array("dst", dst);
        nativeBackend.maxPool2dForward(g, src, dst, indices);

        float[] expected = new float[(int) g.dstElementCount()];
        int[] expectedMask = new int[expected.length];
        boolean taps = indices != null && indices.kind() == IndexBuffer.Kind.TAPS;
        if (taps) {
            ReferenceKernels.maxPool2dForwardTaps(g, x, expected, expectedMask);
        } else {
            ReferenceKernels.maxPool2dForward(g, x, expected, expectedMask);
        }
        fail("maxPool2dForward dst", g, Tolerance.compareExact("dst", dst.toArray(), expected));
        if (indices != null) {
            String name = taps ? "taps" : "indices";
            fail("maxPool2dForward " + name, g, Tolerance.compareExact(name, indices.toArray(), expectedMask));
        }
    }

    /** Bit for bit against the reference backward from the same mask. */
    @Override
    public void maxPool2dBackward(MaxPool2dGeometry g, Tensor diffDst, IndexBuffer indices, Tensor diffSrc) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkBackward(diffDst, indices, diffSrc);
        float[] dy = array("diffDst", diffDst);
        int[] mask = indices.toArray();
        array("diffSrc", diffSrc);
        nativeBackend.maxPool2dBackward(g, diffDst, indices, diffSrc);

        float[] expected = new float[(int) diffSrc.elementCount()];
        if (indices.kind() == IndexBuffer.Kind.TAPS) {
            ReferenceKernels.maxPool2dBackwardTaps(g, dy, mask, expected);
        } else {
            ReferenceKernels.maxPool2dBackward(g, dy, mask, expected);
        }
        fail("maxPool2dBackward diffSrc", g, Tolerance.compareExact("diffSrc", diffSrc.toArray(), expected));
    }

    // ---- fully connected: against the exact (double) result within gamma(K) ----------------------

    @Override
    public void linearForward(LinearGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkForward(src, weights, bias, dst);
        float[] x = array("src", src);
        float[] w = array("weights", weights);
        float[] b = bias == null ? null : array("bias", bias);
        nativeBackend.linearForward(g, src, weights, bias, dst);
        float[] actual = array("dst", dst);
        double[] exact = new double[actual.length];
        ReferenceNetKernels.linearForward(g, toDouble(x, false), toDouble(w, false), toDouble(b, false), exact);
        double[] s = new double[actual.length];
        ReferenceNetKernels.linearForward(g, toDouble(x, true), toDouble(w, true), toDouble(b, true), s);
        fail("linearForward dst", g, Tolerance.compareConv("dst", actual, exact, s, g.in() + (bias != null ? 1 : 0)));
    }

    @Override
    public void linearBackwardData(LinearGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkBackwardData(diffDst, weights, diffSrc);
        float[] dy = array("diffDst", diffDst);
        float[] w = array("weights", weights);
        array("diffSrc", diffSrc);
        nativeBackend.linearBackwardData(g, diffDst, weights, diffSrc);
        float[] actual = diffSrc.toArray();
        double[] exact = new double[actual.length];
        ReferenceNetKernels.linearBackwardData(g, toDouble(dy, false), toDouble(w, false), exact);
        double[] s = new double[actual.length];
        ReferenceNetKernels.linearBackwardData(g, toDouble(dy, true), toDouble(w, true), s);
        fail("linearBackwardData diffSrc", g, Tolerance.compareConv("diffSrc", actual, exact, s, g.out()));
    }

    @Override
    public void linearBackwardWeights(LinearGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                      Tensor diffBias) {
        Objects.requireNonNull(g, "geometry must not be null");
        g.checkBackwardWeights(src, diffDst, diffWeights, diffBias);
        float[] x = array("src", src);
        float[] dy = array("diffDst", diffDst);
        nativeBackend.linearBackwardWeights(g, src, diffDst, diffWeights, diffBias);
        float[] actualW = array("diffWeights", diffWeights);
        float[] actualB = diffBias == null ? null : diffBias.toArray();
        double[] exactW = new double[actualW.length];
        double[] exactB = actualB == null ? null : new double[actualB.length];
        ReferenceNetKernels.linearBackwardWeights(g, toDouble(x, false), toDouble(dy, false), exactW, exactB);
        double[] sW = new double[actualW.length];
        double[] sB = actualB == null ? null : new double[actualB.length];
        ReferenceNetKernels.linearBackwardWeights(g, toDouble(x, true), toDouble(dy, true), sW, sB);
        fail("linearBackwardWeights diffWeights", g, Tolerance.compareConv("diffWeights", actualW, exactW, sW, g.n()));
        if (actualB != null) {
            fail("linearBackwardWeights diffBias", g, Tolerance.compareConv("diffBias", actualB, exactB, sB, g.n()));
        }
    }

    // ---- ReLU: bit-exact ---------------------------------------------------------------------

    @Override
    public void reluForward(Tensor src, Tensor dst) {
        float[] x = array("src", src);
        nativeBackend.reluForward(src, dst);
        float[] expected = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            expected[i] = ReferenceNetKernels.reluForward(x[i]);
        }
        fail("reluForward dst", "count " + x.length, Tolerance.compareExact("dst", dst.toArray(), expected));
    }

    @Override
    public void reluBackward(Tensor dst, Tensor diffDst, Tensor diffSrc) {
        float[] y = array("dst", dst);
        float[] dy = array("diffDst", diffDst);
        nativeBackend.reluBackward(dst, diffDst, diffSrc);
        float[] expected = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            expected[i] = ReferenceNetKernels.reluBackward(y[i], dy[i]);
        }
        fail("reluBackward diffSrc", "count " + y.length, Tolerance.compareExact("diffSrc", diffSrc.toArray(), expected));
    }

    // ---- softmax cross-entropy: both compute in double and round once ----------------------------

    @Override
    public float crossEntropyForward(Tensor logits, IndexBuffer labels) {
        NativeBackend.checkCrossEntropy(logits, labels, null);
        float actual = nativeBackend.crossEntropyForward(logits, labels);
        int n = (int) logits.dim(0), c = (int) logits.dim(1);
        double exact = ReferenceNetKernels.crossEntropy(n, c, toDouble(array("logits", logits), false),
                labels.toArray(), null);
        fail("crossEntropyForward loss", "n=" + n + ", classes=" + c,
                Tolerance.compareLoss("loss", new float[] {actual}, new double[] {exact}));
        return actual;
    }

    @Override
    public void crossEntropyBackward(Tensor logits, IndexBuffer labels, Tensor diffLogits) {
        NativeBackend.checkCrossEntropy(logits, labels, diffLogits);
        nativeBackend.crossEntropyBackward(logits, labels, diffLogits);
        int n = (int) logits.dim(0), c = (int) logits.dim(1);
        double[] exact = new double[n * c];
        ReferenceNetKernels.crossEntropy(n, c, toDouble(array("logits", logits), false), labels.toArray(), exact);
        fail("crossEntropyBackward diffLogits", "n=" + n + ", classes=" + c,
                Tolerance.compareLoss("diffLogits", diffLogits.toArray(), exact));
    }

    private static void fail(String op, Object geometry, String mismatch) {
        if (mismatch != null) {
            throw new BackendMismatchException("native and reference disagree in " + op + " for " + geometry + ": "
                    + mismatch);
        }
    }

    private static float[] array(String name, Tensor t) {
        if (t.elementCount() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(name + " has " + t.elementCount()
                    + " elements: too large for the checked backend (Java arrays)");
        }
        return t.toArray();
    }

    private static double[] toDouble(float[] a, boolean abs) {
        if (a == null) {
            return null;
        }
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = abs ? Math.abs((double) a[i]) : a[i];
        }
        return d;
    }

    @Override
    public String toString() {
        return "CheckedBackend[" + nativeBackend + " vs reference]";
    }
}
