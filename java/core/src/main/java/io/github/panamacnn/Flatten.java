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
public final class Flatten extends AbstractLayer {
    private Tensor lastInput;
    private Tensor view;
    private long[] inputShape;
    private boolean recorded;
    private Tensor lastGradOutput;
    private Tensor gradView;

    public Flatten() {
        super("Flatten", true);
    }

    @Override
    Tensor runForward(Tensor input) {
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
        recorded = isTraining();
        return view;
    }

    @Override
    Tensor runBackward(Tensor gradOutput) {
        if (!recorded) {
            throw nothingRecorded();
        }
        checkGradOutput(gradOutput, view);
        if (!isInputGradientRequired()) {
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
    void forgetForward() {
        recorded = false;
    }

    /** Drops the views (they borrow memory, so nothing is freed). */
    @Override
    void freeOwned() {
        closeViews();
        recorded = false;
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

    @Override
    public String toString() {
        return "Flatten()" + (isClosed() ? " (closed)" : "");
    }
}
