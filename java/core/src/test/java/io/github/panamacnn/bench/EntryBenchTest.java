package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.MaxPool2d;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** EntryBench's {@code buffers} parameter (max-pool rows), as LayerBench's: the sets it sets up and their use. */
class EntryBenchTest {

    private static EntryBench bench(String shape, String buffers) {
        EntryBench b = new EntryBench();
        b.shape = shape;
        b.threads = 1;
        b.buffers = buffers;
        return b;
    }

    @Test
    void sameKeepsOneSetOfBuffers() {
        EntryBench b = bench("pool_small", "same");
        b.setUp();
        try {
            assertThat(b.sets()).isEqualTo(1);
            assertThat(b.forward()).isZero();
            long first = b.lastDestination(true).address();
            assertThat(b.forward()).isZero();
            assertThat(b.lastDestination(true).address()).isEqualTo(first);
        } finally {
            b.tearDown();
        }
    }

    @Test
    void maxPoolRowsCallTheEntryPointsOfTheLayersMask() {
        // the entry calls time the mask the training MaxPool2d keeps for this shape
        BenchShapes s = BenchShapes.named("pool_small");
        EntryBench b = bench("pool_small", "same");
        b.setUp();
        try (MaxPool2d layer = MaxPool2d.builder(s.kh(), s.kw()).stride(s.stride()).padding(s.pad()).build()) {
            // pool_small's 784 outputs are below TAP_MASK_MIN_OUTPUTS: the layer keeps int32 indices there
            assertThat(layer.maskKind(s.srcShape())).isEqualTo(IndexBuffer.Kind.INT32);
            assertThat(b.tapMask()).isFalse();
            assertThat(b.forward()).isZero();
            assertThat(b.backward()).isZero();
        } finally {
            b.tearDown();
        }
    }

    @Test
    void rotatedCyclesThroughDistinctSetsWithTheSameResults() {
        EntryBench b = bench("pool_lenet", "rotated");
        b.setUp();
        try {
            int k = b.sets();
            assertThat(k).isEqualTo(LayerBench.rotationSets((64L * 6 * 24 * 24 + 64L * 6 * 12 * 12) * 4)).isEqualTo(62);
            for (boolean forward : new boolean[] {true, false}) {
                Set<Long> addresses = new HashSet<>();
                float[] expected = null;
                long firstAddress = 0;
                for (int i = 0; i < k; i++) {
                    assertThat(forward ? b.forward() : b.backward()).isZero();
                    MemorySegment out = b.lastDestination(forward);
                    float[] values = out.toArray(ValueLayout.JAVA_FLOAT);
                    if (i == 0) {
                        expected = values;
                        firstAddress = out.address();
                    } else {
                        assertThat(values).as("forward %s, set %d", forward, i).isEqualTo(expected);
                    }
                    addresses.add(out.address());
                }
                assertThat(addresses).as("forward %s", forward).hasSize(k);
                assertThat(forward ? b.forward() : b.backward()).isZero();
                assertThat(b.lastDestination(forward).address()).as("after K calls, the first set again")
                        .isEqualTo(firstAddress);
                // Back to the set before the first one, so the other pass starts where this one did.
                for (int i = 1; i < k; i++) {
                    assertThat(forward ? b.forward() : b.backward()).isZero();
                }
            }
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
    void bothBenchesDefaultToTheSameBuffersOutsideJmh() {
        // PathCompare and BackwardSplit build the benches without JMH, so without setting `buffers`.
        LayerBench layer = new LayerBench();
        layer.shape = "pool_small";
        layer.threads = 1;
        EntryBench entry = new EntryBench();
        entry.shape = "pool_small";
        entry.threads = 1;
        layer.setUp();
        entry.setUp();
        try {
            assertThat(layer.copies()).isEqualTo(1);
            assertThat(entry.sets()).isEqualTo(1);
        } finally {
            layer.tearDown();
            entry.tearDown();
        }
    }
}
