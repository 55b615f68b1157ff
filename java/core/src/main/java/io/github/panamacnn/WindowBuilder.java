package io.github.panamacnn;

import java.util.Objects;

/**
 * What the builders of the sliding-window layers ({@link Conv2d.Builder}, {@link MaxPool2d.Builder})
 * share: the kernel size, stride, padding, dilation and backend, their setters and their checks.
 * Setters do not validate; {@link #checkWindow()} does, from each builder's {@code build()}.
 *
 * @param <B> the concrete builder, so that the setters chain on it
 */
abstract class WindowBuilder<B extends WindowBuilder<B>> {
    final int kernelH, kernelW;
    int strideH, strideW;
    int padTop, padBottom, padLeft, padRight;
    int dilationH = 1, dilationW = 1;
    Backend backend;

    WindowBuilder(int kernelH, int kernelW, int strideH, int strideW) {
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.strideH = strideH;
        this.strideW = strideW;
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** Stride per axis (rows, columns). */
    public B stride(int sh, int sw) {
        this.strideH = sh;
        this.strideW = sw;
        return self();
    }

    /** The same stride on both axes. */
    public B stride(int s) {
        return stride(s, s);
    }

    /**
     * Padding per side (asymmetric allowed): zeros for a convolution; for max pooling, padded
     * positions never win.
     */
    public B padding(int top, int bottom, int left, int right) {
        this.padTop = top;
        this.padBottom = bottom;
        this.padLeft = left;
        this.padRight = right;
        return self();
    }

    /** The same padding on all four sides. */
    public B padding(int p) {
        return padding(p, p, p, p);
    }

    /** Dilation per axis; 1 means dense (PyTorch's convention). */
    public B dilation(int dh, int dw) {
        this.dilationH = dh;
        this.dilationW = dw;
        return self();
    }

    /** Where the kernels run; default {@link Backend#defaultBackend()} (resolved by {@code build()}). */
    public B backend(Backend backend) {
        this.backend = Objects.requireNonNull(backend, "backend");
        return self();
    }

    /**
     * Checks the window's numbers.
     *
     * @throws IllegalArgumentException naming the parameter and its value
     */
    final void checkWindow() {
        Conv2dGeometry.positive("kernelH", kernelH);
        Conv2dGeometry.positive("kernelW", kernelW);
        Conv2dGeometry.positive("strideH", strideH);
        Conv2dGeometry.positive("strideW", strideW);
        Conv2dGeometry.nonNegative("padTop", padTop);
        Conv2dGeometry.nonNegative("padBottom", padBottom);
        Conv2dGeometry.nonNegative("padLeft", padLeft);
        Conv2dGeometry.nonNegative("padRight", padRight);
        Conv2dGeometry.positive("dilationH", dilationH);
        Conv2dGeometry.positive("dilationW", dilationW);
    }

    /** The backend set, or {@link Backend#defaultBackend()}. */
    final Backend resolvedBackend() {
        return backend != null ? backend : Backend.defaultBackend();
    }
}
