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
public final class ReLU extends AbstractLayer {
    private final Backend backend;
    private Tensor output;
    private Tensor gradInput;
    private boolean recorded; // a training-mode forward produced `output`

    /** A ReLU on {@link Backend#defaultBackend()}. */
    public ReLU() {
        this(Backend.defaultBackend());
    }

    /** A ReLU on {@code backend}. */
    public ReLU(Backend backend) {
        super("ReLU", true);
        this.backend = Objects.requireNonNull(backend, "backend");
    }

    @Override
    Tensor runForward(Tensor input) {
        Objects.requireNonNull(input, "input");
        input.checkAlive("input");
        recorded = false;
        output = LayerBuffers.ensureLike(output, input);
        backend.reluForward(input, output);
        recorded = isTraining();
        return output;
    }

    @Override
    Tensor runBackward(Tensor gradOutput) {
        if (!recorded) {
            throw nothingRecorded();
        }
        checkGradOutput(gradOutput, output);
        if (!isInputGradientRequired()) {
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
    void forgetForward() {
        recorded = false;
    }

    public Backend backend() {
        return backend;
    }

    @Override
    void freeOwned() {
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

    @Override
    public String toString() {
        return "ReLU()" + (isClosed() ? " (closed)" : "");
    }
}
