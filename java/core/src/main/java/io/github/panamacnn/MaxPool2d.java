package io.github.panamacnn;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A 2-D max-pooling layer over NCHW float32 tensors, shaped like PyTorch's {@code nn.MaxPool2d}:
 * kernel, stride (default: the kernel), asymmetric padding (padded positions never win),
 * dilation (1 = dense) and ceil mode. Within a window, positions are scanned row-major and
 * {@code v} is taken when {@code v > max || isNaN(v)}: ties go to the first maximum and a NaN
 * propagates. A window lying entirely in the padding is rejected by {@link #forward}.
 *
 * <p><b>Ownership.</b> The tensor returned by {@link #forward} and the tensor returned by
 * {@link #backward} are owned by the layer: they stay valid until the next {@code forward}
 * (respectively {@code backward}) with a different input shape, or until {@link #close()}; do not
 * close them yourself (if you do, the layer allocates a fresh one next time). With an unchanged
 * input shape the same tensors and the same index buffer are overwritten, so a steady-state loop
 * allocates no native memory. The caller owns the input of {@code forward} and must keep it open
 * until {@link #backward} has run (backward itself only needs the recorded mask, but the layer
 * enforces the same contract as {@link Conv2d}). After {@code close()} every method except
 * {@code close()} throws {@link IllegalStateException}. In {@link #eval()} mode forward computes no
 * indices (the C kernel's inference path) and records nothing. Full rules: {@code docs/ownership.md}.
 *
 * <p><b>Mask.</b> Between a training {@code forward} and its {@code backward} the layer keeps, per output
 * element, which input won. For a large output ({@link MaxPool2dGeometry#TAP_MASK_MIN_OUTPUTS} elements or
 * more) whose window has at most {@link MaxPool2dGeometry#MAX_MASK_TAPS} taps ({@code kh*kw <= 256}) it keeps
 * the compact mask: one byte per output, the winner's window tap {@code ky*kw + kx}
 * ({@link IndexBuffer.Kind#TAPS}, the C {@code pcnn_maxpool2d_fwd_taps} / {@code _bwd_taps}), a quarter of the
 * bytes of int32 plane offsets, so a thread's working set stays in its core's cache. Smaller outputs, whose
 * mask is in cache anyway and whose backward decodes taps slower than it scatters offsets, and larger windows
 * keep int32 plane offsets {@code iy*iw + ix} ({@link IndexBuffer.Kind#INT32}). {@link Builder#mask} fixes
 * the kind instead; {@link #maskKind(long...)} says which an input shape gets; {@link #indices()} returns
 * plane offsets either way (taps are expanded on demand).
 *
 * <p><b>Threads.</b> A layer serves one thread at a time (it owns its outputs and mask): a {@code forward},
 * {@code backward} or {@code close()} that starts while another thread is inside {@code forward} or
 * {@code backward} throws {@link IllegalStateException} (see docs/concurrency.md).
 */
public final class MaxPool2d extends AbstractLayer {
    private final int kernelH, kernelW, strideH, strideW, padTop, padBottom, padLeft, padRight;
    private final int dilationH, dilationW;
    private final boolean ceilMode;
    private final IndexBuffer.Kind maskChoice; // null: by size (MaxPool2dGeometry.trainingMaskKind)
    private final Backend backend;

    private MaxPool2dGeometry geometry; // of the last forward
    private Tensor lastInput;
    private Tensor output;
    private IndexBuffer mask; // of the kind maskKind(); length dstElementCount of the last training forward
    private Tensor gradInput;

    private MaxPool2d(Builder b, Backend backend) {
        super("MaxPool2d", true);
        this.kernelH = b.kernelH;
        this.kernelW = b.kernelW;
        this.strideH = b.strideH;
        this.strideW = b.strideW;
        this.padTop = b.padTop;
        this.padBottom = b.padBottom;
        this.padLeft = b.padLeft;
        this.padRight = b.padRight;
        this.dilationH = b.dilationH;
        this.dilationW = b.dilationW;
        this.ceilMode = b.ceilMode;
        this.maskChoice = b.mask;
        this.backend = backend;
    }

    /**
     * A builder for a {@code kernelH x kernelW} max pooling. Defaults: stride = kernel, padding 0,
     * dilation 1, floor mode, {@link Backend#defaultBackend()}.
     */
    public static Builder builder(int kernelH, int kernelW) {
        return new Builder(kernelH, kernelW);
    }

    /**
     * Builder of {@link MaxPool2d}; setters do not validate, {@link #build()} does. Stride, padding
     * (padded positions never win), dilation and backend: the setters shared with {@link Conv2d.Builder}.
     */
    public static final class Builder extends WindowBuilder<Builder> {
        private boolean ceilMode;
        private IndexBuffer.Kind mask;

        private Builder(int kernelH, int kernelW) {
            super(kernelH, kernelW, kernelH, kernelW);
        }

        /** Ceil mode: the output size rounds up (PyTorch's rule), default false. */
        public Builder ceilMode(boolean ceilMode) {
            this.ceilMode = ceilMode;
            return this;
        }

        /**
         * The mask a training forward keeps: {@link IndexBuffer.Kind#TAPS} (one byte per output; windows of at
         * most {@link MaxPool2dGeometry#MAX_MASK_TAPS} taps) or {@link IndexBuffer.Kind#INT32} (plane
         * offsets), whatever the output size; {@code null} (the default) chooses by size (class comment).
         */
        public Builder mask(IndexBuffer.Kind kind) {
            this.mask = kind;
            return this;
        }

        /**
         * Validates everything that does not depend on the input.
         *
         * @throws IllegalArgumentException naming the parameter and its value
         */
        public MaxPool2d build() {
            checkWindow();
            if (mask == IndexBuffer.Kind.TAPS
                    && (long) kernelH * kernelW > MaxPool2dGeometry.MAX_MASK_TAPS) {
                throw new IllegalArgumentException("mask TAPS: a " + kernelH + "x" + kernelW + " window has "
                        + (long) kernelH * kernelW + " taps, more than MAX_MASK_TAPS = "
                        + MaxPool2dGeometry.MAX_MASK_TAPS);
            }
            return new MaxPool2d(this, resolvedBackend());
        }
    }

    /**
     * Max pooling of {@code input} ({@code [n][c][ih][iw]}, any channel count). Records the mask
     * for {@link #backward}. The result is owned by the layer (see the class comment).
     *
     * @throws IllegalArgumentException for a bad shape (the message names it)
     * @throws IllegalStateException when the layer or the input is closed
     */
    Tensor runForward(Tensor input) {
        MaxPool2dGeometry g = geometryFor(input);
        // Invalidate the recorded forward until the kernel succeeds: a failed kernel leaves a stale mask.
        lastInput = null;
        output = LayerBuffers.ensure(output, g.dstShapeRef());
        if (!isTraining()) {
            backend.maxPool2dForward(g, input, output, null);
            geometry = g;
            return output;
        }
        IndexBuffer.Kind kind = maskKindFor(g);
        if (mask == null || mask.length() != g.dstElementCount() || mask.kind() != kind) {
            if (mask != null) {
                mask.close();
                mask = null;
            }
            mask = IndexBuffer.allocate(g.dstElementCount(), kind);
        }
        geometry = null;
        backend.maxPool2dForward(g, input, output, mask);
        geometry = g;
        lastInput = input;
        return output;
    }

    /**
     * Backward pass of the last {@link #forward}: the gradient with respect to its input (owned by
     * the layer): zeros, plus each {@code gradOutput} element added at the position of its window's
     * maximum.
     *
     * @throws IllegalStateException when no forward ran, or the last forward's input has been closed
     * @throws IllegalArgumentException when {@code gradOutput}'s shape is not the last forward's output shape
     */
    Tensor runBackward(Tensor gradOutput) {
        MaxPool2dGeometry g = geometry;
        Tensor x = lastInput;
        if (x == null) {
            throw nothingRecorded();
        }
        checkRecordedInputOpen(x, g.srcShapeRef());
        checkGradOutput(gradOutput, g.dstShapeRef());
        if (!isInputGradientRequired()) {
            return null;
        }
        gradInput = LayerBuffers.ensure(gradInput, g.srcShapeRef());
        backend.maxPool2dBackward(g, gradOutput, mask, gradInput);
        return gradInput;
    }

    /**
     * The mask recorded by the last forward, as plane offsets: for each output element (NCHW order) the
     * offset {@code iy*iw + ix} of its maximum inside its input plane. A fresh array; a compact
     * {@link IndexBuffer.Kind#TAPS} mask is expanded here (see the class comment).
     *
     * @throws IllegalStateException when no forward has run yet
     */
    public int[] indices() {
        checkOpen();
        if (geometry == null || lastInput == null) {
            throw new IllegalStateException("no forward has run yet in training mode, so there are no indices");
        }
        return geometry.planeOffsets(mask);
    }

    /**
     * The kind of mask a training forward on an input of shape {@code inputShape} ({@code [n, c, ih, iw]})
     * records: the builder's {@link Builder#mask} if set, else {@link MaxPool2dGeometry#trainingMaskKind()}
     * ({@link IndexBuffer.Kind#TAPS} for outputs of at least {@link MaxPool2dGeometry#TAP_MASK_MIN_OUTPUTS}
     * elements whose window has at most {@link MaxPool2dGeometry#MAX_MASK_TAPS} taps, else
     * {@link IndexBuffer.Kind#INT32}).
     *
     * @throws IllegalArgumentException for a bad shape (the message names it)
     */
    public IndexBuffer.Kind maskKind(long... inputShape) {
        checkOpen();
        return maskKindFor(geometryFor(inputShape));
    }

    private IndexBuffer.Kind maskKindFor(MaxPool2dGeometry g) {
        return maskChoice != null ? maskChoice : g.trainingMaskKind();
    }

    /** The output shape for an input of shape {@code inputShape} ({@code [n, c, ih, iw]}), without running anything. */
    public long[] outputShape(long... inputShape) {
        checkOpen();
        return geometryFor(inputShape).dstShape();
    }

    /**
     * The geometry of the last forward.
     *
     * @throws IllegalStateException when no forward has run yet
     */
    public MaxPool2dGeometry geometry() {
        checkOpen();
        if (geometry == null) {
            throw new IllegalStateException("no forward has run yet, so there is no geometry");
        }
        return geometry;
    }

    private MaxPool2dGeometry geometryFor(Tensor input) {
        Objects.requireNonNull(input, "input");
        input.checkAlive("input");
        MaxPool2dGeometry last = geometry;
        if (last != null && input.hasShape(last.srcShapeRef())) {
            return last;
        }
        return geometryFor(input.shape());
    }

    private MaxPool2dGeometry geometryFor(long[] s) {
        Objects.requireNonNull(s, "inputShape");
        if (s.length != 4) {
            throw new IllegalArgumentException("input must have rank 4 [n, c, h, w] but has shape "
                    + Arrays.toString(s) + " (rank " + s.length + ")");
        }
        return MaxPool2dGeometry.of(s[0], s[1], s[2], s[3], kernelH, kernelW, strideH, strideW, padTop, padBottom,
                padLeft, padRight, dilationH, dilationW, ceilMode);
    }

    public int kernelH() {
        checkOpen();
        return kernelH;
    }

    public int kernelW() {
        checkOpen();
        return kernelW;
    }

    public int strideH() {
        checkOpen();
        return strideH;
    }

    public int strideW() {
        checkOpen();
        return strideW;
    }

    public boolean ceilMode() {
        checkOpen();
        return ceilMode;
    }

    public Backend backend() {
        checkOpen();
        return backend;
    }

    /** None: max pooling has no parameters. */
    @Override
    public List<Parameter> parameters() {
        return List.of();
    }

    @Override
    void forgetForward() {
        lastInput = null;
    }

    /** Frees the layer's results and mask. Idempotent. */
    @Override
    void freeOwned() {
        if (output != null) {
            output.close();
        }
        if (gradInput != null) {
            gradInput.close();
        }
        if (mask != null) {
            mask.close();
        }
        output = null;
        gradInput = null;
        mask = null;
        lastInput = null;
        geometry = null;
    }

    @Override
    public String toString() {
        return "MaxPool2d(kernel=" + kernelH + "x" + kernelW + ", stride=" + strideH + "x" + strideW
                + ", pad(t,b,l,r)=" + padTop + "," + padBottom + "," + padLeft + "," + padRight + ", dilation="
                + dilationH + "x" + dilationW + ", ceil=" + ceilMode + closedSuffix() + ")";
    }
}
