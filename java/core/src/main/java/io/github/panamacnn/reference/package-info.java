/**
 * The pure-Java reference implementation: the oracle every native kernel is checked against.
 *
 * <p>{@link io.github.panamacnn.reference.ReferenceKernels} holds the five kernels as naive loops
 * over Java arrays ({@code long} indices, no threads, no tricks) with exactly the semantics written
 * in {@code native/include/panamacnn/panamacnn.h}; convolutions compute in {@code double}, max
 * pooling in {@code float} (bit-exact with the C kernel, including NaN and tie handling).
 * {@link io.github.panamacnn.reference.ReferenceBackend} adapts them to
 * {@link io.github.panamacnn.Backend}. Tensors larger than a Java array are out of scope.
 */
package io.github.panamacnn.reference;
