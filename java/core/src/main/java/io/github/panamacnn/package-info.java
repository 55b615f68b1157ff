/**
 * panama-cnn's public API: CNN layers over off-heap NCHW float32 tensors whose hot loops are
 * C kernels (scalar, AVX2 or AVX-512, chosen at run time) called through {@code java.lang.foreign}.
 *
 * <ul>
 *   <li>{@link io.github.panamacnn.Tensor}: a contiguous float32 tensor, owned or borrowed,
 *       {@link java.lang.AutoCloseable}.</li>
 *   <li>{@link io.github.panamacnn.Conv2d} and {@link io.github.panamacnn.MaxPool2d}: layers with
 *       builders, {@code forward} and {@code backward}; they own their parameters, gradients and
 *       results, and reuse them while the input shape does not change.</li>
 *   <li>{@link io.github.panamacnn.Conv2dGeometry} and {@link io.github.panamacnn.MaxPool2dGeometry}:
 *       validated shapes, the Java twins of the C descriptors.</li>
 *   <li>{@link io.github.panamacnn.Layer}, {@link io.github.panamacnn.Sequential},
 *       {@link io.github.panamacnn.ReLU}, {@link io.github.panamacnn.Flatten},
 *       {@link io.github.panamacnn.Linear}, {@link io.github.panamacnn.CrossEntropyLoss} and
 *       {@link io.github.panamacnn.Parameter}: networks shaped like PyTorch's {@code nn.Sequential},
 *       loading and saving PyTorch {@code state_dict} keys in {@code .npz} files. Who owns which
 *       tensor: {@code docs/ownership.md}.</li>
 *   <li>{@link io.github.panamacnn.Backend}: where the kernels run: native, the pure-Java
 *       reference, or checked (both, compared).</li>
 * </ul>
 *
 * <p>Validation happens in Java before any native call: bad sizes and shapes throw
 * {@link java.lang.IllegalArgumentException}, use of a closed object throws
 * {@link java.lang.IllegalStateException}, and the messages name the parameter and its value.
 * The exact semantics of the operations are those of {@code native/include/panamacnn/panamacnn.h}.
 */
package io.github.panamacnn;
