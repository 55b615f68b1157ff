package io.github.panamacnn;

/** Thrown by {@link Backend#checked()} when the native and reference results disagree beyond tolerance. */
public final class BackendMismatchException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BackendMismatchException(String message) {
        super(message);
    }
}
