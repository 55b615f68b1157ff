package io.github.panamacnn.cli;

import io.github.panamacnn.Isa;
import io.github.panamacnn.PanamaCnn;
import java.nio.file.Path;
import java.util.Optional;

/** The few {@link PanamaCnn} queries and controls the command line uses, in one place. */
final class NativeFacade {
    private NativeFacade() {
    }

    /** Why the native library is unavailable; empty when it loaded. */
    static Optional<String> failureReason() {
        return PanamaCnn.nativeFailureReason();
    }

    /** "linux-x86_64, windows-x86_64 (this platform: linux-x86_64)". */
    static String bundledPlatforms() {
        java.util.List<String> carried = PanamaCnn.bundledPlatforms();
        return (carried.isEmpty() ? "none" : String.join(", ", carried)) + " (this platform: "
                + PanamaCnn.platform() + ")";
    }

    static String libraryPath() {
        return PanamaCnn.libraryPath().map(Path::toString).orElse("(not loaded)");
    }

    /** The library's ABI version and the one the Java bindings expect. */
    static String abiVersion() {
        return PanamaCnn.abiVersion() + " (Java bindings expect " + PanamaCnn.expectedAbiVersion() + ")";
    }

    static String version() {
        return PanamaCnn.version();
    }

    static Isa detectedIsa() {
        return PanamaCnn.detectedIsa();
    }

    static Isa activeIsa() {
        return PanamaCnn.activeIsa();
    }

    static void setMaxIsa(Isa isa) {
        PanamaCnn.setMaxIsa(isa);
    }

    static int numThreads() {
        return PanamaCnn.numThreads();
    }

    static void setNumThreads(int n) {
        PanamaCnn.setNumThreads(n);
    }
}
