package io.github.panamacnn.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** BackwardSplit reads CPU clocks only where its clock ids mean what it assumes (64-bit Linux). */
class BackwardSplitTest {
    @Test
    void linuxWithEightByteAddressesMeasuresCpuTime() {
        assertThat(BackwardSplit.noCpuClocksReason("Linux", 8)).isNull();
    }

    @Test
    void otherSystemsSayWhyTheCpuColumnsAreMissing() {
        // Other systems number the clocks otherwise (macOS: process 12, thread 16; FreeBSD: 15, 14, and its 2 is
        // CLOCK_PROF): reading ids 2 and 3 there would fail or measure something else.
        assertThat(BackwardSplit.noCpuClocksReason("Mac OS X", 8)).contains("Linux").contains("Mac OS X");
        assertThat(BackwardSplit.noCpuClocksReason("Windows 11", 8)).contains("Linux").contains("Windows 11");
        assertThat(BackwardSplit.noCpuClocksReason("Linux", 4)).contains("64-bit").contains("4-byte");
    }
}
