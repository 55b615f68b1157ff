package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.Tensor;

import java.util.IdentityHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** LayerBench's {@code buffers} parameter: the copies it sets up and how its timed calls use them. */
class LayerBenchTest {

    private static LayerBench bench(String shape, String buffers) {
        LayerBench b = new LayerBench();
        b.shape = shape;
        b.threads = 1;
        b.buffers = buffers;
        return b;
    }

    @Test
    void rotationSetsFollowTheNativeBenchsRule() {
        // native/bench/bench_common.h: pool_resnet, pool_mid 4; pool_lenet 62; pool_small 4811 (src + dst floats * 4)
        assertThat(LayerBench.rotationSets((8L * 64 * 112 * 112 + 8L * 64 * 56 * 56) * 4)).isEqualTo(4);
        assertThat(LayerBench.rotationSets((32L * 64 * 56 * 56 + 32L * 64 * 28 * 28) * 4)).isEqualTo(4);
        assertThat(LayerBench.rotationSets((64L * 6 * 24 * 24 + 64L * 6 * 12 * 12) * 4)).isEqualTo(62);
        assertThat(LayerBench.rotationSets((16L * 13 * 13 + 16L * 7 * 7) * 4)).isEqualTo(4811);
        assertThat(LayerBench.rotationSets(1L << 40)).isEqualTo(3); // at least 3
    }

    @Test
    void sameKeepsOneLayerAndItsTensors() {
        LayerBench b = bench("pool_small", "same");
        b.setUp();
        try {
            assertThat(b.copies()).isEqualTo(1);
            Tensor first = b.forward();
            assertThat(b.forward()).isSameAs(first);
            assertThat(b.backward()).isSameAs(b.backward());
        } finally {
            b.tearDown();
        }
    }

    @Test
    void rotatedCyclesThroughDistinctCopiesWithTheSameResults() {
        LayerBench b = bench("pool_lenet", "rotated");
        b.setUp();
        try {
            int k = b.copies();
            assertThat(k).isEqualTo(62);
            Map<Tensor, Boolean> outputs = new IdentityHashMap<>();
            Map<Tensor, Boolean> grads = new IdentityHashMap<>();
            Tensor out0 = b.forward();
            float[] expected = out0.toArray();
            outputs.put(out0, true);
            for (int i = 1; i < k; i++) {
                Tensor out = b.forward();
                assertThat(out.toArray()).as("copy %d", i).isEqualTo(expected);
                outputs.put(out, true);
            }
            assertThat(outputs).hasSize(k);
            assertThat(b.forward()).as("after K calls, the first copy again").isSameAs(out0);
            Tensor dx0 = b.backward();
            float[] expectedDx = dx0.toArray();
            grads.put(dx0, true);
            for (int i = 1; i < k; i++) {
                Tensor dx = b.backward();
                assertThat(dx.toArray()).as("copy %d", i).isEqualTo(expectedDx);
                grads.put(dx, true);
            }
            assertThat(grads).hasSize(k);
        } finally {
            b.tearDown();
        }
    }

    @Test
    void rotatedIsForMaxPoolRowsOnlyAndBuffersMustBeKnown() {
        BuffersParameterChecks.rotatedIsForMaxPoolRowsOnlyAndBuffersMustBeKnown(
                (shape, buffers) -> bench(shape, buffers)::setUp);
    }

    @Test
    void evalModeTimesTheMaxPoolForwardWithoutIndicesAndTheSameValues() {
        LayerBench train = bench("pool_small", "same");
        LayerBench eval = bench("pool_small", "same");
        eval.mode = "eval";
        train.setUp();
        eval.setUp();
        try {
            assertThat(train.training()).isTrue();
            assertThat(eval.training()).isFalse();
            // same seeded input: the eval forward gives the training forward's maxima
            assertThat(eval.forward().toArray()).isEqualTo(train.forward().toArray());
        } finally {
            train.tearDown();
            eval.tearDown();
        }
        LayerBench conv = bench("seed_tiny", "same");
        conv.mode = "eval";
        assertThatThrownBy(conv::setUp).hasMessageContaining("seed_tiny: mode=eval is for max-pool rows only");
        LayerBench bad = bench("pool_small", "same");
        bad.mode = "inference";
        assertThatThrownBy(bad::setUp).hasMessageContaining("mode must be train or eval, got 'inference'");
    }
}
