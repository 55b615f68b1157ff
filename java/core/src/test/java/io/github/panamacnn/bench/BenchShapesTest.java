package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.MaxPool2dGeometry;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class BenchShapesTest {

    @Test
    void parsesRowsCommentsAndTheOptionalGroupsColumn() {
        List<BenchShapes> s = BenchShapes.parse(List.of(
                "# name op N C H W OC kh kw stride pad",
                "",
                "a   conv     2  4  9  7  6  3  5  2  1   # trailing comment",
                "dw  conv     1  8  5  5  8  3  3  1  1  8",
                "p   maxpool  3  5  6  6  5  2  2  2  0"), "fixture");
        assertThat(s).containsExactly(
                new BenchShapes("a", "conv", 2, 4, 9, 7, 6, 3, 5, 2, 1, 1),
                new BenchShapes("dw", "conv", 1, 8, 5, 5, 8, 3, 3, 1, 1, 8),
                new BenchShapes("p", "maxpool", 3, 5, 6, 6, 5, 2, 2, 2, 0, 1));
        assertThat(s.get(1).geometry().groups()).isEqualTo(8);
        assertThat(s.get(0).geometry().oh()).isEqualTo(5); // (9 + 2 - 3) / 2 + 1
        assertThat(s.get(2).isMaxPool()).isTrue();
        assertThatThrownBy(() -> s.get(2).geometry()).hasMessageContaining("p is a maxpool row");
    }

    @Test
    void badLinesNameTheFileLineAndColumn() {
        assertThatThrownBy(() -> BenchShapes.parse(List.of("#", "a conv 1 2 3 4 5 6 7 8"), "f.txt"))
                .hasMessageContaining("f.txt:2").hasMessageContaining("expected 11 or 12 columns, got 10");
        assertThatThrownBy(() -> BenchShapes.parse(List.of("a avgpool 1 1 4 4 1 2 2 2 0"), "f.txt"))
                .hasMessageContaining("f.txt:1").hasMessageContaining("avgpool");
        assertThatThrownBy(() -> BenchShapes.parse(List.of("a conv 1 1 4 x 1 2 2 2 0"), "f.txt"))
                .hasMessageContaining("column 6 is not an integer: x");
    }

    /** Every row of the real bench/shapes.txt is one LayerBench can build (unique name, valid geometry). */
    @Test
    void everyRowOfTheShapesFileIsAValidLayer() {
        List<BenchShapes> all = BenchShapes.all();
        assertThat(all).isNotEmpty();
        Set<String> names = new HashSet<>();
        for (BenchShapes s : all) {
            assertThat(names.add(s.name())).as("duplicate name %s", s.name()).isTrue();
            if (s.isConv()) {
                assertThat(s.geometry().groups()).isEqualTo(s.groups());
            } else {
                assertThat(s.isMaxPool()).as(s.name()).isTrue();
                assertThat(s.oc()).as("%s: C_out == C_in", s.name()).isEqualTo(s.c());
                MaxPool2dGeometry.of(s.n(), s.c(), s.h(), s.w(), s.kh(), s.kw(), s.stride(), s.stride(), s.pad(), s.pad(),
                        s.pad(), s.pad(), 1, 1, false);
            }
        }
        assertThat(BenchShapes.named(all.get(0).name())).isEqualTo(all.get(0));
        assertThatThrownBy(() -> BenchShapes.named("no such shape")).hasMessageContaining("no shape named 'no such shape'");
    }
}
