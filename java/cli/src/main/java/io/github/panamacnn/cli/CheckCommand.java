package io.github.panamacnn.cli;

import io.github.panamacnn.verify.ShapeCorpus;
import io.github.panamacnn.Backend;
import io.github.panamacnn.Isa;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code panama-cnn check}: cross-checks the native kernels against the pure-Java reference
 * over the shape corpus ({@link ShapeCorpus}), for all five ops (max pooling with each mask: int32 plane
 * offsets and, for windows of at most 256 taps, the compact tap mask).
 */
@Command(name = "check",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
                "Cross-checks the native kernels against the pure-Java reference over the shape corpus, "
                        + "for conv2d forward, backward-data, backward-weights and max-pool forward, backward.",
                "Inputs are seeded random floats. Convolution: every element must lie within the rounding-error "
                        + "bound of nativeimpl.Tolerance (err/bound <= 1). Max-pool: values and indices bit-exact.",
                "Columns: max abs err = max |native - reference| (the double-precision reference for conv); "
                        + "max rel err = max abs err / max |reference|; err/bound = worst ratio of an element's "
                        + "error to its bound; native ms / ref ms = median times of the native and the reference "
                        + "backend.",
                "Exit status: 0 when every check passes, 1 when one fails or native is unavailable."})
final class CheckCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /** Where the backend under test comes from: the native backend, or a stand-in in the tests. */
    private final Supplier<Backend> backendUnderTest;

    CheckCommand() {
        this(Backend::nativeBackend);
    }

    /** For tests: check {@code backendUnderTest} instead of the native backend. */
    CheckCommand(Supplier<Backend> backendUnderTest) {
        this.backendUnderTest = backendUnderTest;
    }

    @Option(names = "--isa", paramLabel = "LEVEL", converter = IsaConverter.class,
            description = "Cap the native ISA: scalar, avx2, avx512 or neon (default: the active level, "
                    + "i.e. the best the CPU supports unless PANAMACNN_MAX_ISA / panamacnn.maxIsa caps it).")
    Isa isa;

    @Option(names = "--threads", paramLabel = "N",
            description = "Native kernel threads, 1..256 (default: the library's current count).")
    Integer threads;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "Seed of the random inputs (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
    Path json;

    @Option(names = "--filter", paramLabel = "REGEX",
            description = "Only the shapes whose name contains a match of REGEX.")
    String filter;

    @Option(names = "--random", paramLabel = "N", defaultValue = "0",
            description = "Also check N random conv and N random pool geometries drawn from --seed "
                    + "(default: ${DEFAULT-VALUE}).")
    int random;

    @Option(names = "--quick",
            description = "A reduced run: the 3 smallest conv and 2 smallest pool shapes (after --filter), "
                    + "timed once without warm-up.")
    boolean quick;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "5",
            description = "Timed runs per op and backend; the median is reported (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2",
            description = "Untimed runs before timing (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--list", description = "List the shapes that would be checked, and exit.")
    boolean list;

    /** Parses scalar / avx2 / avx512 / neon (or 0 / 1 / 2 / 3) with a message that names the choices. */
    static final class IsaConverter implements CommandLine.ITypeConverter<Isa> {
        @Override
        public Isa convert(String value) {
            try {
                return Isa.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(
                        "'" + value + "' is not an ISA level; expected one of scalar, avx2, avx512, neon");
            }
        }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (runs < 1) {
            throw new ParameterException(spec.commandLine(), "--runs must be >= 1 but was " + runs);
        }
        if (warmup < 0) {
            throw new ParameterException(spec.commandLine(), "--warmup must be >= 0 but was " + warmup);
        }
        if (threads != null && (threads < 1 || threads > 256)) {
            throw new ParameterException(spec.commandLine(), "--threads must be in 1..256 but was " + threads);
        }
        if (random < 0) {
            throw new ParameterException(spec.commandLine(), "--random must be >= 0 but was " + random);
        }
        Pattern pattern = null;
        if (filter != null) {
            try {
                pattern = Pattern.compile(filter);
            } catch (PatternSyntaxException e) {
                throw new ParameterException(spec.commandLine(), "--filter: bad regular expression: "
                        + e.getMessage());
            }
        }

        List<ShapeCorpus.ConvCase> allConvs = new ArrayList<>(ShapeCorpus.conv());
        List<ShapeCorpus.PoolCase> allPools = new ArrayList<>(ShapeCorpus.pool());
        if (random > 0) {
            allConvs.addAll(ShapeCorpus.randomConv(seed, random));
            allPools.addAll(ShapeCorpus.randomPool(seed, random));
        }
        List<ShapeCorpus.ConvCase> convs = new ArrayList<>();
        for (ShapeCorpus.ConvCase c : allConvs) {
            if (pattern == null || pattern.matcher(c.name()).find()) {
                convs.add(c);
            }
        }
        List<ShapeCorpus.PoolCase> pools = new ArrayList<>();
        for (ShapeCorpus.PoolCase p : allPools) {
            if (pattern == null || pattern.matcher(p.name()).find()) {
                pools.add(p);
            }
        }
        if (quick) {
            convs.sort(Comparator.comparingDouble(c -> c.g().flops()));
            pools.sort(Comparator.comparingLong(p -> p.g().dstElementCount() * p.g().kh() * p.g().kw()));
            convs = new ArrayList<>(convs.subList(0, Math.min(3, convs.size())));
            pools = new ArrayList<>(pools.subList(0, Math.min(2, pools.size())));
        }
        if (convs.isEmpty() && pools.isEmpty()) {
            err.println("check: no shape matches --filter " + filter);
            err.flush();
            return 1;
        }
        if (list) {
            convs.forEach(c -> out.println("conv  " + c.name() + "  " + c.g()));
            pools.forEach(p -> out.println("pool  " + p.name() + "  " + p.g()));
            out.flush();
            return 0;
        }

        Backend nativeBackend;
        try {
            nativeBackend = backendUnderTest.get();
        } catch (RuntimeException | LinkageError e) {
            err.println("check: the native library is unavailable, nothing to check: "
                    + NativeFacade.failureReason().orElse(String.valueOf(e.getMessage())));
            err.flush();
            return 1;
        }
        Backend reference = Backend.reference();

        Isa previousIsa = NativeFacade.activeIsa();
        int previousThreads = NativeFacade.numThreads();
        try {
            if (isa != null) {
                NativeFacade.setMaxIsa(isa);
            }
            if (threads != null) {
                NativeFacade.setNumThreads(threads);
            }
            Isa active = NativeFacade.activeIsa();
            int activeThreads = NativeFacade.numThreads();
            out.printf("native ISA: %s (detected %s)%s, threads: %d, seed: %d, shapes: %d conv + %d pool%n",
                    active.id(), NativeFacade.detectedIsa().id(),
                    isa != null && active != isa ? " [--isa " + isa.id() + " is above what this CPU supports]" : "",
                    activeThreads, seed, convs.size(), pools.size());
            out.flush();

            CrossCheck check = new CrossCheck(nativeBackend, reference, seed, quick ? 0 : warmup,
                    quick ? 1 : runs);
            int nameWidth = 5;
            for (ShapeCorpus.ConvCase c : convs) {
                nameWidth = Math.max(nameWidth, c.name().length());
            }
            for (ShapeCorpus.PoolCase p : pools) {
                nameWidth = Math.max(nameWidth, p.name().length());
            }
            Table table = new Table(out, nameWidth);
            table.header();
            List<CrossCheck.Row> rows = new ArrayList<>();
            for (ShapeCorpus.ConvCase c : convs) {
                for (CrossCheck.Row r : check.conv(c.name(), c.g())) {
                    rows.add(r);
                    table.row(r);
                }
            }
            for (ShapeCorpus.PoolCase p : pools) {
                for (CrossCheck.Row r : check.pool(p.name(), p.g())) {
                    rows.add(r);
                    table.row(r);
                }
            }
            long failed = rows.stream().filter(r -> !r.ok()).count();
            out.println();
            if (failed == 0) {
                out.printf("PASS: all %d checks passed on ISA %s%n", rows.size(), active.id());
            } else {
                out.printf("FAIL: %d of %d checks failed on ISA %s (seed %d)%n", failed, rows.size(), active.id(),
                        seed);
                for (CrossCheck.Row r : rows) {
                    if (!r.ok()) {
                        out.printf("  %s %s: %s%n    %s%n", r.shape(), r.op(), r.note(), r.geometry());
                    }
                }
            }
            out.flush();
            if (json != null) {
                try {
                    Path parent = json.toAbsolutePath().getParent();
                    if (parent != null) {
                        Files.createDirectories(parent);
                    }
                    Files.writeString(json, Json.report(active.id(), activeThreads, seed, failed == 0, rows));
                } catch (IOException e) {
                    err.println("check: cannot write " + json + ": " + e.getMessage());
                    err.flush();
                    return 1;
                }
                out.println("wrote " + json);
                out.flush();
            }
            return failed == 0 ? 0 : 1;
        } finally {
            NativeFacade.setMaxIsa(previousIsa);
            NativeFacade.setNumThreads(previousThreads);
        }
    }

    /** The fixed-width result table. */
    private static final class Table {
        private final PrintWriter out;
        private final String format;
        private final String headerFormat;

        Table(PrintWriter out, int nameWidth) {
            this.out = out;
            this.headerFormat = "%-" + nameWidth + "s  %-18s  %11s  %11s  %9s  %-4s  %10s  %10s%n";
            this.format = "%-" + nameWidth + "s  %-18s  %11s  %11s  %9s  %-4s  %10s  %10s%n";
        }

        void header() {
            out.printf(headerFormat, "shape", "op", "max abs err", "max rel err", "err/bound", "ok", "native ms",
                    "ref ms");
            out.flush();
        }

        void row(CrossCheck.Row r) {
            out.printf(format, r.shape(), r.op(), sci(r.maxAbsError()), sci(r.maxRelError()),
                    Double.isNaN(r.errorOverBound()) ? (r.ok() || !Double.isNaN(r.maxAbsError()) ? "exact" : "-")
                            : String.format(Locale.ROOT, "%.3f", r.errorOverBound()),
                    r.ok() ? "ok" : "FAIL", ms(r.nativeMillis()), ms(r.referenceMillis()));
            out.flush();
        }

        private static String sci(double v) {
            return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3e", v);
        }

        private static String ms(double v) {
            return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
        }
    }
}
