package io.github.panamacnn;

import java.util.Arrays;
import java.util.Objects;

/**
 * What every layer shares, so that each layer class holds only its own computation: the
 * one-thread-at-a-time guard around {@code forward}, {@code backward} and {@code close}
 * ({@link LayerGuard}, docs/concurrency.md), training / eval mode, the input-gradient flag, and the
 * checks a backward call makes before it touches memory.
 *
 * <p>A subclass implements {@link #runForward} and {@link #runBackward} (called with the guard held),
 * {@link #forgetForward} (what {@link #eval()} drops, so that a backward after it throws) and
 * {@link #freeOwned} (called once, by the first {@link #close()}).
 */
abstract class AbstractLayer implements Layer {
    private final String name;
    private final LayerGuard guard;
    private boolean training = true;
    private boolean inputGradRequired;

    /**
     * @param name the class name used in messages ("Conv2d")
     * @param inputGradRequired the initial input-gradient flag (true for a layer, false for a network,
     *        whose input is data)
     */
    AbstractLayer(String name, boolean inputGradRequired) {
        this.name = name;
        this.guard = new LayerGuard(name);
        this.inputGradRequired = inputGradRequired;
    }

    @Override
    public final Tensor forward(Tensor input) {
        guard.enter("forward");
        try {
            return runForward(input);
        } finally {
            guard.exit();
        }
    }

    @Override
    public final Tensor backward(Tensor gradOutput) {
        guard.enter("backward");
        try {
            return runBackward(gradOutput);
        } finally {
            guard.exit();
        }
    }

    /** The forward computation; the guard is held. */
    abstract Tensor runForward(Tensor input);

    /** The backward computation; the guard is held. */
    abstract Tensor runBackward(Tensor gradOutput);

    /** Drops what the last training-mode forward recorded, so that a backward now throws. */
    abstract void forgetForward();

    /** Frees what the layer owns; called once, by the first {@link #close()}. */
    abstract void freeOwned();

    @Override
    public void setInputGradientRequired(boolean required) {
        inputGradRequired = required;
    }

    @Override
    public final boolean isInputGradientRequired() {
        return inputGradRequired;
    }

    @Override
    public void train() {
        training = true;
    }

    @Override
    public void eval() {
        training = false;
        forgetForward();
    }

    @Override
    public final boolean isTraining() {
        return training;
    }

    /** True once {@link #close()} has run. */
    public final boolean isClosed() {
        return guard.isClosed();
    }

    /** Frees everything the layer owns. Idempotent; throws if a forward or backward runs on another thread. */
    @Override
    public final void close() {
        if (guard.beginClose()) {
            freeOwned();
        }
    }

    /** @throws IllegalStateException when the layer is closed */
    final void checkOpen() {
        guard.checkOpen();
    }

    /** {@code ", closed"} for a closed layer's {@code toString}, else empty. */
    final String closedSuffix() {
        return guard.isClosed() ? ", closed" : "";
    }

    /** The exception of a backward that has no recorded training-mode forward to go back through. */
    final IllegalStateException nothingRecorded() {
        return new IllegalStateException(training ? name + ".backward called before forward"
                : name + " is in eval mode: forward recorded nothing, call train() before a forward to backpropagate");
    }

    /** Backward reads the last forward's input: it must still be open. */
    static void checkRecordedInputOpen(Tensor input, long[] inputShape) {
        if (!input.isAlive()) {
            throw new IllegalStateException("the input of the last forward " + Arrays.toString(inputShape)
                    + " has been closed; keep it open until backward has run");
        }
    }

    /** {@code gradOutput} must be non-null, open, and of the last forward's output shape. */
    static void checkGradOutput(Tensor gradOutput, long[] outputShape) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        gradOutput.checkAlive("gradOutput");
        if (!gradOutput.hasShape(outputShape)) {
            throw new IllegalArgumentException("gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + " but the last forward produced " + Arrays.toString(outputShape));
        }
    }

    /** {@link #checkGradOutput(Tensor, long[])} against the last output itself (no shape copy). */
    static void checkGradOutput(Tensor gradOutput, Tensor output) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        gradOutput.checkAlive("gradOutput");
        if (!gradOutput.hasSameShape(output)) {
            throw new IllegalArgumentException("gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + " but the last forward produced " + Arrays.toString(output.shape()));
        }
    }
}
