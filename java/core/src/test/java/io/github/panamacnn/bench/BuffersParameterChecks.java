package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.function.BiFunction;

/**
 * The {@code buffers} checks that LayerBench and EntryBench both make in their setUp (each parses the
 * parameter itself, so each bench's test runs these against its own setUp).
 */
final class BuffersParameterChecks {

    private BuffersParameterChecks() {
    }

    /**
     * {@code setUpOf.apply(shape, buffers)} is the bench's setUp for that row and parameter: rotated buffers on a
     * convolution row and an unknown value are both rejected with a message naming them.
     */
    static void rotatedIsForMaxPoolRowsOnlyAndBuffersMustBeKnown(BiFunction<String, String, Runnable> setUpOf) {
        assertThatThrownBy(() -> setUpOf.apply("seed_tiny", "rotated").run())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("seed_tiny: buffers=rotated is for max-pool rows only");
        assertThatThrownBy(() -> setUpOf.apply("pool_small", "rotating").run())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("buffers must be same or rotated, got 'rotating'");
    }
}
