package io.github.panamacnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Objects;

/**
 * Adam with PyTorch's update rule ({@code torch.optim.Adam}, no amsgrad), for every parameter of a
 * layer that requires a gradient (frozen ones are skipped and do not advance their step count):
 * <pre>
 *   t = t + 1
 *   g = grad + weightDecay * p                     (L2 penalty, when weightDecay != 0)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g * g
 *   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * As in PyTorch, the bias corrections and the step size are computed in double, the element-wise
 * work in float32 with the same operation order and roundings, and {@code eps} is added outside the
 * square root. For bit-level parity pass the hyper-parameters as the same doubles PyTorch gets
 * (e.g. {@code 1e-3}, not {@code 1e-3f}).
 *
 * <pre>{@code
 * Adam adam = Adam.builder(net, 1e-3).build();     // betas (0.9, 0.999), eps 1e-8
 * loss.forward(net.forward(x), labels); net.backward(loss.backward()); adam.step();
 * }</pre>
 *
 * <p>{@link #step()} allocates nothing (the moment buffers are allocated once, on the first step
 * that updates their parameter). The optimizer owns its buffers: {@link #close()} frees them.
 * Not thread-safe.
 */
public final class Adam implements AutoCloseable {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private final List<Parameter> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final MemorySegment[] firstMoments;
    private final MemorySegment[] secondMoments;
    private final long[] steps;
    private final Arena arena = Arena.ofShared();
    private double lr;
    private boolean closed;

    private Adam(Builder b) {
        this.params = List.copyOf(b.layer.parameters());
        this.lr = b.lr;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
        this.weightDecay = b.weightDecay;
        this.firstMoments = new MemorySegment[params.size()];
        this.secondMoments = new MemorySegment[params.size()];
        this.steps = new long[params.size()];
    }

    /** An Adam optimizer over {@code layer.parameters()} with learning rate {@code lr} (>= 0, finite). */
    public static Builder builder(Layer layer, double lr) {
        return new Builder(layer, lr);
    }

    /** Options of {@link Adam}; defaults betas (0.9, 0.999), eps 1e-8, weight decay 0 (PyTorch's). */
    public static final class Builder {
        private final Layer layer;
        private final double lr;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay;

        private Builder(Layer layer, double lr) {
            this.layer = Objects.requireNonNull(layer, "layer");
            this.lr = check("lr", lr);
        }

        /** The moment decay rates, each in [0, 1). */
        public Builder betas(double beta1, double beta2) {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("betas must be in [0, 1) but were (" + beta1 + ", " + beta2 + ")");
            }
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /** Added to the denominator (outside the square root), >= 0. */
        public Builder eps(double eps) {
            this.eps = check("eps", eps);
            return this;
        }

        /** L2 penalty added to the gradient (PyTorch's Adam, not AdamW), >= 0. */
        public Builder weightDecay(double weightDecay) {
            this.weightDecay = check("weightDecay", weightDecay);
            return this;
        }

        public Adam build() {
            return new Adam(this);
        }
    }

    private static double check(String name, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0 but was " + v);
        }
        return v;
    }

    /** Updates every parameter that requires a gradient from its current gradient. Allocates nothing after the first step. */
    public void step() {
        if (closed) {
            throw new IllegalStateException("this Adam is closed");
        }
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            if (!p.requiresGrad()) {
                continue;
            }
            long n = p.value().elementCount();
            if (firstMoments[i] == null) {
                firstMoments[i] = arena.allocate(n * Float.BYTES, 64);
                secondMoments[i] = arena.allocate(n * Float.BYTES, 64);
            }
            long t = ++steps[i];
            double biasCorrection1 = 1 - Math.pow(beta1, t);
            double biasCorrection2 = 1 - Math.pow(beta2, t);
            double stepSize = lr / biasCorrection1;
            update(p.value().segment(), p.grad().segment(), firstMoments[i], secondMoments[i], n,
                    (float) -stepSize, (float) Math.sqrt(biasCorrection2));
        }
    }

    private void update(MemorySegment w, MemorySegment g, MemorySegment m, MemorySegment v, long n,
                        float negStepSize, float bc2Sqrt) {
        // PyTorch converts each Python scalar to the tensor's float type at the kernel call
        float b1 = (float) beta1;
        float oneMinusB1 = (float) (1 - beta1);
        float b2 = (float) beta2;
        float oneMinusB2 = (float) (1 - beta2);
        float e = (float) eps;
        float wd = (float) weightDecay;
        boolean decay = weightDecay != 0;
        for (long j = 0; j < n; j++) {
            float p = w.getAtIndex(F, j);
            float grad = decay ? Math.fma(wd, p, g.getAtIndex(F, j)) : g.getAtIndex(F, j); // add(p, alpha=wd)
            float mj = Math.fma(oneMinusB1, grad, b1 * m.getAtIndex(F, j));  // mul_(b1).add_(g, alpha=1-b1)
            float vj = b2 * v.getAtIndex(F, j) + oneMinusB2 * grad * grad;  // mul_(b2).addcmul_(g, g, value=1-b2)
            m.setAtIndex(F, j, mj);
            v.setAtIndex(F, j, vj);
            float denom = (float) Math.sqrt(vj) / bc2Sqrt + e;               // (sqrt(v) / bc2sqrt).add_(eps)
            w.setAtIndex(F, j, p + negStepSize * mj / denom);               // addcdiv_(m, denom, value=-step)
        }
    }

    /** The learning rate. */
    public double learningRate() {
        return lr;
    }

    /** Changes the learning rate for the next steps (a schedule). */
    public void setLearningRate(double lr) {
        this.lr = check("lr", lr);
    }

    /** Frees the moment buffers. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "Adam(lr=" + lr + ", betas=(" + beta1 + ", " + beta2 + "), eps=" + eps + ", weightDecay="
                + weightDecay + ")";
    }
}
