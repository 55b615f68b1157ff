package io.github.panamacnn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.Isa;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line, run in-process through picocli with captured output. */
class CliTest {

    private static final List<String> OPS =
            List.of("conv2d_fwd", "conv2d_bwd_data", "conv2d_bwd_weights", "maxpool2d_fwd", "maxpool2d_bwd",
                    "maxpool2d_fwd_taps", "maxpool2d_bwd_taps");

    /** Exit code, standard output and standard error of one run. */
    record Run(int exit, String out, String err) {
    }

    private static Run run(CommandLine cl, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static Run run(String... args) {
        return run(Main.commandLine(), args);
    }

    /** The result rows of a check table: shape, op, ok column. */
    private static List<String[]> rows(String out) {
        Pattern row = Pattern.compile("^(\\S+)\\s+(conv2d_\\w+|maxpool2d_\\w+)\\s+\\S+\\s+\\S+\\s+\\S+\\s+(ok|FAIL)\\s",
                Pattern.MULTILINE);
        Matcher m = row.matcher(out);
        List<String[]> rows = new ArrayList<>();
        while (m.find()) {
            rows.add(new String[] {m.group(1), m.group(2), m.group(3)});
        }
        return rows;
    }

    /**
     * Every command's help renders without picocli's format fallback: a bare '%' in a description
     * makes picocli print a WARN on System.err and show the raw text.
     */
    @Test
    void everyHelpTextFormatsCleanly() {
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.err;
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            CommandLine main = Main.commandLine();
            StringBuilder all = new StringBuilder(main.getUsageMessage());
            main.getSubcommands().values().forEach(sub -> all.append(sub.getUsageMessage()));
            assertThat(all.toString()).contains("train").contains("predict");
        } finally {
            System.setErr(saved);
        }
        assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("picocli WARN");
    }

    @Test
    void noArgumentsPrintsUsageWithTheSubcommands() {
        Run r = run();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("Usage: panama-cnn").contains("info").contains("check");
    }

    @Test
    void infoPrintsTheActiveIsaAndTheLibraryPath() {
        Run r = run("info");
        assertThat(r.exit()).as(r.err()).isZero();
        Path lib = PanamaCnn.libraryPath().orElseThrow();
        assertThat(r.out())
                .containsPattern("(?m)^ISA active:\\s+" + PanamaCnn.activeIsa().id() + "\\b")
                .containsPattern("(?m)^ISA detected:\\s+" + PanamaCnn.detectedIsa().id() + "\\b")
                .containsPattern("(?m)^native library:\\s+" + Pattern.quote(lib.toString()) + "$")
                .containsPattern("(?m)^threads:\\s+" + PanamaCnn.numThreads() + "$")
                .containsPattern("(?m)^default backend:\\s+native\\b");
        assertThat(lib).isRegularFile();
    }

    @Test
    void infoListsThePlatformsTheJarCarries() {
        Run r = run("info");
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> carried = PanamaCnn.bundledPlatforms();
        assertThat(carried).contains(PanamaCnn.platform());
        assertThat(r.out()).containsPattern("(?m)^jar platforms:\\s+" + Pattern.quote(String.join(", ", carried))
                + " \\(this platform: " + Pattern.quote(PanamaCnn.platform()) + "\\)$");
    }

    @Test
    void quickCheckPassesAndPrintsARowPerOp(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("sub/check.json");
        Run r = run("check", "--seed", "1", "--quick", "--json", json.toString());
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        List<String[]> rows = rows(r.out());
        // --quick: 3 conv shapes x 3 ops + 2 pool shapes x 4 ops (int32 and tap masks, forward and backward)
        assertThat(rows).hasSize(3 * 3 + 2 * 4);
        assertThat(rows).allSatisfy(row -> assertThat(row[2]).isEqualTo("ok"));
        assertThat(rows.stream().map(row -> row[1]).distinct().toList()).containsExactlyInAnyOrderElementsOf(OPS);
        assertThat(r.out()).contains("PASS: all 17 checks passed");
        String text = Files.readString(json);
        assertThat(text).contains("\"ok\": true").contains("\"seed\": 1");
        assertThat(Pattern.compile("\"op\": ").matcher(text).results().count()).isEqualTo(17);
    }

    @Test
    void filterSelectsShapesByName() {
        Run r = run("check", "--seed", "3", "--runs", "1", "--warmup", "0", "--filter", "^depthwise-3x3$|^ceil-mode$");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(rows(r.out())).extracting(row -> row[0] + " " + row[1]).containsExactly(
                "depthwise-3x3 conv2d_fwd", "depthwise-3x3 conv2d_bwd_data", "depthwise-3x3 conv2d_bwd_weights",
                "ceil-mode maxpool2d_fwd", "ceil-mode maxpool2d_bwd", "ceil-mode maxpool2d_fwd_taps",
                "ceil-mode maxpool2d_bwd_taps");
    }

    @Test
    void isaCapIsAppliedAndRestored() {
        Isa before = PanamaCnn.activeIsa();
        Run r = run("check", "--quick", "--isa", "scalar", "--threads", "1");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("native ISA: scalar").contains("threads: 1,");
        assertThat(PanamaCnn.activeIsa()).isEqualTo(before);
    }

    @Test
    void badIsaValueIsAClearUsageError() {
        Run r = run("check", "--isa", "sse9");
        assertThat(r.exit()).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(r.err()).contains("--isa").contains("sse9").contains("expected one of scalar, avx2, avx512");
        assertThat(rows(r.out())).isEmpty();
    }

    @Test
    void badThreadCountIsAUsageError() {
        Run r = run("check", "--threads", "0");
        assertThat(r.exit()).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(r.err()).contains("--threads must be in 1..256 but was 0");
    }

    @Test
    void filterMatchingNothingFails() {
        Run r = run("check", "--filter", "no-such-shape");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("no shape matches --filter no-such-shape");
    }

    // ---------------------------------------------------------------- the check can fail

    private static Run checkWith(Backend underTest, String filter) {
        CommandLine cl = new CommandLine(new CheckCommand(() -> underTest));
        return run(cl, "--seed", "1", "--runs", "1", "--warmup", "0", "--filter", filter);
    }

    @Test
    void convResultOutsideTheBoundFailsTheCheck() {
        // one element off by 1e-3: far above gamma(K)*S for these small reductions
        Backend wrong = new Tampered(Backend.reference(), t -> t.set(5, t.get(5) + 1e-3f), null, null);
        Run r = checkWith(wrong, "^basic-3x3$");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(rows(r.out())).extracting(row -> row[1] + " " + row[2])
                .containsExactly("conv2d_fwd FAIL", "conv2d_bwd_data ok", "conv2d_bwd_weights ok");
        assertThat(r.out()).contains("FAIL: 1 of 3 checks failed").contains("element 5");
    }

    @Test
    void unwrittenOutputElementFailsTheCheck() {
        // bwd-data that never writes its last element (the check pre-fills outputs with NaN)
        Backend lazy = new Tampered(Backend.reference(), null, t -> t.set(t.elementCount() - 1, Float.NaN), null);
        Run r = checkWith(lazy, "^stride-gt-kernel-1x1-4x2$");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(rows(r.out())).extracting(row -> row[1] + " " + row[2])
                .containsExactly("conv2d_fwd ok", "conv2d_bwd_data FAIL", "conv2d_bwd_weights ok");
    }

    @Test
    void maxPoolMustBeBitExact() {
        // one ulp on one max-pool output is a failure: no tolerance for max pooling
        Backend ulp = new Tampered(Backend.reference(), null, null, t -> t.set(0, Math.nextUp(t.get(0))));
        Run r = checkWith(ulp, "^2x2-stride-2$");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(rows(r.out())).extracting(row -> row[1] + " " + row[2])
                .containsExactly("maxpool2d_fwd FAIL", "maxpool2d_bwd ok", "maxpool2d_fwd_taps FAIL",
                        "maxpool2d_bwd_taps ok");
        assertThat(r.out()).contains("bit-identical");
    }

    @Test
    void jsonEscapesStringsAndWritesNullForNonFiniteNumbers() {
        assertThat(Json.str("a\"b\\c\nd\u0001")).isEqualTo("\"a\\\"b\\\\c\\nd\\u0001\"");
        assertThat(Json.num(Double.NaN)).isEqualTo("null");
        assertThat(Json.num(Double.POSITIVE_INFINITY)).isEqualTo("null");
        assertThat(Double.parseDouble(Json.num(1.5e-7))).isEqualTo(1.5e-7);
    }

    /** Delegates to a backend, then damages the output of conv forward, conv bwd-data or max-pool forward. */
    private static final class Tampered implements Backend {
        private final Backend inner;
        private final Consumer<Tensor> fwd;
        private final Consumer<Tensor> bwdData;
        private final Consumer<Tensor> poolFwd;

        Tampered(Backend inner, Consumer<Tensor> fwd, Consumer<Tensor> bwdData, Consumer<Tensor> poolFwd) {
            this.inner = inner;
            this.fwd = fwd;
            this.bwdData = bwdData;
            this.poolFwd = poolFwd;
        }

        @Override
        public String name() {
            return "tampered";
        }

        @Override
        public void conv2dForward(Conv2dGeometry g, Tensor src, Tensor weights, Tensor bias, Tensor dst) {
            inner.conv2dForward(g, src, weights, bias, dst);
            if (fwd != null) {
                fwd.accept(dst);
            }
        }

        @Override
        public void conv2dBackwardData(Conv2dGeometry g, Tensor diffDst, Tensor weights, Tensor diffSrc) {
            inner.conv2dBackwardData(g, diffDst, weights, diffSrc);
            if (bwdData != null) {
                bwdData.accept(diffSrc);
            }
        }

        @Override
        public void conv2dBackwardWeights(Conv2dGeometry g, Tensor src, Tensor diffDst, Tensor diffWeights,
                                          Tensor diffBias) {
            inner.conv2dBackwardWeights(g, src, diffDst, diffWeights, diffBias);
        }

        @Override
        public void maxPool2dForward(MaxPool2dGeometry g, Tensor src, Tensor dst, IndexBuffer indices) {
            inner.maxPool2dForward(g, src, dst, indices);
            if (poolFwd != null) {
                poolFwd.accept(dst);
            }
        }

        @Override
        public void maxPool2dBackward(MaxPool2dGeometry g, Tensor diffDst, IndexBuffer indices, Tensor diffSrc) {
            inner.maxPool2dBackward(g, diffDst, indices, diffSrc);
        }
    }
}
