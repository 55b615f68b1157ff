package io.github.panamacnn;

import java.io.IOException;

/**
 * A {@code .npy} or {@code .npz} file that cannot be read as a float32 tensor: bad magic or header,
 * truncated data, an unsupported dtype, Fortran order, an empty or 0-d shape. The message names the
 * file (and the archive entry) and the offending value.
 */
public final class NpyFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public NpyFormatException(String message) {
        super(message);
    }
}
