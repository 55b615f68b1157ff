package io.github.panamacnn;

import java.util.List;

/**
 * A building block of a network, shaped like PyTorch's {@code nn.Module}: {@link Conv2d},
 * {@link MaxPool2d}, {@link ReLU}, {@link Flatten}, {@link Linear}, and {@link Sequential}, which
 * chains them.
 *
 * <p><b>Ownership</b> (the full rules: {@code docs/ownership.md}). The tensor returned by
 * {@link #forward} (and by {@link #backward}) belongs to the layer: it is overwritten by the next
 * call with the same input shape and closed by a call with a different shape or by {@link #close()}.
 * Copy it ({@link Tensor#copy()}) to keep it longer. The caller keeps owning the input and must
 * keep it open, unchanged, until {@code backward} has run. One layer instance keeps the state of
 * one forward only, so it must not appear twice in a network.
 *
 * <p>Gradients are overwritten by each backward, never accumulated. Not thread-safe.
 */
public interface Layer extends AutoCloseable {

    /**
     * Runs the layer on {@code input}; in training mode records what {@link #backward} needs.
     *
     * @throws IllegalArgumentException when the layer cannot take an input of this shape (named in the message)
     * @throws IllegalStateException when the layer or the input is closed
     */
    Tensor forward(Tensor input);

    /**
     * Backward pass of the last training-mode {@link #forward}: fills the gradients of the parameters
     * that require one and returns dLoss/dInput (owned by the layer), or {@code null} when the input
     * gradient is not required (see {@link #setInputGradientRequired}).
     *
     * @throws IllegalStateException when no training-mode forward preceded it, or the layer is closed
     * @throws IllegalArgumentException when {@code gradOutput} does not have the last output's shape
     */
    Tensor backward(Tensor gradOutput);

    /** The parameters, in PyTorch {@code state_dict} order; empty for layers without any. Allocates nothing. */
    List<Parameter> parameters();

    /**
     * Whether {@link #backward} computes the input gradient (default true). {@link Sequential} turns it
     * off for layers in front of which nothing needs a gradient (its first layer, to start with), which
     * skips, for example, the first convolution's backward-data pass.
     */
    void setInputGradientRequired(boolean required);

    /** Whether {@link #backward} computes the input gradient. */
    boolean isInputGradientRequired();

    /** Training mode (the default): forward records what backward needs. */
    void train();

    /**
     * Inference mode: forward records nothing (max pooling computes no indices, nothing keeps the
     * input) and allocates nothing per call in steady state; {@link #backward} throws.
     */
    void eval();

    /** True in training mode. */
    boolean isTraining();

    /** Frees everything the layer owns (parameters, gradients, outputs). Idempotent. */
    @Override
    void close();
}
