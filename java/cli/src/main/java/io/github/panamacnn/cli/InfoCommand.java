package io.github.panamacnn.cli;

import io.github.panamacnn.Backend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code panama-cnn info}: platform, native library, ISA, threads and backend. */
@Command(name = "info",
        mixinStandardHelpOptions = true,
        description = "Prints the platform, the native library in use, the detected and active ISA, "
                + "the thread count, the default backend and the ABI version (or why native is unavailable).")
final class InfoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        row(out, "os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        row(out, "arch", System.getProperty("os.arch"));
        row(out, "java", Runtime.version() + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.home") + ")");
        row(out, "cpu", cpuModel().orElse("unknown (no /proc/cpuinfo)"));
        row(out, "cpus available", Integer.toString(Runtime.getRuntime().availableProcessors()));

        row(out, "jar platforms", NativeFacade.bundledPlatforms());
        Optional<String> failure = NativeFacade.failureReason();
        if (failure.isPresent()) {
            row(out, "native library", "unavailable");
            row(out, "reason", failure.get());
        } else {
            row(out, "native library", NativeFacade.libraryPath());
            row(out, "ABI version", NativeFacade.abiVersion());
            row(out, "ISA detected", NativeFacade.detectedIsa().id());
            row(out, "ISA active", NativeFacade.activeIsa().id() + capSource());
            row(out, "threads", Integer.toString(NativeFacade.numThreads()));
            row(out, "conv algorithm", convAlgorithm());
        }
        String backend;
        try {
            backend = Backend.defaultBackend().name();
        } catch (RuntimeException e) {
            backend = "unavailable (" + e.getMessage() + ")";
        }
        row(out, "default backend", backend + " (panamacnn.backend="
                + System.getProperty("panamacnn.backend", "auto") + ")");
        out.flush();
        return 0;
    }

    private static String capSource() {
        String prop = System.getProperty("panamacnn.maxIsa");
        if (prop != null) {
            return " (capped by -Dpanamacnn.maxIsa=" + prop + ")";
        }
        String env = System.getenv("PANAMACNN_MAX_ISA");
        if (env != null) {
            return " (capped by PANAMACNN_MAX_ISA=" + env + ")";
        }
        return "";
    }

    static void row(PrintWriter out, String key, String value) {
        out.printf("%-16s %s%n", key + ":", value);
    }

    /** The "model name" line of /proc/cpuinfo, when there is one. */
    static Optional<String> cpuModel() {
        Path p = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(p)) {
            return Optional.empty();
        }
        try (Stream<String> lines = Files.lines(p)) {
            return lines.filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).strip())
                    .findFirst();
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty();
        }
    }

    /** The default convolution algorithm and how AUTO chooses (or why the property is invalid). */
    private static String convAlgorithm() {
        try {
            return io.github.panamacnn.ConvAlgorithm.defaultAlgorithm().name().toLowerCase(java.util.Locale.ROOT)
                    + " (panamacnn.conv.algorithm; auto: Winograd F(4x4,3x3) for 3x3 stride-1 layers with >= 16 channels in and out"
                    + " and rows of enough 4x4 tiles to fill its vector lanes (dilated ones with >= 128 through the dilated"
                    + " phase frame, AVX-512, AVX2), depthwise (AVX-512, AVX2) for depthwise layers,"
                    + " pointwise (gathered GEMM) for strided unpadded 1x1 layers (backward-weights: >= 16 channels per group), else direct;"
                    + " docs/winograd.md, native/src/kernels/conv2d/README.md)";
        } catch (IllegalArgumentException e) {
            return "invalid: " + e.getMessage();
        }
    }
}
