package io.github.panamacnn;

import java.util.List;
import java.util.Objects;

/**
 * {@code y = max(x, 0)} element-wise, any shape, like PyTorch's {@code nn.ReLU}: a NaN stays NaN and
 * {@code -0.0} becomes {@code +0.0}. Backward uses the layer's own output, not the input, so the
 * caller may reuse the input once forward has returned: {@code dx = (y > 0 || isNaN(y)) ? dy : 0}
 * (as PyTorch's {@code threshold_backward}: the gradient passes through a NaN).
 *
 * <p>Ownership as for every {@link Layer} ({@code docs/ownership.md}): the output and the input
 * gradient belong to the layer and are reused while the shape stays the same. Do not modify the
 * output in place before backward: backward reads it.
 */
public final class ReLU implements Layer {
    private final Backend backend;
    private Tensor output;
    private Tensor gradInput;
    private boolean recorded; // a training-mode forward produced `output`
    private boolean training = true;
    private boolean inputGradRequired = true;
    private final LayerGuard guard = new LayerGuard("ReLU");

    /** A ReLU on {@link Backend#defaultBackend()}. */
    public ReLU() {
        this(Backend.defaultBackend());
    }

    /** A ReLU on {@code backend}. */
    public ReLU(Backend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
    }

    @Override
    public Tensor forward(Tensor input) {
        guard.enter("forward");
        try {
            return forwardInUse(input);
        } finally {
            guard.exit();
        }
    }

    private Tensor forwardInUse(Tensor input) {
        Objects.requireNonNull(input, "input");
        input.checkAlive("input");
        recorded = false;
        output = LayerBuffers.ensureLike(output, input);
        backend.reluForward(input, output);
        recorded = training;
        return output;
    }

    @Override
    public Tensor backward(Tensor gradOutput) {
        guard.enter("backward");
        try {
            return backwardInUse(gradOutput);
        } finally {
            guard.exit();
        }
    }

    private Tensor backwardInUse(Tensor gradOutput) {
        if (!recorded) {
            throw new IllegalStateException(training ? "ReLU.backward called before forward"
                    : "ReLU is in eval mode: forward recorded nothing, call train() before a forward to backpropagate");
        }
        Objects.requireNonNull(gradOutput, "gradOutput");
        gradOutput.checkAlive("gradOutput");
        if (!gradOutput.hasSameShape(output)) {
            throw new IllegalArgumentException("gradOutput has shape " + java.util.Arrays.toString(gradOutput.shape())
                    + " but the last forward produced " + java.util.Arrays.toString(output.shape()));
        }
        if (!inputGradRequired) {
            return null;
        }
        gradInput = LayerBuffers.ensureLike(gradInput, output);
        backend.reluBackward(output, gradOutput, gradInput);
        return gradInput;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of();
    }

    @Override
    public void setInputGradientRequired(boolean required) {
        inputGradRequired = required;
    }

    @Override
    public boolean isInputGradientRequired() {
        return inputGradRequired;
    }

    @Override
    public void train() {
        training = true;
    }

    @Override
    public void eval() {
        training = false;
        recorded = false;
    }

    @Override
    public boolean isTraining() {
        return training;
    }

    public Backend backend() {
        return backend;
    }

    public boolean isClosed() {
        return guard.isClosed();
    }

    @Override
    public void close() {
        if (!guard.beginClose()) {
            return;
        }
        if (output != null) {
            output.close();
        }
        if (gradInput != null) {
            gradInput.close();
        }
        output = null;
        gradInput = null;
        recorded = false;
    }

    private void checkOpen() {
        guard.checkOpen();
    }

    @Override
    public String toString() {
        return "ReLU()" + (guard.isClosed() ? " (closed)" : "");
    }
}
