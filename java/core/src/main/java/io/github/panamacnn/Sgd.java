package io.github.panamacnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Objects;

/**
 * Stochastic gradient descent with PyTorch's update rule ({@code torch.optim.SGD}, dampening 0),
 * for every parameter of a layer that requires a gradient (frozen ones are skipped):
 * <pre>
 *   d = grad + weightDecay * p                       (when weightDecay != 0)
 *   b = d on the first step, else momentum * b + d   (when momentum != 0)
 *   d = nesterov ? d + momentum * b : b              (when momentum != 0)
 *   p = p - lr * d
 * </pre>
 * Each line rounds to float32 the way PyTorch's CPU kernels do ({@code add(x, alpha=a)} is one fused
 * multiply-add, {@code mul_} rounds on its own), so results match PyTorch to the last bit or so.
 *
 * <pre>{@code
 * Sgd sgd = Sgd.builder(net, 0.01f).momentum(0.9f).weightDecay(5e-4f).build();
 * loss.forward(net.forward(x), labels); net.backward(loss.backward()); sgd.step();
 * }</pre>
 *
 * <p>{@link #step()} allocates nothing (momentum buffers are allocated once, on the first step that
 * updates their parameter) and reads the gradients of the last backward. The optimizer owns its
 * buffers: {@link #close()} frees them. Not thread-safe.
 */
public final class Sgd implements AutoCloseable {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private final List<Parameter> params;
    private final float momentum;
    private final float weightDecay;
    private final boolean nesterov;
    private final MemorySegment[] buffers; // momentum buffers, null until the first update
    private final Arena arena = Arena.ofShared();
    private float lr;
    private boolean closed;

    private Sgd(Builder b) {
        this.params = List.copyOf(b.layer.parameters());
        this.lr = b.lr;
        this.momentum = b.momentum;
        this.weightDecay = b.weightDecay;
        this.nesterov = b.nesterov;
        this.buffers = new MemorySegment[params.size()];
    }

    /** An SGD optimizer over {@code layer.parameters()} with learning rate {@code lr} (>= 0, finite). */
    public static Builder builder(Layer layer, float lr) {
        return new Builder(layer, lr);
    }

    /** Options of {@link Sgd}; defaults momentum 0, weight decay 0, no Nesterov. */
    public static final class Builder {
        private final Layer layer;
        private final float lr;
        private float momentum;
        private float weightDecay;
        private boolean nesterov;

        private Builder(Layer layer, float lr) {
            this.layer = Objects.requireNonNull(layer, "layer");
            this.lr = checkRate("lr", lr);
        }

        /** Momentum factor, >= 0 (0: plain SGD). */
        public Builder momentum(float momentum) {
            this.momentum = checkRate("momentum", momentum);
            return this;
        }

        /** L2 penalty added to the gradient, >= 0. */
        public Builder weightDecay(float weightDecay) {
            this.weightDecay = checkRate("weightDecay", weightDecay);
            return this;
        }

        /** Nesterov momentum (needs momentum > 0, like PyTorch). */
        public Builder nesterov(boolean nesterov) {
            this.nesterov = nesterov;
            return this;
        }

        public Sgd build() {
            if (nesterov && momentum <= 0) {
                throw new IllegalArgumentException("Nesterov momentum requires momentum > 0 but momentum is "
                        + momentum);
            }
            return new Sgd(this);
        }
    }

    static float checkRate(String name, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0 but was " + v);
        }
        return v;
    }

    /** Updates every parameter that requires a gradient from its current gradient. Allocates nothing after the first step. */
    public void step() {
        if (closed) {
            throw new IllegalStateException("this Sgd is closed");
        }
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            if (!p.requiresGrad()) {
                continue;
            }
            MemorySegment w = p.value().segment();
            MemorySegment g = p.grad().segment();
            long n = p.value().elementCount();
            if (momentum == 0) {
                plainStep(w, g, n);
            } else if (buffers[i] == null) {
                buffers[i] = arena.allocate(n * Float.BYTES, 64);
                momentumStep(w, g, buffers[i], n, true);
            } else {
                momentumStep(w, g, buffers[i], n, false);
            }
        }
    }

    private void plainStep(MemorySegment w, MemorySegment g, long n) {
        float negLr = -lr;
        float wd = weightDecay;
        for (long j = 0; j < n; j++) {
            float p = w.getAtIndex(F, j);
            float d = wd != 0 ? Math.fma(wd, p, g.getAtIndex(F, j)) : g.getAtIndex(F, j);
            w.setAtIndex(F, j, Math.fma(negLr, d, p));
        }
    }

    private void momentumStep(MemorySegment w, MemorySegment g, MemorySegment buf, long n, boolean first) {
        float negLr = -lr;
        float wd = weightDecay;
        float m = momentum;
        for (long j = 0; j < n; j++) {
            float p = w.getAtIndex(F, j);
            float d = wd != 0 ? Math.fma(wd, p, g.getAtIndex(F, j)) : g.getAtIndex(F, j);
            float b = first ? d : m * buf.getAtIndex(F, j) + d; // mul_ rounds, then add_ rounds: two roundings
            buf.setAtIndex(F, j, b);
            float step = nesterov ? Math.fma(m, b, d) : b;
            w.setAtIndex(F, j, Math.fma(negLr, step, p));
        }
    }

    /** The learning rate. */
    public float learningRate() {
        return lr;
    }

    /** Changes the learning rate for the next steps (a schedule). */
    public void setLearningRate(float lr) {
        this.lr = checkRate("lr", lr);
    }

    /** Frees the momentum buffers. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "Sgd(lr=" + lr + ", momentum=" + momentum + ", weightDecay=" + weightDecay
                + (nesterov ? ", nesterov" : "") + ")";
    }
}
