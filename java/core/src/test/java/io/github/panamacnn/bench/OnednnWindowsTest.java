package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts of {@link OnednnWindows} that need no oneDNN: when it is off, how it says what is missing, the median. */
class OnednnWindowsTest {

    @AfterEach
    void clearProperties() {
        System.clearProperty(OnednnWindows.LIBRARY_PROPERTY);
        System.clearProperty(OnednnWindows.OUT_PROPERTY);
    }

    private static BenchShapes conv() {
        return new BenchShapes("cv", "conv", 2, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1);
    }

    @Test
    void offUnlessTheShimIsNamed() {
        assertThat(OnednnWindows.fromProperties(conv(), 1, OnednnLayer.Pass.FORWARD)).isNull();
    }

    @Test
    void namesWhatIsMissing() {
        System.setProperty(OnednnWindows.LIBRARY_PROPERTY, "/nonexistent/libpcnn-onednn-layer.so");
        assertThatThrownBy(() -> OnednnWindows.fromProperties(conv(), 1, OnednnLayer.Pass.FORWARD))
                .hasMessageContaining(OnednnWindows.OUT_PROPERTY);
        System.setProperty(OnednnWindows.OUT_PROPERTY, "/tmp/never-written.jsonl");
        assertThatThrownBy(() -> OnednnWindows.fromProperties(conv(), 1, OnednnLayer.Pass.FORWARD))
                .hasMessageContaining("/nonexistent/libpcnn-onednn-layer.so does not exist");
    }

    @Test
    void medianIsTheUpperMiddleValueLikeTheNativeBench() {
        assertThat(OnednnWindows.median(new long[] {9, 1, 5})).isEqualTo(5.0);
        assertThat(OnednnWindows.median(new long[] {4, 1, 3, 2})).isEqualTo(3.0);
        assertThat(OnednnWindows.median(new long[0])).isNaN();
    }

    @Test
    void aMaxPoolRowHasNoAutoVariant() {
        BenchShapes pool = new BenchShapes("pl", "maxpool", 1, 4, 8, 8, 4, 2, 2, 2, 0, 1, 1);
        assertThat(OnednnLayer.Variant.forRow(pool)).containsExactly(OnednnLayer.Variant.NCHW,
                OnednnLayer.Variant.BLOCKED);
        assertThat(OnednnLayer.Variant.forRow(conv())).containsExactly(OnednnLayer.Variant.values());
    }

    /** Where scripts/bench.sh builds the shim (when oneDNN is installed): target/bench under the repository root. */
    private static Path builtShim() {
        Path root = BenchShapes.file().toAbsolutePath().getParent().getParent(); // <root>/bench/shapes.txt
        return root.resolve("target/bench/native/bench/libpcnn-onednn-layer.so");
    }

    /**
     * Against the real shim, when a bench run has built it on this machine (skipped otherwise, e.g. in CI's clean
     * clone): every variant of a conv row and of a max-pool row runs its passes, the windows give positive medians,
     * and the lines BenchJoin reads name the row, pass and variant; a row oneDNN rejects fails with the shim's message.
     */
    @Test
    void timesEveryVariantThroughTheBuiltShim(@TempDir Path dir) throws Exception {
        Path shim = builtShim();
        Assumptions.assumeTrue(Files.isRegularFile(shim), "no oneDNN shim at " + shim + " (./panama-cnn bench builds it)");
        Path out = dir.resolve("forks.jsonl");
        System.setProperty(OnednnWindows.LIBRARY_PROPERTY, shim.toString());
        System.setProperty(OnednnWindows.OUT_PROPERTY, out.toString());
        BenchShapes pool = new BenchShapes("pl", "maxpool", 2, 4, 9, 9, 4, 3, 3, 2, 1, 1, 1);
        record Case(BenchShapes shape, OnednnLayer.Pass pass) {
        }
        for (Case c : List.of(new Case(conv(), OnednnLayer.Pass.FORWARD), new Case(conv(), OnednnLayer.Pass.BACKWARD),
                new Case(pool, OnednnLayer.Pass.FWD_NOIDX), new Case(pool, OnednnLayer.Pass.BACKWARD))) {
            try (OnednnWindows w = OnednnWindows.fromProperties(c.shape(), 2, c.pass())) {
                w.window();
                w.window();
                for (OnednnLayer.Variant v : OnednnLayer.Variant.forRow(c.shape())) {
                    assertThat(w.medianUs(v)).as("%s %s %s", c.shape().name(), c.pass(), v).isPositive().isFinite();
                }
                w.write();
            }
        }
        List<String> lines = Files.readAllLines(out);
        assertThat(lines).hasSize(3 + 3 + 2 + 2);
        assertThat(lines.get(0)).contains("\"shape\":\"cv\"", "\"pass\":\"forward\"", "\"threads\":2",
                "\"variant\":\"nchw\"", "\"windows\":2");
        assertThat(lines.get(6)).contains("\"shape\":\"pl\"", "\"pass\":\"fwd_noidx\"", "\"variant\":\"nchw\"");
        assertThat(BenchJoin.forkOnednn(lines)).containsOnlyKeys("cv\tforward\t2", "cv\tbackward\t2",
                "pl\tfwd_noidx\t2", "pl\tbackward\t2");
        // groups that do not divide the channels: the shim names the row instead of handing it to oneDNN
        BenchShapes bad = new BenchShapes("bad", "conv", 1, 6, 8, 8, 4, 3, 3, 1, 1, 4, 1);
        assertThatThrownBy(() -> OnednnWindows.fromProperties(bad, 1, OnednnLayer.Pass.FORWARD))
                .hasMessageContaining("bad (nchw, 1 thread(s)): not a valid conv row").hasMessageContaining("groups 4");
        assertThatThrownBy(() -> OnednnWindows.fromProperties(conv(), 1, OnednnLayer.Pass.FWD_NOIDX))
                .hasMessageContaining("cv: fwd_noidx (forward_inference) is timed for max-pool rows only");
    }
}
