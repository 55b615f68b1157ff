package io.github.panamacnn;

/** A native kernel returned an error status that Java validation did not anticipate. */
public final class NativeKernelException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public NativeKernelException(String function, int status, String statusText) {
        super(function + " failed with status " + status + " (" + statusText + ")");
        this.status = status;
    }

    /** The C status code (PCNN_STATUS_*). */
    public int status() {
        return status;
    }
}
