/**
 * The native side of panama-cnn: the library loader ({@link io.github.panamacnn.nativeimpl.NativeLibrary}),
 * the C-kernel backend ({@link io.github.panamacnn.nativeimpl.NativeBackend}, the only user of the raw
 * {@code ffi} bindings), the cross-checking backend ({@link io.github.panamacnn.nativeimpl.CheckedBackend}),
 * backend selection ({@link io.github.panamacnn.nativeimpl.Backends}) and the float error bounds
 * ({@link io.github.panamacnn.nativeimpl.Tolerance}).
 */
package io.github.panamacnn.nativeimpl;
