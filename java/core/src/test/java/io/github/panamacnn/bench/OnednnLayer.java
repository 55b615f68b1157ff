package io.github.panamacnn.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One oneDNN layer in this JVM, through the benchmark shim {@code libpcnn-onednn-layer.so}
 * (native/bench/onednn_layer.h; built with pcnn-bench when oneDNN is found): a row of
 * bench/shapes.txt in one oneDNN variant, random inputs, the same primitives pcnn-bench checks
 * against panama-cnn. {@link LayerBench} times it next to the Java layer, in the same fork
 * ({@link OnednnWindows}). Benchmark code only: the library never loads oneDNN.
 */
final class OnednnLayer implements AutoCloseable {

    /** oneDNN variants, as onednn_layer.h numbers them. */
    enum Variant {
        /** Plain NCHW / OIHW tensors, direct convolution: the join's {@code onednn_nchw}. */
        NCHW,
        /** The layouts oneDNN prefers, direct convolution (max-pool: nChw16c / nChw8c). */
        BLOCKED,
        /** {@code convolution_auto} on the preferred layouts (convolution only). */
        AUTO;

        /** The variants that apply to a row: three for a convolution, NCHW and BLOCKED for a max-pool. */
        static Variant[] forRow(BenchShapes s) {
            return s.isConv() ? values() : new Variant[] {NCHW, BLOCKED};
        }

        String jsonName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The timed passes, in onednn_layer.h's PCNN_ONEDNN_PASS_* order; {@code joinName} as BenchJoin's rows say it. */
    enum Pass {
        /** Convolution: forward_training; max-pool: forward_training with the workspace. */
        FORWARD("forward"),
        /** Convolution: backward-weights then backward-data; max-pool: backward through the workspace. */
        BACKWARD("backward"),
        /** Max-pool only: forward_inference, no workspace (a MaxPool2d in eval()). */
        FWD_NOIDX("fwd_noidx");

        final String joinName;

        Pass(String joinName) {
            this.joinName = joinName;
        }
    }

    /** Functions of one loaded shim. */
    record Shim(MethodHandle create, MethodHandle forward, MethodHandle backward, MethodHandle forwardInference,
                MethodHandle impl, MethodHandle error, MethodHandle destroy) {

        static Shim load(Path library) {
            if (!Files.isRegularFile(library)) {
                throw new IllegalArgumentException("the oneDNN shim " + library + " does not exist (scripts/bench.sh "
                        + "builds it as target/bench/native/bench/libpcnn-onednn-layer.so when oneDNN is installed)");
            }
            Linker linker = Linker.nativeLinker();
            SymbolLookup lookup = SymbolLookup.libraryLookup(library, Arena.global());
            ValueLayout.OfInt i32 = ValueLayout.JAVA_INT;
            java.util.function.BiFunction<String, FunctionDescriptor, MethodHandle> fn = (name, fd) -> linker
                    .downcallHandle(lookup.find(name).orElseThrow(() -> new IllegalArgumentException(
                            library + " has no symbol " + name)), fd);
            ValueLayout.OfLong i64 = ValueLayout.JAVA_LONG;
            var ptr = ValueLayout.ADDRESS;
            return new Shim(
                    fn.apply("pcnn_onednn_layer_create", FunctionDescriptor.of(ptr, i32, ptr, i32, i32, ptr, i64)),
                    fn.apply("pcnn_onednn_layer_forward", FunctionDescriptor.of(i32, ptr)),
                    fn.apply("pcnn_onednn_layer_backward", FunctionDescriptor.of(i32, ptr)),
                    fn.apply("pcnn_onednn_layer_forward_inference", FunctionDescriptor.of(i32, ptr)),
                    fn.apply("pcnn_onednn_layer_impl", FunctionDescriptor.of(ptr, ptr, i32)),
                    fn.apply("pcnn_onednn_layer_error", FunctionDescriptor.of(ptr, ptr)),
                    fn.apply("pcnn_onednn_layer_destroy", FunctionDescriptor.ofVoid(ptr)));
        }
    }

    private final Shim shim;
    private final MemorySegment handle;
    private final String label;
    private final Variant variant;

    /** Builds row {@code s} in {@code variant} with {@code threads} OpenMP threads; throws with oneDNN's message. */
    OnednnLayer(Shim shim, BenchShapes s, Variant variant, int threads) {
        this.shim = shim;
        this.variant = variant;
        this.label = s.name() + " (" + variant.jsonName() + ", " + threads + " thread(s))";
        if (variant == Variant.AUTO && !s.isConv()) {
            throw new IllegalArgumentException(label + ": convolution_auto is for convolution rows");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dims = arena.allocateFrom(ValueLayout.JAVA_LONG, s.n(), s.c(), s.h(), s.w(), s.oc(), s.kh(),
                    s.kw(), s.stride(), s.pad(), s.groups(), s.dilation());
            MemorySegment err = arena.allocate(512);
            MemorySegment h = (MemorySegment) shim.create.invokeExact(s.isConv() ? 0 : 1, dims, variant.ordinal(),
                    threads, err, err.byteSize());
            if (h.equals(MemorySegment.NULL)) {
                throw new IllegalStateException(label + ": " + err.getString(0));
            }
            this.handle = h;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(label + ": " + t, t);
        }
    }

    Variant variant() {
        return variant;
    }

    /** One call of {@code pass}; returns when its results are written. */
    void run(Pass pass) {
        check(call(switch (pass) {
            case FORWARD -> shim.forward;
            case BACKWARD -> shim.backward;
            case FWD_NOIDX -> shim.forwardInference;
        }));
    }

    /** oneDNN's implementation name of {@code pass} ("" for a pass the layer does not have). */
    String impl(Pass pass) {
        try {
            MemorySegment p = (MemorySegment) shim.impl.invokeExact(handle, pass.ordinal());
            return p.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException(label + ": " + t, t);
        }
    }

    private int call(MethodHandle pass) {
        try {
            return (int) pass.invokeExact(handle);
        } catch (Throwable t) {
            throw new IllegalStateException(label + ": " + t, t);
        }
    }

    private void check(int status) {
        if (status != 0) {
            String msg;
            try {
                msg = ((MemorySegment) shim.error.invokeExact(handle)).reinterpret(4096).getString(0);
            } catch (Throwable t) {
                msg = t.toString();
            }
            throw new IllegalStateException(label + ": oneDNN failed: " + msg);
        }
    }

    @Override
    public void close() {
        try {
            shim.destroy.invokeExact(handle);
        } catch (Throwable t) {
            throw new IllegalStateException(label + ": " + t, t);
        }
    }
}
