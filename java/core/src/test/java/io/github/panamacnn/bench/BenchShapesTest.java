package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2d;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.MaxPool2dGeometry;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class BenchShapesTest {

    @Test
    void parsesRowsCommentsAndTheOptionalGroupsAndDilationColumns() {
        List<BenchShapes> s = BenchShapes.parse(List.of(
                "# name op N C H W OC kh kw stride pad",
                "",
                "a   conv     2  4  9  7  6  3  5  2  1   # trailing comment",
                "dw  conv     1  8  5  5  8  3  3  1  1  8",
                "p   maxpool  3  5  6  6  5  2  2  2  0",
                "dil conv     1  4  11 10 6  3  3  1  1  2  3"), "fixture");
        assertThat(s).containsExactly(
                new BenchShapes("a", "conv", 2, 4, 9, 7, 6, 3, 5, 2, 1, 1, 1),
                new BenchShapes("dw", "conv", 1, 8, 5, 5, 8, 3, 3, 1, 1, 8, 1),
                new BenchShapes("p", "maxpool", 3, 5, 6, 6, 5, 2, 2, 2, 0, 1, 1),
                new BenchShapes("dil", "conv", 1, 4, 11, 10, 6, 3, 3, 1, 1, 2, 3));
        assertThat(s.get(1).geometry().groups()).isEqualTo(8);
        assertThat(s.get(0).geometry().oh()).isEqualTo(5); // (9 + 2 - 3) / 2 + 1
        assertThat(s.get(0).geometry().dilationH()).isEqualTo(1);
        // The dilation reaches the geometry: a 3x3 kernel with dilation 3 spans 7 pixels.
        assertThat(s.get(3).geometry().groups()).isEqualTo(2);
        assertThat(s.get(3).geometry().dilationH()).isEqualTo(3);
        assertThat(s.get(3).geometry().dilationW()).isEqualTo(3);
        assertThat(s.get(3).geometry().oh()).isEqualTo(7); // (11 + 2 - 7) / 1 + 1
        assertThat(s.get(3).geometry().ow()).isEqualTo(6); // (10 + 2 - 7) / 1 + 1
        assertThat(s.get(2).isMaxPool()).isTrue();
        assertThatThrownBy(() -> s.get(2).geometry()).hasMessageContaining("p is a maxpool row");
    }

    @Test
    void badLinesNameTheFileLineAndColumn() {
        assertThatThrownBy(() -> BenchShapes.parse(List.of("#", "a conv 1 2 3 4 5 6 7 8"), "f.txt"))
                .hasMessageContaining("f.txt:2").hasMessageContaining("expected 11 to 13 columns, got 10");
        assertThatThrownBy(() -> BenchShapes.parse(List.of("a conv 1 2 3 4 5 6 7 8 9 1 1 1"), "f.txt"))
                .hasMessageContaining("expected 11 to 13 columns, got 14");
        assertThatThrownBy(() -> BenchShapes.parse(List.of("a conv 1 1 9 9 1 3 3 1 0 1 0"), "f.txt"))
                .hasMessageContaining("f.txt:1").hasMessageContaining("dilation (column 13) must be >= 1")
                .hasMessageContaining("got 0");
        assertThatThrownBy(() -> BenchShapes.parse(List.of("p maxpool 1 1 9 9 1 3 3 1 0 1 2"), "f.txt"))
                .hasMessageContaining("1 for maxpool, got 2");
        assertThatThrownBy(() -> BenchShapes.parse(List.of("a avgpool 1 1 4 4 1 2 2 2 0"), "f.txt"))
                .hasMessageContaining("f.txt:1").hasMessageContaining("avgpool");
        assertThatThrownBy(() -> BenchShapes.parse(List.of("a conv 1 1 4 x 1 2 2 2 0"), "f.txt"))
                .hasMessageContaining("column 6 is not an integer: x");
    }

    /**
     * Every row of the real bench/shapes.txt is one LayerBench can build (unique name, valid geometry),
     * and the file has the rows issue 8 asks for: grouped (1 < groups < C_in) and dilated convolutions.
     */
    @Test
    void everyRowOfTheShapesFileIsAValidLayer() {
        List<BenchShapes> all = BenchShapes.all();
        assertThat(all).isNotEmpty();
        Set<String> names = new HashSet<>();
        for (BenchShapes s : all) {
            assertThat(names.add(s.name())).as("duplicate name %s", s.name()).isTrue();
            if (s.isConv()) {
                assertThat(s.geometry().groups()).isEqualTo(s.groups());
                assertThat(s.geometry().dilationH()).isEqualTo(s.dilation());
                // LayerBench's layer has the row's geometry (a dropped stride, pad or dilation changes H_out x W_out).
                try (Conv2d conv = LayerBench.convFor(s, Backend.reference())) {
                    Conv2dGeometry g = s.geometry();
                    assertThat(conv.outputShape(s.srcShape())).as(s.name()).containsExactly(g.n(), g.oc(), g.oh(), g.ow());
                }
            } else {
                assertThat(s.isMaxPool()).as(s.name()).isTrue();
                assertThat(s.oc()).as("%s: C_out == C_in", s.name()).isEqualTo(s.c());
                MaxPool2dGeometry.of(s.n(), s.c(), s.h(), s.w(), s.kh(), s.kw(), s.stride(), s.stride(), s.pad(), s.pad(),
                        s.pad(), s.pad(), 1, 1, false);
            }
        }
        assertThat(all).anyMatch(s -> s.isConv() && s.groups() > 1 && s.groups() < s.c());
        assertThat(all).anyMatch(s -> s.isConv() && s.dilation() > 1);
        assertThat(BenchShapes.named(all.get(0).name())).isEqualTo(all.get(0));
        assertThatThrownBy(() -> BenchShapes.named("no such shape")).hasMessageContaining("no shape named 'no such shape'");
    }
}
