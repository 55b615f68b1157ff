package io.github.panamacnn;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Reshapes {@code [n, d1, d2, ...]} to {@code [n, d1*d2*...]} without copying, like PyTorch's
 * {@code nn.Flatten()}: the output is a view of the input's memory (and the input gradient a view
 * of the output gradient's). A view is valid while the tensor it views is open; it is built once and
 * reused while the same tensor comes in, so steady state allocates nothing. Writing into the view
 * writes into the viewed tensor.
 */
public final class Flatten implements Layer {
    private Tensor lastInput;
    private Tensor view;
    private long[] inputShape;
    private boolean recorded;
    private Tensor lastGradOutput;
    private Tensor gradView;
    private boolean training = true;
    private boolean inputGradRequired = true;
    private final LayerGuard guard = new LayerGuard("Flatten");

    public Flatten() {
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
        if (input != lastInput || view == null || !view.isAlive()) {
            if (input.rank() < 2) {
                throw new IllegalArgumentException("Flatten needs an input of rank >= 2 [n, ...] but got shape "
                        + Arrays.toString(input.shape()));
            }
            long n = input.dim(0);
            Tensor v = Tensor.wrap(input.segment(), n, input.elementCount() / n);
            closeViews();
            view = v;
            lastInput = input;
            inputShape = input.shape();
        }
        recorded = training;
        return view;
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
            throw new IllegalStateException(training ? "Flatten.backward called before forward"
                    : "Flatten is in eval mode: call train() before a forward to backpropagate");
        }
        Objects.requireNonNull(gradOutput, "gradOutput");
        gradOutput.checkAlive("gradOutput");
        if (!gradOutput.hasSameShape(view)) {
            throw new IllegalArgumentException("gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + " but the last forward produced " + Arrays.toString(view.shape()));
        }
        if (!inputGradRequired) {
            return null;
        }
        if (gradOutput != lastGradOutput || gradView == null || !gradView.isAlive()
                || !gradView.hasShape(inputShape)) {
            if (gradView != null) {
                gradView.close();
            }
            gradView = Tensor.wrap(gradOutput.segment(), inputShape);
            lastGradOutput = gradOutput;
        }
        return gradView;
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

    public boolean isClosed() {
        return guard.isClosed();
    }

    /** Drops the views (they borrow memory, so nothing is freed). Idempotent. */
    @Override
    public void close() {
        if (guard.beginClose()) {
            closeViews();
            recorded = false;
        }
    }

    private void closeViews() {
        if (view != null) {
            view.close();
        }
        if (gradView != null) {
            gradView.close();
        }
        view = null;
        gradView = null;
        lastInput = null;
        lastGradOutput = null;
    }

    private void checkOpen() {
        guard.checkOpen();
    }

    @Override
    public String toString() {
        return "Flatten()" + (guard.isClosed() ? " (closed)" : "");
    }
}
