package io.github.panamacnn;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One layer's "in use" flag. A layer owns its output and gradient tensors, so one layer serves one
 * thread at a time: a second {@code forward} or {@code backward} that starts while another is running
 * (on another thread) throws {@link IllegalStateException} instead of overwriting the tensors the first
 * one is writing, and {@code close()} during a call throws instead of freeing memory a kernel is using.
 * One compare-and-set per call; see docs/concurrency.md.
 */
final class LayerGuard {
    private final String layer;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean closed;

    LayerGuard(String layer) {
        this.layer = layer;
    }

    /** Marks the layer in use by {@code method}; pair with {@link #exit()} in a finally block. */
    void enter(String method) {
        if (!busy.compareAndSet(false, true)) {
            if (closed) {
                throw closedException();
            }
            throw new IllegalStateException(layer + "." + method + " called while this layer is running a forward "
                    + "or backward on another thread: a layer owns its output and gradient tensors, so it serves one "
                    + "thread at a time (use one layer per thread, or call the Backend methods with your own tensors, "
                    + "which many threads may do at once)");
        }
        if (closed) {
            busy.set(false);
            throw closedException();
        }
    }

    void exit() {
        // release is enough: the next enter's compareAndSet (acquire) sees every write made before it; a volatile
        // set would add a full fence (a locked instruction on x86) to every forward and backward
        busy.setRelease(false);
    }

    /**
     * Starts closing: false when the layer is already closed (close is idempotent); throws when a
     * forward or backward is running on another thread. After true the layer stays marked in use, so
     * no call can start while (or after) it is freed.
     */
    boolean beginClose() {
        if (closed) {
            return false;
        }
        if (!busy.compareAndSet(false, true)) {
            if (closed) {
                return false;
            }
            throw new IllegalStateException(layer + ".close() called while this layer is running a forward or "
                    + "backward on another thread; close it after that call has returned");
        }
        closed = true;
        return true;
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw closedException();
        }
    }

    private IllegalStateException closedException() {
        return new IllegalStateException("this " + layer + " layer is closed");
    }
}
