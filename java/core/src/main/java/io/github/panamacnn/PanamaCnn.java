package io.github.panamacnn;

import io.github.panamacnn.nativeimpl.NativeLibrary;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Static facade over the native library: is it loaded, from where, why not, which instruction set
 * runs, and how many threads the kernels use.
 *
 * <p>The queries {@link #nativeAvailable()}, {@link #libraryPath()}, {@link #nativeFailureReason()},
 * {@link #platform()}, {@link #bundledPlatforms()} and {@link #version()} never throw. Every other method needs the library and throws
 * {@link IllegalStateException} with the reason when it cannot be loaded.
 *
 * <p>System properties, applied once right after the library loads: {@code panamacnn.maxIsa}
 * ({@code scalar|avx2|avx512|neon}) caps the ISA, {@code panamacnn.numThreads} ({@code 1..256}) sets the
 * thread count; an invalid value makes every native call throw {@link IllegalArgumentException}
 * naming the property. {@code panamacnn.library.path} and {@code panamacnn.tmpdir}: see
 * {@link NativeLibrary}.
 */
public final class PanamaCnn {
    private PanamaCnn() {
    }

    /** True when the native library is loaded (tries to load it on first use). */
    public static boolean nativeAvailable() {
        return NativeLibrary.isAvailable();
    }

    /** The absolute path of the loaded native library file; empty when it is not loaded. */
    public static Optional<Path> libraryPath() {
        return NativeLibrary.path();
    }

    /** Why the native library is not loaded (with what to do about it); empty when it is loaded. */
    public static Optional<String> nativeFailureReason() {
        return Optional.ofNullable(NativeLibrary.failureReason());
    }

    /** This JVM's platform as the jar names its native folders, e.g. {@code linux-x86_64}. Never throws. */
    public static String platform() {
        return NativeLibrary.currentPlatform();
    }

    /**
     * The platforms whose native library the jar carries ({@code linux-x86_64}, {@code linux-aarch64},
     * {@code windows-x86_64}, ...), sorted; empty when it carries none. Never throws.
     */
    public static List<String> bundledPlatforms() {
        return NativeLibrary.bundledPlatforms();
    }

    /** The best ISA that both the CPU and the OS support. */
    public static Isa detectedIsa() {
        return Isa.fromLevel(NativeLibrary.detectedIsaLevel());
    }

    /** The ISA the kernels use now: {@code min(detected, cap)}. */
    public static Isa activeIsa() {
        return Isa.fromLevel(NativeLibrary.activeIsaLevel());
    }

    /**
     * Caps the ISA (for testing every path on one machine, or to avoid AVX-512 down-clocking). The active
     * ISA becomes {@code min(detected, max)}. Call between operations, not while kernels run.
     */
    public static void setMaxIsa(Isa max) {
        if (max == null) {
            throw new NullPointerException("max ISA must not be null");
        }
        NativeLibrary.setMaxIsaLevel(max.level());
    }

    /** Threads used by the kernels. */
    public static int numThreads() {
        return NativeLibrary.numThreads();
    }

    /**
     * Sets the threads used by the kernels, {@code 1..256}; results are bit-identical whatever the count.
     * Call between operations, not while kernels run.
     */
    public static void setNumThreads(int n) {
        if (n < 1 || n > NativeLibrary.MAX_THREADS) {
            throw new IllegalArgumentException("number of threads must be in [1, " + NativeLibrary.MAX_THREADS
                    + "] but was " + n);
        }
        NativeLibrary.setNumThreads(n);
    }

    /**
     * Bytes of native scratch memory the kernels hold right now, summed over all threads (the library's own
     * worker threads included). A thread's scratch is freed, and given back to the OS, when the thread ends.
     * Between calls a thread keeps its scratch while all threads together hold at most 64 MiB; above that,
     * each thread ending a call frees its scratch down to 256 KiB. A kernel that cannot allocate its scratch
     * throws {@link OutOfMemoryError}; nothing stays allocated and the next call starts afresh.
     */
    public static long nativeScratchBytes() {
        return NativeLibrary.scratchBytes();
    }

    /**
     * Which native kernel served the calling thread's last convolution or max-pool call, as
     * {@code "algorithm/isa"}: {@code "winograd/avx512"}, {@code "depthwise/avx2"}, {@code "direct/scalar"}, ...
     * ({@code "none"} before any). A debug query: it shows what {@link ConvAlgorithm#AUTO} chose for a shape
     * and at which instruction set. Per thread; calls through {@link Backend#reference()} do not change it.
     */
    public static String lastNativeKernel() {
        NativeLibrary.ensureLoaded();
        return io.github.panamacnn.nativeimpl.NativeBackend.lastKernel();
    }

    /** The ABI version compiled into the loaded library (equal to the bindings' version once loaded). */
    public static int abiVersion() {
        return NativeLibrary.libraryAbiVersion();
    }

    /** The ABI version the Java bindings were generated for. */
    public static int expectedAbiVersion() {
        return NativeLibrary.expectedAbiVersion();
    }

    /** The Java library version (the jar's Implementation-Version, "dev" when run from classes). */
    public static String version() {
        return NativeLibrary.javaVersion();
    }
}
