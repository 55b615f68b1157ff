package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

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
}
