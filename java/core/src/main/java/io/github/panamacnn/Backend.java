package io.github.panamacnn;

import io.github.panamacnn.nativeimpl.Backends;

/**
 * Where the five kernels run. One method per C entry point, same semantics as
 * {@code native/include/panamacnn/panamacnn.h}. Every implementation validates its arguments
 * (shapes, liveness, sizes) before doing any work and throws {@link IllegalArgumentException}
 * or {@link IllegalStateException} naming the bad argument; outputs are overwritten, never
 * accumulated into.
 *
 * <p>Implementations: {@link #nativeBackend()} (C kernels, AVX2/AVX-512 when the CPU has them),
 * {@link #reference()} (plain Java, the oracle) and {@link #checked()} (runs both and throws
 * {@link BackendMismatchException} when they disagree). {@link #defaultBackend()} follows the
 * system property {@code panamacnn.backend}: {@code auto} (default: native when the library
 * loads, else the reference with one warning), {@code native}, {@code reference}, {@code checked}.
 */
public interface Backend {

    /** A short name: "native", "reference" or "checked". */
    String name();

    /** {@code dst = conv(src, weights) + bias}; {@code bias} may be null. */
    void conv2dForward(Conv2dGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst);

    /** {@code diffSrc} = full convolution of {@code diffDst} with the 180-degree-rotated filter. */
    void conv2dBackwardData(Conv2dGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc);

    /** {@code diffWeights} = conv of {@code src} with {@code diffDst}; {@code diffBias} (may be null) = sums of diffDst. */
    void conv2dBackwardWeights(Conv2dGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights, Tensor diffBias);

    /**
     * {@link #conv2dForward(Conv2dGeometry, Tensor, Tensor, Tensor, Tensor)} with an algorithm request.
     * Backends without a choice (the reference) compute the direct convolution; the native backend
     * honours it ({@link ConvAlgorithm#WINOGRAD} on a shape it cannot take throws).
     */
    default void conv2dForward(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor src, Tensor weights, Tensor bias,
                               Tensor dst) {
        conv2dForward(g, src, weights, bias, dst);
    }

    /** {@link #conv2dBackwardData(Conv2dGeometry, Tensor, Tensor, Tensor)} with an algorithm request. */
    default void conv2dBackwardData(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor diffDst, Tensor weights,
                                    Tensor diffSrc) {
        conv2dBackwardData(g, diffDst, weights, diffSrc);
    }

    /**
     * {@link #conv2dBackwardWeights(Conv2dGeometry, Tensor, Tensor, Tensor, Tensor)} with the layer's
     * algorithm request (the native backend serves WINOGRAD layers' backward-weights directly).
     */
    default void conv2dBackwardWeights(Conv2dGeometry g, ConvAlgorithm algorithm, Tensor src, Tensor diffDst,
                                       Tensor diffWeights, Tensor diffBias) {
        conv2dBackwardWeights(g, src, diffDst, diffWeights, diffBias);
    }

    /**
     * Max pooling; {@code indices} (may be null) receives the mask, by its {@linkplain IndexBuffer#kind() kind}:
     * {@link IndexBuffer.Kind#INT32} the argmax plane offsets {@code iy*iw + ix} ({@code pcnn_maxpool2d_fwd}),
     * {@link IndexBuffer.Kind#TAPS} the argmax window taps {@code ky*kw + kx}, one byte per output
     * ({@code pcnn_maxpool2d_fwd_taps}; needs {@link MaxPool2dGeometry#tapMaskFits()}). The values are the same
     * whichever mask is asked for.
     */
    void maxPool2dForward(MaxPool2dGeometry g, Tensor src, Tensor dst, IndexBuffer indices);

    /**
     * {@code diffSrc} = zeros, plus each {@code diffDst} element added at the input position its mask element names
     * (an INT32 plane offset or a TAPS window tap: {@code pcnn_maxpool2d_bwd} / {@code pcnn_maxpool2d_bwd_taps}).
     */
    void maxPool2dBackward(MaxPool2dGeometry g, Tensor diffDst, IndexBuffer indices, Tensor diffSrc);

    // ---- network operations (ReLU, fully connected, loss) ----------------------------------------
    // Default methods run the pure-Java reference, so a Backend written before these operations existed
    // keeps working; the native and checked backends override every one of them.

    /** {@code dst[i][o] = bias[o] + sum_k src[i][k] * weights[o][k]} ({@code x W^T + b}); {@code bias} may be null. */
    default void linearForward(LinearGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
        io.github.panamacnn.reference.ReferenceNetKernels.linearForward(g, src, weights, bias, dst);
    }

    /** {@code diffSrc = diffDst W}: {@code diffSrc[i][k] = sum_o diffDst[i][o] * weights[o][k]}. */
    default void linearBackwardData(LinearGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
        io.github.panamacnn.reference.ReferenceNetKernels.linearBackwardData(g, diffDst, weights, diffSrc);
    }

    /** {@code diffWeights = diffDst^T src}; {@code diffBias} (may be null) {@code = sum over the batch of diffDst}. */
    default void linearBackwardWeights(LinearGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                       Tensor diffBias) {
        io.github.panamacnn.reference.ReferenceNetKernels.linearBackwardWeights(g, src, diffDst, diffWeights,
                diffBias);
    }

    /** {@code dst = (src > 0 || isNaN(src)) ? src : +0.0f}; same shapes. */
    default void reluForward(Tensor src, Tensor dst) {
        io.github.panamacnn.reference.ReferenceNetKernels.reluForward(src, dst);
    }

    /** {@code diffSrc = (dst > 0 || isNaN(dst)) ? diffDst : +0.0f} from the forward's output {@code dst}. */
    default void reluBackward(Tensor dst, Tensor diffDst, Tensor diffSrc) {
        io.github.panamacnn.reference.ReferenceNetKernels.reluBackward(dst, diffDst, diffSrc);
    }

    /**
     * Softmax cross-entropy, mean over the batch (PyTorch's {@code CrossEntropyLoss}): logits {@code [n, classes]},
     * one label in {@code [0, classes)} per row.
     */
    default float crossEntropyForward(Tensor logits, IndexBuffer labels) {
        return io.github.panamacnn.reference.ReferenceNetKernels.crossEntropyForward(logits, labels);
    }

    /** {@code diffLogits = (softmax(logits) - onehot(labels)) / n}. */
    default void crossEntropyBackward(Tensor logits, IndexBuffer labels, Tensor diffLogits) {
        io.github.panamacnn.reference.ReferenceNetKernels.crossEntropyBackward(logits, labels, diffLogits);
    }

    /** The C kernels. Throws {@link IllegalStateException} with the reason when the library cannot load. */
    static Backend nativeBackend() {
        return Backends.nativeBackend();
    }

    /** The pure-Java reference kernels. */
    static Backend reference() {
        return Backends.reference();
    }

    /** Runs native and reference and compares; for debugging and tests (slow). */
    static Backend checked() {
        return Backends.checked();
    }

    /** The backend named by the system property {@code panamacnn.backend} (see the class comment). */
    static Backend defaultBackend() {
        return Backends.defaultBackend();
    }
}
