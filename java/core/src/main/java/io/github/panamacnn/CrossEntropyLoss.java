package io.github.panamacnn;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * Softmax cross-entropy over integer class labels, mean over the batch: PyTorch's
 * {@code nn.CrossEntropyLoss()} with its defaults ({@code reduction='mean'}, no weights, no label
 * smoothing). For logits {@code x [n, classes]}:
 * {@code loss = (1/n) * sum_i (log(sum_c exp(x[i][c])) - x[i][labels[i]])}, computed stably
 * (the row maximum is subtracted before {@code exp}). {@link #backward()} returns
 * {@code (softmax(x) - onehot(labels)) / n}, the gradient of that mean with respect to the logits.
 *
 * <pre>{@code
 * float l = loss.forward(net.forward(x), labels);
 * net.backward(loss.backward());
 * }</pre>
 *
 * <p><b>Ownership.</b> The gradient tensor belongs to the loss (reused while the batch shape stays,
 * closed by {@link #close()}). {@link #backward()} reads the logits of the last forward again, so they
 * must stay open and unchanged in between (normally they are the last layer's output, which only the
 * next forward overwrites). The labels are copied. Not thread-safe.
 */
public final class CrossEntropyLoss implements AutoCloseable {
    private final Backend backend;
    private IndexBuffer labelBuffer;
    private Tensor lastLogits;
    private Tensor grad;
    private boolean closed;

    /** A loss on {@link Backend#defaultBackend()}. */
    public CrossEntropyLoss() {
        this(Backend.defaultBackend());
    }

    /** A loss on {@code backend}. */
    public CrossEntropyLoss(Backend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
    }

    /**
     * The mean loss of {@code logits} ({@code [n, classes]}) against {@code labels} (n values in
     * {@code [0, classes)}).
     *
     * @throws IllegalArgumentException when the logits are not rank 2, the label count is not n, or a
     *         label is out of range (the message names its index and value)
     */
    public float forward(Tensor logits, int[] labels) {
        checkOpen();
        Objects.requireNonNull(logits, "logits");
        Objects.requireNonNull(labels, "labels");
        logits.checkAlive("logits");
        lastLogits = null;
        if (logits.rank() != 2) {
            throw new IllegalArgumentException("logits must have rank 2 [n, classes] but have shape "
                    + Arrays.toString(logits.shape()));
        }
        long n = logits.dim(0), classes = logits.dim(1);
        if (labels.length != n) {
            throw new IllegalArgumentException("labels has " + labels.length + " values but the logits "
                    + Arrays.toString(logits.shape()) + " have " + n + " rows");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("labels[" + i + "] = " + labels[i] + " is out of range [0, "
                        + classes + ") (logits have " + classes + " classes)");
            }
        }
        if (labelBuffer == null || labelBuffer.length() != n) {
            if (labelBuffer != null) {
                labelBuffer.close();
            }
            labelBuffer = IndexBuffer.allocate(n);
        }
        MemorySegment.copy(labels, 0, labelBuffer.segment(), ValueLayout.JAVA_INT, 0, labels.length);
        float loss = backend.crossEntropyForward(logits, labelBuffer);
        lastLogits = logits;
        return loss;
    }

    /**
     * The gradient of the last {@link #forward}'s loss with respect to its logits, owned by the loss.
     *
     * @throws IllegalStateException before any forward, or when the logits have been closed since
     */
    public Tensor backward() {
        checkOpen();
        Tensor x = lastLogits;
        if (x == null) {
            throw new IllegalStateException("CrossEntropyLoss.backward called before forward");
        }
        if (!x.isAlive()) {
            throw new IllegalStateException("the logits of the last forward have been closed; keep them open until "
                    + "backward has run");
        }
        grad = LayerBuffers.ensureLike(grad, x);
        backend.crossEntropyBackward(x, labelBuffer, grad);
        return grad;
    }

    public Backend backend() {
        return backend;
    }

    /** Frees the gradient and the label copy. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (grad != null) {
            grad.close();
        }
        if (labelBuffer != null) {
            labelBuffer.close();
        }
        grad = null;
        labelBuffer = null;
        lastLogits = null;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this CrossEntropyLoss is closed");
        }
    }

    @Override
    public String toString() {
        return "CrossEntropyLoss(mean)";
    }
}
