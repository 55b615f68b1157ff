package io.github.panamacnn;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A fully connected layer, like PyTorch's {@code nn.Linear}: {@code y = x W^T + b} with input
 * {@code [n, inFeatures]}, weights {@code [outFeatures, inFeatures]}, bias {@code [outFeatures]},
 * output {@code [n, outFeatures]}. Put a {@link Flatten} in front of it to feed it images.
 *
 * <p><b>Initialisation</b> (PyTorch's default, {@code kaiming_uniform_(a=sqrt(5))} for the weights):
 * weights and bias drawn from {@code U(-1/sqrt(inFeatures), 1/sqrt(inFeatures))} by
 * {@code new SplittableRandom(seed)}, weights in row-major order first, then the bias. Default seed 0.
 *
 * <p><b>Ownership</b> as for every {@link Layer} ({@code docs/ownership.md}): output and input
 * gradient belong to the layer; backward reads the last forward's input, which the caller keeps open
 * and unchanged until then. Parameters and gradients belong to the layer and are freed by {@link #close()}.
 */
public final class Linear extends AbstractLayer {
    private final int inFeatures, outFeatures;
    private final long seed;
    private final Backend backend;
    private final Tensor weight, bias, weightGrad, biasGrad; // bias, biasGrad null without bias
    private final Parameter weightParam, biasParam;
    private final List<Parameter> parameters;

    private LinearGeometry geometry; // of the last forward
    private Tensor lastInput; // null unless a training-mode forward is recorded
    private Tensor output;
    private Tensor gradInput;

    private Linear(Builder b, Backend backend) {
        super("Linear", true);
        this.inFeatures = b.in;
        this.outFeatures = b.out;
        this.seed = b.seed;
        this.backend = backend;
        Tensor w = null, bi = null, wg = null, bg = null;
        try {
            w = Tensor.zeros(outFeatures, inFeatures);
            wg = Tensor.zeros(outFeatures, inFeatures);
            if (b.bias) {
                bi = Tensor.zeros(outFeatures);
                bg = Tensor.zeros(outFeatures);
            }
            SplittableRandom random = new SplittableRandom(seed);
            double bound = 1.0 / Math.sqrt(inFeatures);
            LayerBuffers.uniform(random, w, bound);
            if (bi != null) {
                LayerBuffers.uniform(random, bi, bound);
            }
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

    /** A builder for a layer from {@code inFeatures} to {@code outFeatures}. Defaults: bias, seed 0, default backend. */
    public static Builder builder(int inFeatures, int outFeatures) {
        return new Builder(inFeatures, outFeatures);
    }

    /** Builder of {@link Linear}; {@link #build()} validates. */
    public static final class Builder {
        private final int in, out;
        private boolean bias = true;
        private long seed;
        private Backend backend;

        private Builder(int in, int out) {
            this.in = in;
            this.out = out;
        }

        /** Whether the layer has a bias (default true). */
        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /** Seed of the {@link SplittableRandom} that draws the initial parameters (default 0). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Where the kernels run; default {@link Backend#defaultBackend()}. */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /** @throws IllegalArgumentException when a size is not positive */
        public Linear build() {
            Conv2dGeometry.positive("inFeatures", in);
            Conv2dGeometry.positive("outFeatures", out);
            return new Linear(this, backend != null ? backend : Backend.defaultBackend());
        }
    }

    @Override
    Tensor runForward(Tensor input) {
        LinearGeometry g = geometryFor(input);
        lastInput = null;
        output = LayerBuffers.ensure(output, g.dstShapeRef());
        backend.linearForward(g, input, weight, bias, output);
        geometry = g;
        lastInput = isTraining() ? input : null;
        return output;
    }

    @Override
    Tensor runBackward(Tensor gradOutput) {
        LinearGeometry g = geometry;
        Tensor x = lastInput;
        if (x == null) {
            throw nothingRecorded();
        }
        checkRecordedInputOpen(x, g.srcShapeRef());
        checkGradOutput(gradOutput, g.dstShapeRef());
        boolean wantW = weightParam.requiresGrad();
        boolean wantB = biasParam != null && biasParam.requiresGrad();
        if (wantW) {
            backend.linearBackwardWeights(g, x, gradOutput, weightGrad, wantB ? biasGrad : null);
        } else if (wantB) {
            LayerBuffers.sumBias(gradOutput, g.n(), g.out(), 1, biasGrad);
        }
        if (!isInputGradientRequired()) {
            return null;
        }
        gradInput = LayerBuffers.ensure(gradInput, g.srcShapeRef());
        backend.linearBackwardData(g, gradOutput, weight, gradInput);
        return gradInput;
    }

    private LinearGeometry geometryFor(Tensor input) {
        Objects.requireNonNull(input, "input");
        input.checkAlive("input");
        LinearGeometry last = geometry;
        if (last != null && input.hasShape(last.srcShapeRef())) {
            return last;
        }
        if (input.rank() != 2 || input.dim(1) != inFeatures) {
            throw new IllegalArgumentException(this + " needs an input of shape [n, " + inFeatures + "] but got "
                    + Arrays.toString(input.shape()) + (input.rank() > 2 ? " (put a Flatten in front of it)" : ""));
        }
        return LinearGeometry.of(input.dim(0), inFeatures, outFeatures);
    }

    /** The weights {@code [outFeatures, inFeatures]}, owned by the layer. */
    public Tensor weight() {
        checkOpen();
        return weight;
    }

    /** The bias {@code [outFeatures]}, owned by the layer; null without bias. */
    public Tensor bias() {
        checkOpen();
        return bias;
    }

    /** The weight gradient of the last backward (zeros before the first). */
    public Tensor weightGrad() {
        checkOpen();
        return weightGrad;
    }

    /** The bias gradient of the last backward; null without bias. */
    public Tensor biasGrad() {
        checkOpen();
        return biasGrad;
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    public long seed() {
        return seed;
    }

    public Backend backend() {
        return backend;
    }

    @Override
    public List<Parameter> parameters() {
        checkOpen();
        return parameters;
    }

    @Override
    void forgetForward() {
        lastInput = null;
    }

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
        return "Linear(" + inFeatures + " -> " + outFeatures + ", bias=" + (bias != null) + closedSuffix()
                + ")";
    }
}
