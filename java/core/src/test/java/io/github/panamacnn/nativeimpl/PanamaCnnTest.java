package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Isa;
import io.github.panamacnn.PanamaCnn;

import org.junit.jupiter.api.Test;

/** The static facade: queries and the ISA / thread controls round-trip through the C library. */
class PanamaCnnTest {

    @Test
    void queries() {
        assertThat(PanamaCnn.nativeAvailable()).isTrue();
        assertThat(PanamaCnn.libraryPath()).isPresent().get().isEqualTo(NativeLibrary.path().orElseThrow());
        assertThat(PanamaCnn.nativeFailureReason()).isEmpty();
        assertThat(PanamaCnn.abiVersion()).isEqualTo(PanamaCnn.expectedAbiVersion());
        assertThat(PanamaCnn.version()).isNotBlank();
        assertThat(PanamaCnn.activeIsa().level()).isLessThanOrEqualTo(PanamaCnn.detectedIsa().level());
        assertThat(PanamaCnn.nativeScratchBytes()).isNotNegative();
    }

    @Test
    void detectedIsaAgreesWithTheJvmsViewOfTheCpuWhenItIsKnown() {
        // On x86-64 Linux, /proc/cpuinfo lists the flags the OS exposes; AVX2+FMA (and the AVX-512 set) there
        // imply what pcnn_isa_detected must report.
        java.nio.file.Path cpuinfo = java.nio.file.Path.of("/proc/cpuinfo");
        if (!java.nio.file.Files.isReadable(cpuinfo) || !System.getProperty("os.arch").equals("amd64")) {
            return;
        }
        String flags;
        try {
            flags = java.nio.file.Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags"))
                    .findFirst().orElse("");
        } catch (java.io.IOException e) {
            return;
        }
        java.util.Set<String> f = java.util.Set.of(flags.substring(flags.indexOf(':') + 1).trim().split("\\s+"));
        Isa expected = f.containsAll(java.util.List.of("avx512f", "avx512bw", "avx512vl", "avx512dq")) ? Isa.AVX512
                : f.containsAll(java.util.List.of("avx2", "fma")) ? Isa.AVX2 : Isa.SCALAR;
        assertThat(PanamaCnn.detectedIsa()).isEqualTo(expected);
    }

    @Test
    void lastNativeKernelNamesTheAlgorithmAndIsaThatServedTheLastCall() {
        String isa = PanamaCnn.activeIsa().name().toLowerCase(java.util.Locale.ROOT);
        for (io.github.panamacnn.ConvAlgorithm algorithm : new io.github.panamacnn.ConvAlgorithm[] {
                io.github.panamacnn.ConvAlgorithm.WINOGRAD, io.github.panamacnn.ConvAlgorithm.DIRECT}) {
            try (io.github.panamacnn.Conv2d conv = io.github.panamacnn.Conv2d.builder(16, 16, 3, 3).padding(1)
                    .algorithm(algorithm).backend(io.github.panamacnn.Backend.nativeBackend()).build();
                 io.github.panamacnn.Tensor x = io.github.panamacnn.Tensor.zeros(1, 16, 12, 12)) {
                conv.forward(x);
                assertThat(PanamaCnn.lastNativeKernel()).as("%s", algorithm)
                        .isEqualTo(algorithm.name().toLowerCase(java.util.Locale.ROOT) + "/" + isa);
            }
        }
    }

    @Test
    void setMaxIsaRoundTrips() {
        Isa detected = PanamaCnn.detectedIsa();
        Isa saved = PanamaCnn.activeIsa();
        try {
            for (Isa cap : Isa.values()) {
                PanamaCnn.setMaxIsa(cap);
                Isa expected = cap.level() <= detected.level() ? cap : detected;
                assertThat(PanamaCnn.activeIsa()).as("cap %s", cap).isEqualTo(expected);
            }
            PanamaCnn.setMaxIsa(Isa.SCALAR);
            assertThat(PanamaCnn.activeIsa()).isEqualTo(Isa.SCALAR);
            assertThat(PanamaCnn.detectedIsa()).isEqualTo(detected); // the cap never changes detection
            assertThatThrownBy(() -> PanamaCnn.setMaxIsa(null)).isInstanceOf(NullPointerException.class);
        } finally {
            PanamaCnn.setMaxIsa(saved);
        }
    }

    @Test
    void setNumThreadsRoundTripsAndRejectsOutOfRange() {
        int saved = PanamaCnn.numThreads();
        assertThat(saved).isBetween(1, 256);
        try {
            for (int n : new int[] {1, 3, 256, 2}) {
                PanamaCnn.setNumThreads(n);
                assertThat(PanamaCnn.numThreads()).isEqualTo(n);
            }
            for (int bad : new int[] {0, -1, 257, Integer.MIN_VALUE}) {
                assertThatThrownBy(() -> PanamaCnn.setNumThreads(bad))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("but was " + bad).hasMessageContaining("[1, 256]");
            }
            assertThat(PanamaCnn.numThreads()).isEqualTo(2); // unchanged by the rejected calls
        } finally {
            PanamaCnn.setNumThreads(saved);
        }
    }

    @Test
    void isaEnum() {
        assertThat(Isa.SCALAR.level()).isEqualTo(0);
        assertThat(Isa.AVX2.level()).isEqualTo(1);
        assertThat(Isa.AVX512.level()).isEqualTo(2);
        assertThat(Isa.NEON.level()).isEqualTo(3);
        for (Isa isa : Isa.values()) {
            assertThat(Isa.fromLevel(isa.level())).isEqualTo(isa);
            assertThat(Isa.parse(isa.id().toUpperCase())).isEqualTo(isa);
            assertThat(Isa.parse(" " + isa.level() + " ")).isEqualTo(isa);
            // the C names agree with the Java ones
            assertThat(NativeLibrary.isaName(isa.level())).isEqualTo(isa.id());
        }
        assertThatThrownBy(() -> Isa.fromLevel(4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4");
        assertThatThrownBy(() -> Isa.parse("sve")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sve");
    }
}
