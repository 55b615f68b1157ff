package io.github.panamacnn;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A 2-D convolution layer over NCHW float32 tensors, shaped like PyTorch's {@code nn.Conv2d}:
 * weights {@code [outChannels][inChannels/groups][kernelH][kernelW]} (OIHW), optional bias
 * {@code [outChannels]}, stride, asymmetric zero padding, dilation (1 = dense) and groups.
 *
 * <pre>{@code
 * try (Conv2d conv = Conv2d.builder(3, 16, 3, 3).padding(1).seed(42).build();
 *      Tensor x = Tensor.of(data, 8, 3, 32, 32)) {
 *     Tensor y = conv.forward(x);          // [8, 16, 32, 32], owned by conv
 *     Tensor dx = conv.backward(dy);       // fills conv.weightGrad() and conv.biasGrad()
 * }
 * }</pre>
 *
 * <p><b>Initialisation.</b> PyTorch's default for {@code nn.Conv2d}: {@code kaiming_uniform_(a=sqrt(5))}
 * for the weights, whose bound {@code gain*sqrt(3/fanIn)} with {@code gain = sqrt(2/(1+a^2)) = sqrt(1/3)}
 * is {@code 1/sqrt(fanIn)}, and the same bound for the bias: every weight and every bias is drawn from
 * {@code U(-1/sqrt(fanIn), 1/sqrt(fanIn))}, {@code fanIn = (inChannels/groups)*kernelH*kernelW} (this is
 * not He-uniform's {@code sqrt(6/fanIn)}, which PyTorch does not use by default); the draws come from
 * {@code new SplittableRandom(seed)} (weights in OIHW order first, then the bias), so the same
 * seed gives the same parameters. The default seed is 0.
 *
 * <p><b>Ownership.</b> The tensor returned by {@link #forward} and the tensor returned by
 * {@link #backward} are owned by the layer: they stay valid until the next {@code forward}
 * (respectively {@code backward}) with a different input shape, or until {@link #close()}; do not
 * close them yourself (if you do, the layer allocates a fresh one next time). With an unchanged
 * input shape the same tensor objects are overwritten, so a steady-state training loop allocates
 * no native memory. {@link #backward} reads the input of the last forward: the caller owns that
 * input and must keep it open until backward has run. {@link #weight()}, {@link #bias()},
 * {@link #weightGrad()} and {@link #biasGrad()} are owned by the layer and freed by {@link #close()};
 * they may be modified in place (e.g. by an optimizer). After {@code close()} every method except
 * {@code close()} throws {@link IllegalStateException}.
 *
 * <p>As a {@link Layer}: {@link #parameters()} are {@code "weight"} and {@code "bias"}; a frozen
 * parameter ({@link Parameter#requiresGrad(boolean)}) gets no gradient; with
 * {@link #setInputGradientRequired(boolean) setInputGradientRequired(false)} backward skips the
 * backward-data pass and returns null; in {@link #eval()} mode forward records nothing. The full
 * ownership rules: {@code docs/ownership.md}.
 *
 * <p>Gradients are overwritten by each backward, never accumulated.
 *
 * <p><b>Threads.</b> A layer serves one thread at a time (it owns its outputs): a {@code forward},
 * {@code backward} or {@code close()} that starts while another thread is inside {@code forward} or
 * {@code backward} throws {@link IllegalStateException}. Use one layer per thread, or call the
 * {@link Backend} methods, which many threads may call at once on their own tensors (see docs/concurrency.md).
 */
public final class Conv2d extends AbstractLayer {
    private final int inChannels, outChannels, kernelH, kernelW;
    private final int strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, groups;
    private final long seed;
    private final Backend backend;
    private final ConvAlgorithm algorithm;

    private final Tensor weight;
    private final Tensor bias; // null without bias
    private final Tensor weightGrad;
    private final Tensor biasGrad; // null without bias

    private final Parameter weightParam;
    private final Parameter biasParam; // null without bias
    private final List<Parameter> parameters;
    private Conv2dGeometry geometry; // of the last forward
    private Tensor lastInput; // null unless a training-mode forward is recorded
    private Tensor output;
    private Tensor gradInput;

    private Conv2d(Builder b, Backend backend) {
        super("Conv2d", true);
        this.inChannels = b.inChannels;
        this.outChannels = b.outChannels;
        this.kernelH = b.kernelH;
        this.kernelW = b.kernelW;
        this.strideH = b.strideH;
        this.strideW = b.strideW;
        this.padTop = b.padTop;
        this.padBottom = b.padBottom;
        this.padLeft = b.padLeft;
        this.padRight = b.padRight;
        this.dilationH = b.dilationH;
        this.dilationW = b.dilationW;
        this.groups = b.groups;
        this.seed = b.seed;
        this.backend = backend;
        this.algorithm = b.algorithm;
        long[] wShape = {outChannels, inChannels / groups, kernelH, kernelW};
        Tensor w = null, bi = null, wg = null, bg = null;
        try {
            w = Tensor.zeros(wShape);
            wg = Tensor.zeros(wShape);
            if (b.bias) {
                bi = Tensor.zeros(outChannels);
                bg = Tensor.zeros(outChannels);
            }
            initialise(w, bi, (long) (inChannels / groups) * kernelH * kernelW, seed);
        } catch (RuntimeException | OutOfMemoryError e) {
            for (Tensor t : new Tensor[] {w, bi, wg, bg}) {
                if (t != null) {
                    t.close();
                }
            }
            throw e;
        }
        this.weight = w;
        this.bias = bi;
        this.weightGrad = wg;
        this.biasGrad = bg;
        this.weightParam = Parameter.of("weight", w, wg);
        this.biasParam = bi == null ? null : Parameter.of("bias", bi, bg);
        this.parameters = biasParam == null ? List.of(weightParam) : List.of(weightParam, biasParam);
    }

    /** PyTorch's default: weights and bias from U(-1/sqrt(fanIn), 1/sqrt(fanIn)), drawn from {@code new SplittableRandom(seed)}. */
    private static void initialise(Tensor weight, Tensor bias, long fanIn, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double wBound = 1.0 / Math.sqrt(fanIn);
        MemorySegment ws = weight.segment();
        for (long i = 0, count = weight.elementCount(); i < count; i++) {
            ws.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) uniform(random, wBound));
        }
        if (bias != null) {
            double bBound = 1.0 / Math.sqrt(fanIn);
            MemorySegment bs = bias.segment();
            for (long i = 0, count = bias.elementCount(); i < count; i++) {
                bs.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) uniform(random, bBound));
            }
        }
    }

    /** A draw from U(-bound, bound); the float rounding can reach +-bound but never exceed it. */
    private static double uniform(SplittableRandom random, double bound) {
        return random.nextDouble(-bound, bound);
    }

    /**
     * A builder for a convolution with {@code inChannels} input channels, {@code outChannels}
     * output channels and a {@code kernelH x kernelW} kernel. Defaults: stride 1, padding 0,
     * dilation 1, groups 1, with bias, {@link Backend#defaultBackend()}, seed 0.
     */
    public static Builder builder(int inChannels, int outChannels, int kernelH, int kernelW) {
        return new Builder(inChannels, outChannels, kernelH, kernelW);
    }

    /**
     * Builder of {@link Conv2d}; setters do not validate, {@link #build()} does. Stride, padding
     * (zeros), dilation and backend: the setters shared with {@link MaxPool2d.Builder}.
     */
    public static final class Builder extends WindowBuilder<Builder> {
        private final int inChannels, outChannels;
        private int groups = 1;
        private boolean bias = true;
        private long seed;
        private ConvAlgorithm algorithm;

        private Builder(int inChannels, int outChannels, int kernelH, int kernelW) {
            super(kernelH, kernelW, 1, 1);
            this.inChannels = inChannels;
            this.outChannels = outChannels;
        }

        /** Groups; must divide both channel counts ({@code groups == inChannels == outChannels} is depthwise). */
        public Builder groups(int g) {
            this.groups = g;
            return this;
        }

        /** Whether the layer has a bias (default true). */
        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /**
         * The convolution algorithm of forward and backward-data (default: {@link ConvAlgorithm#defaultAlgorithm()},
         * read at {@link #build()}). {@link ConvAlgorithm#WINOGRAD} needs a 3x3 kernel, stride 1 and dilation 1,
         * {@link ConvAlgorithm#DEPTHWISE} needs {@code groups == inChannels == outChannels}: {@link #build()}
         * rejects anything else.
         */
        public Builder algorithm(ConvAlgorithm algorithm) {
            this.algorithm = Objects.requireNonNull(algorithm, "algorithm must not be null");
            return this;
        }

        /** Seed of the {@link SplittableRandom} that draws the initial parameters (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Validates everything that does not depend on the input and allocates the parameters.
         *
         * @throws IllegalArgumentException naming the parameter and its value
         */
        public Conv2d build() {
            Conv2dGeometry.positive("inChannels", inChannels);
            Conv2dGeometry.positive("outChannels", outChannels);
            checkWindow();
            Conv2dGeometry.positive("groups", groups);
            if (inChannels % groups != 0) {
                throw new IllegalArgumentException("groups (" + groups + ") must divide inChannels (" + inChannels
                        + ")");
            }
            if (outChannels % groups != 0) {
                throw new IllegalArgumentException("groups (" + groups + ") must divide outChannels (" + outChannels
                        + ")");
            }
            Conv2dGeometry.checkedProduct("weights element count outChannels*(inChannels/groups)*kernelH*kernelW",
                    outChannels, inChannels / groups, kernelH, kernelW);
            Conv2dGeometry.addExact("dilated kernel height",
                    Conv2dGeometry.mulExact("dilated kernel height", dilationH, kernelH - 1L), 1);
            Conv2dGeometry.addExact("dilated kernel width",
                    Conv2dGeometry.mulExact("dilated kernel width", dilationW, kernelW - 1L), 1);
            if (algorithm == null) {
                algorithm = ConvAlgorithm.defaultAlgorithm();
            }
            if (!algorithm.supports(kernelH, kernelW, strideH, strideW, dilationH, dilationW)) {
                throw new IllegalArgumentException("algorithm " + algorithm + " needs " + algorithm.geometryRequirement()
                        + " but this convolution has kernel " + kernelH + "x" + kernelW + ", stride " + strideH
                        + "x" + strideW + ", dilation " + dilationH + "x" + dilationW
                        + " (use ConvAlgorithm.AUTO or DIRECT)");
            }
            if (!algorithm.supportsPadding(padTop, padBottom, padLeft, padRight)) {
                throw new IllegalArgumentException("algorithm " + algorithm + " needs no padding but this convolution"
                        + " has padding top " + padTop + ", bottom " + padBottom + ", left " + padLeft + ", right "
                        + padRight + " (use ConvAlgorithm.AUTO or DIRECT)");
            }
            if (!algorithm.supportsChannels(inChannels, outChannels, groups)) {
                throw new IllegalArgumentException("algorithm DEPTHWISE needs groups == inChannels == outChannels but "
                        + "this convolution has inChannels " + inChannels + ", outChannels " + outChannels + ", groups "
                        + groups + " (use ConvAlgorithm.AUTO or DIRECT)");
            }
            return new Conv2d(this, resolvedBackend());
        }
    }

    // ---------------------------------------------------------------- forward / backward

    /**
     * {@code conv(input, weight) + bias}. The input must be open, rank 4 {@code [n][inChannels][ih][iw]},
     * and large enough for the dilated kernel once padded. The result is owned by the layer (see the
     * class comment); the input must stay open until {@link #backward} has run.
     *
     * @throws IllegalArgumentException for a bad shape (the message names it)
     * @throws IllegalStateException when the layer or the input is closed
     */
    Tensor runForward(Tensor input) {
        Conv2dGeometry g = geometryFor(input);
        lastInput = null;
        output = LayerBuffers.ensure(output, g.dstShapeRef());
        backend.conv2dForward(g, algorithm, input, weight, bias, output);
        geometry = g;
        lastInput = isTraining() ? input : null;
        return output;
    }

    /**
     * Backward pass of the last {@link #forward}: returns the gradient with respect to its input
     * (owned by the layer; null when {@link #setInputGradientRequired(boolean) not required}) and
     * overwrites {@link #weightGrad()} and {@link #biasGrad()} (each unless its parameter is frozen).
     *
     * @throws IllegalStateException when no forward ran, or the last forward's input has been closed
     * @throws IllegalArgumentException when {@code gradOutput}'s shape is not the last forward's output shape
     */
    Tensor runBackward(Tensor gradOutput) {
        Conv2dGeometry g = geometry;
        Tensor x = lastInput;
        if (x == null) {
            throw nothingRecorded();
        }
        checkRecordedInputOpen(x, g.srcShapeRef());
        checkGradOutput(gradOutput, g.dstShapeRef());
        boolean wantW = weightParam.requiresGrad();
        boolean wantB = biasParam != null && biasParam.requiresGrad();
        if (wantW) {
            backend.conv2dBackwardWeights(g, algorithm, x, gradOutput, weightGrad, wantB ? biasGrad : null);
        } else if (wantB) {
            LayerBuffers.sumBias(gradOutput, g.n(), g.oc(), g.oh() * g.ow(), biasGrad);
        }
        if (!isInputGradientRequired()) {
            return null;
        }
        gradInput = LayerBuffers.ensure(gradInput, g.srcShapeRef());
        backend.conv2dBackwardData(g, algorithm, gradOutput, weight, gradInput);
        return gradInput;
    }

    /**
     * The output shape for an input of shape {@code inputShape} ({@code [n, inChannels, ih, iw]}),
     * without running anything.
     *
     * @throws IllegalArgumentException when the layer cannot take such an input
     */
    public long[] outputShape(long... inputShape) {
        checkOpen();
        return geometryFor(inputShape).dstShape();
    }

    private Conv2dGeometry geometryFor(Tensor input) {
        Objects.requireNonNull(input, "input");
        input.checkAlive("input");
        Conv2dGeometry last = geometry;
        if (last != null && input.hasShape(last.srcShapeRef())) {
            return last;
        }
        return geometryFor(input.shape());
    }

    private Conv2dGeometry geometryFor(long[] s) {
        Objects.requireNonNull(s, "inputShape");
        if (s.length != 4) {
            throw new IllegalArgumentException("input must have rank 4 [n, c, h, w] but has shape "
                    + Arrays.toString(s) + " (rank " + s.length + ")");
        }
        if (s[1] != inChannels) {
            throw new IllegalArgumentException("input has " + s[1] + " channels but the layer expects " + inChannels
                    + " (input shape " + Arrays.toString(s) + ")");
        }
        return Conv2dGeometry.of(s[0], s[1], s[2], s[3], outChannels, kernelH, kernelW, strideH, strideW,
                padTop, padBottom, padLeft, padRight, dilationH, dilationW, groups);
    }

    // ---------------------------------------------------------------- accessors

    /** The weights {@code [outChannels][inChannels/groups][kernelH][kernelW]}, owned by the layer. */
    public Tensor weight() {
        checkOpen();
        return weight;
    }

    /** The bias {@code [outChannels]}, owned by the layer; null when built with {@code bias(false)}. */
    public Tensor bias() {
        checkOpen();
        return bias;
    }

    /** The weight gradient of the last backward (zeros before the first one), owned by the layer. */
    public Tensor weightGrad() {
        checkOpen();
        return weightGrad;
    }

    /** The bias gradient of the last backward (zeros before the first one); null without bias. */
    public Tensor biasGrad() {
        checkOpen();
        return biasGrad;
    }

    /**
     * The geometry of the last forward.
     *
     * @throws IllegalStateException when no forward has run yet
     */
    public Conv2dGeometry geometry() {
        checkOpen();
        if (geometry == null) {
            throw new IllegalStateException("no forward has run yet, so there is no geometry");
        }
        return geometry;
    }

    public int inChannels() {
        checkOpen();
        return inChannels;
    }

    public int outChannels() {
        checkOpen();
        return outChannels;
    }

    public int kernelH() {
        checkOpen();
        return kernelH;
    }

    public int kernelW() {
        checkOpen();
        return kernelW;
    }

    /** The convolution algorithm requested for forward and backward-data. */
    public ConvAlgorithm algorithm() {
        return algorithm;
    }

    public int groups() {
        checkOpen();
        return groups;
    }

    /** {@code (inChannels/groups) * kernelH * kernelW}: the fan-in used by the initialisation. */
    public long fanIn() {
        checkOpen();
        return (long) (inChannels / groups) * kernelH * kernelW;
    }

    /** The seed the parameters were drawn with. */
    public long seed() {
        checkOpen();
        return seed;
    }

    public Backend backend() {
        checkOpen();
        return backend;
    }

    /** {@code "weight"} and (with a bias) {@code "bias"}, sharing the layer's tensors. */
    @Override
    public List<Parameter> parameters() {
        checkOpen();
        return parameters;
    }

    @Override
    void forgetForward() {
        lastInput = null;
    }

    /** Frees the parameters, gradients and the layer's forward/backward results. Idempotent. */
    @Override
    void freeOwned() {
        for (Tensor t : new Tensor[] {weight, bias, weightGrad, biasGrad, output, gradInput}) {
            if (t != null) {
                t.close();
            }
        }
        output = null;
        gradInput = null;
        lastInput = null;
        geometry = null;
    }

    @Override
    public String toString() {
        return "Conv2d(" + inChannels + " -> " + outChannels + ", kernel=" + kernelH + "x" + kernelW + ", stride="
                + strideH + "x" + strideW + ", pad(t,b,l,r)=" + padTop + "," + padBottom + "," + padLeft + ","
                + padRight + ", dilation=" + dilationH + "x" + dilationW + ", groups=" + groups + ", bias="
                + (bias != null) + closedSuffix() + ")";
    }
}
