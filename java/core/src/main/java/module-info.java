/**
 * panama-cnn: CNN layers over off-heap float32 tensors whose hot loops are C kernels called
 * through {@code java.lang.foreign}. Only the public API package is exported; the bindings
 * ({@code ffi}), the native backend and loader ({@code nativeimpl}), the pure-Java oracle
 * ({@code reference}) and the shape corpus ({@code verify}) are internal. On the module path run
 * with {@code --enable-native-access=io.github.panamacnn}.
 */
module io.github.panamacnn {
    exports io.github.panamacnn;
}
