package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One test per class of bad input. Each expects the named exception type and a message naming
 * the parameter and the numbers. The exceptions are Java's IllegalArgumentException /
 * IllegalStateException thrown by validation, which runs before any native call (for the native
 * backend too: a native error would surface as NativeKernelException instead).
 */
class BadInputTest {

    static List<Backend> backends() {
        return List.of(Backend.reference(), Backend.nativeBackend());
    }

    // ---------------------------------------------------------------- non-positive sizes

    @Test
    void nonPositiveSizesInTheConvBuilder() {
        assertThatThrownBy(() -> Conv2d.builder(0, 4, 3, 3).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("inChannels must be >= 1 but was 0");
        assertThatThrownBy(() -> Conv2d.builder(3, -4, 3, 3).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("outChannels must be >= 1 but was -4");
        assertThatThrownBy(() -> Conv2d.builder(3, 4, 0, 3).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kernelH must be >= 1 but was 0");
        assertThatThrownBy(() -> Conv2d.builder(3, 4, 3, -1).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kernelW must be >= 1 but was -1");
        assertThatThrownBy(() -> Conv2d.builder(3, 4, 3, 3).stride(1, 0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("strideW must be >= 1 but was 0");
        assertThatThrownBy(() -> Conv2d.builder(3, 4, 3, 3).stride(-2, 1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("strideH must be >= 1 but was -2");
        assertThatThrownBy(() -> Conv2d.builder(3, 4, 3, 3).dilation(0, 1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("dilationH must be >= 1 but was 0");
        assertThatThrownBy(() -> Conv2d.builder(3, 4, 3, 3).padding(0, 0, 0, -1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("padRight must be >= 0 but was -1");
        assertThatThrownBy(() -> Conv2d.builder(3, 4, 3, 3).padding(-3).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("padTop must be >= 0 but was -3");
        assertThatThrownBy(() -> Conv2d.builder(3, 3, 3, 3).groups(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("groups must be >= 1 but was 0");
    }

    @Test
    void nonPositiveSizesInThePoolBuilder() {
        assertThatThrownBy(() -> MaxPool2d.builder(0, 2).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kernelH must be >= 1 but was 0");
        assertThatThrownBy(() -> MaxPool2d.builder(2, -2).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kernelW must be >= 1 but was -2");
        assertThatThrownBy(() -> MaxPool2d.builder(2, 2).stride(0, 1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("strideH must be >= 1 but was 0");
        assertThatThrownBy(() -> MaxPool2d.builder(2, 2).dilation(1, -1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("dilationW must be >= 1 but was -1");
        assertThatThrownBy(() -> MaxPool2d.builder(2, 2).padding(0, -1, 0, 0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("padBottom must be >= 0 but was -1");
    }

    @Test
    void nonPositiveSizesInGeometriesAndTensors() {
        assertThatThrownBy(() -> Conv2dGeometry.of(0, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("batch size n must be >= 1 but was 0");
        assertThatThrownBy(() -> Conv2dGeometry.of(1, 3, 8, -8, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("input width iw must be >= 1 but was -8");
        assertThatThrownBy(() -> MaxPool2dGeometry.of(1, 0, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("channels c must be >= 1 but was 0");
        assertThatThrownBy(() -> Tensor.zeros(1, 3, 0, 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shape dimension 2 must be >= 1 but was 0");
    }

    // ---------------------------------------------------------------- channels and groups

    @Test
    void inputChannelsNotMatchingTheLayer() {
        try (Conv2d conv = Conv2d.builder(4, 8, 3, 3).backend(Backend.reference()).build();
             Tensor x = Tensor.zeros(1, 3, 8, 8)) {
            assertThatThrownBy(() -> conv.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("input has 3 channels but the layer expects 4");
            assertThatThrownBy(() -> conv.outputShape(2, 5, 8, 8)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("input has 5 channels but the layer expects 4");
        }
    }

    @Test
    void inputOfTheWrongRank() {
        try (Conv2d conv = Conv2d.builder(3, 8, 3, 3).backend(Backend.reference()).build();
             MaxPool2d pool = MaxPool2d.builder(2, 2).backend(Backend.reference()).build();
             Tensor x = Tensor.zeros(3, 8, 8)) {
            assertThatThrownBy(() -> conv.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("rank 4").hasMessageContaining("[3, 8, 8] (rank 3)");
            assertThatThrownBy(() -> pool.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("rank 4").hasMessageContaining("[3, 8, 8] (rank 3)");
        }
    }

    @Test
    void groupsNotDividingTheChannels() {
        assertThatThrownBy(() -> Conv2d.builder(4, 6, 3, 3).groups(3).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("groups (3) must divide inChannels (4)");
        assertThatThrownBy(() -> Conv2d.builder(6, 4, 3, 3).groups(3).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("groups (3) must divide outChannels (4)");
        assertThatThrownBy(() -> Conv2dGeometry.of(1, 6, 8, 8, 10, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("groups (4) must divide input channels c (6)");
    }

    // ---------------------------------------------------------------- geometry

    @Test
    void kernelLargerThanThePaddedInput() {
        try (Conv2d conv = Conv2d.builder(1, 1, 5, 2).padding(1, 0, 0, 0).backend(Backend.reference()).build();
             Tensor x = Tensor.zeros(1, 1, 3, 3)) {
            assertThatThrownBy(() -> conv.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dilated kernel height (dilation*(k-1)+1 = 1*(5-1)+1 = 5)")
                    .hasMessageContaining("padded input height (in + padding = 3 + 1 + 0 = 4)");
        }
        try (Conv2d conv = Conv2d.builder(1, 1, 1, 3).dilation(1, 3).backend(Backend.reference()).build()) {
            // 3*(3-1)+1 = 7 > 6
            assertThatThrownBy(() -> conv.outputShape(1, 1, 9, 6)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dilated kernel width (dilation*(k-1)+1 = 3*(3-1)+1 = 7)")
                    .hasMessageContaining("(in + padding = 6 + 0 + 0 = 6)");
        }
        try (MaxPool2d pool = MaxPool2d.builder(4, 4).backend(Backend.reference()).build();
             Tensor x = Tensor.zeros(1, 1, 3, 8)) {
            assertThatThrownBy(() -> pool.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dilated pooling window height (dilation*(k-1)+1 = 4)")
                    .hasMessageContaining("(3 + 0 + 0 = 3)");
        }
    }

    @Test
    void poolingWindowEntirelyInThePadding() {
        // 1x1 kernel, stride 1, top padding 1: the first row of windows sees only padding
        try (MaxPool2d pool = MaxPool2d.builder(1, 1).padding(1, 0, 0, 0).backend(Backend.reference()).build();
             Tensor x = Tensor.zeros(1, 1, 3, 3)) {
            assertThatThrownBy(() -> pool.forward(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("pooling window 0 along the height")
                    .hasMessageContaining("lies entirely in the padding of an input of height 3 (padding 1 + 0)");
        }
        // right padding 3 with kernel 2, stride 2, dilation 1 on width 2: windows start at 0, 2 -> window 1
        // covers columns 2, 3: both padding
        try (MaxPool2d pool = MaxPool2d.builder(1, 2).stride(1, 2).padding(0, 0, 0, 3)
                .backend(Backend.reference()).build()) {
            assertThatThrownBy(() -> pool.outputShape(1, 1, 2, 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("pooling window 1 along the width")
                    .hasMessageContaining("input of width 2 (padding 0 + 3)");
        }
    }

    @Test
    void outputSizeOverflow() {
        try (Conv2d conv = Conv2d.builder(4, 4, 1, 1).backend(Backend.reference()).build()) {
            long huge = 1L << 40;
            assertThatThrownBy(() -> conv.outputShape(huge, 4, huge, 8)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("src element count n*c*ih*iw overflows int64")
                    .hasMessageContaining("[" + huge + ", 4, " + huge + ", 8]");
        }
        assertThatThrownBy(() -> Conv2dGeometry.of(1, 1, 8, 8, 1, 3, 3, 1, 1, 0, Long.MAX_VALUE, 0, 0, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padded input height overflows int64: 8 + " + Long.MAX_VALUE);
        assertThatThrownBy(() -> Conv2dGeometry.of(1, 1, 8, 8, 1, 3, 3, 1, 1, 0, 0, 0, 0, Long.MAX_VALUE, 1, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dilated kernel height overflows int64: " + Long.MAX_VALUE + " * 2");
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).backend(Backend.reference()).build()) {
            // indices are int32 plane offsets: 65536 * 65536 = 2^32 > Integer.MAX_VALUE
            assertThatThrownBy(() -> pool.outputShape(1, 1, 65536, 65536))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input plane ih*iw = 65536*65536 = 4294967296 exceeds Integer.MAX_VALUE");
        }
    }

    // ---------------------------------------------------------------- tensors

    @ParameterizedTest
    @MethodSource("backends")
    void tensorShapeMismatchIsRejectedBeforeTheKernel(Backend backend) {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 2, 5, 5, 3, 3, 3); // dst [1, 3, 3, 3]
        try (Tensor src = Tensor.zeros(1, 2, 5, 5);
             Tensor w = Tensor.zeros(3, 2, 3, 3);
             Tensor wrongW = Tensor.zeros(3, 2, 2, 3);
             Tensor b = Tensor.zeros(3);
             Tensor wrongDst = Tensor.zeros(1, 3, 3, 4)) {
            wrongDst.fill(42f);
            assertThatThrownBy(() -> backend.conv2dForward(g, src, w, b, wrongDst))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("dst has shape [1, 3, 3, 4] but this operation needs [1, 3, 3, 3]");
            assertThatThrownBy(() -> backend.conv2dForward(g, src, wrongW, b, wrongDst))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("weights has shape [3, 2, 2, 3] but this operation needs [3, 2, 3, 3]");
            // nothing was written
            float[] after = wrongDst.toArray();
            for (float f : after) {
                if (f != 42f) {
                    throw new AssertionError("dst was written although validation failed: " + f);
                }
            }
        }
        MaxPool2dGeometry pg = MaxPool2dGeometry.simple(1, 1, 4, 4, 2, 2);
        try (Tensor src = Tensor.zeros(1, 1, 4, 4);
             Tensor dst = Tensor.zeros(1, 1, 2, 2);
             Tensor diffSrc = Tensor.zeros(1, 1, 4, 4);
             IndexBuffer shortIdx = IndexBuffer.allocate(3)) {
            assertThatThrownBy(() -> backend.maxPool2dForward(pg, src, dst, shortIdx))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("indices holds 3 int32 values but this operation needs 4");
            assertThatThrownBy(() -> backend.maxPool2dBackward(pg, dst, shortIdx, diffSrc))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("indices holds 3 int32 values but this operation needs 4");
        }
    }

    @Test
    void tensorWrapWithTheWrongByteSize() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(10, 4);
            assertThatThrownBy(() -> Tensor.wrap(seg, 1, 1, 1, 3)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("segment has 10 bytes but shape [1, 1, 1, 3] needs 12 (3 floats)");
            MemorySegment big = arena.allocate(64, 4);
            assertThatThrownBy(() -> Tensor.wrap(big, 2, 3)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("segment has 64 bytes but shape [2, 3] needs 24 (6 floats)");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void closedTensorsAreRejected(Backend backend) {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        try (Tensor src = Tensor.zeros(1, 1, 3, 3); Tensor w = Tensor.zeros(1, 1, 2, 2)) {
            Tensor dst = Tensor.zeros(1, 1, 2, 2);
            dst.close();
            assertThatThrownBy(() -> backend.conv2dForward(g, src, w, null, dst))
                    .isInstanceOf(IllegalStateException.class).hasMessage("dst [1, 1, 2, 2] is closed");
        }
        try (Conv2d conv = Conv2d.builder(1, 1, 2, 2).backend(backend).build()) {
            Tensor x = Tensor.zeros(1, 1, 3, 3);
            x.close();
            assertThatThrownBy(() -> conv.forward(x)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("input [1, 1, 3, 3] is closed");
        }
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).backend(backend).build();
             Tensor x = Tensor.zeros(1, 1, 4, 4)) {
            pool.forward(x);
            Tensor dy = Tensor.zeros(1, 1, 2, 2);
            dy.close();
            assertThatThrownBy(() -> pool.backward(dy)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("gradOutput [1, 1, 2, 2] is closed");
        }
        Tensor t = Tensor.zeros(2, 2);
        t.close();
        assertThatThrownBy(() -> t.get(0)).isInstanceOf(IllegalStateException.class)
                .hasMessage("tensor [2, 2] is closed");
    }

    // ---------------------------------------------------------------- layer state

    @Test
    void gradientShapeNotMatchingTheLastForward() {
        try (Conv2d conv = Conv2d.builder(2, 4, 3, 3).backend(Backend.reference()).build();
             Tensor x = Tensor.zeros(1, 2, 8, 8);
             Tensor dy = Tensor.zeros(1, 4, 5, 5)) {
            conv.forward(x);
            assertThatThrownBy(() -> conv.backward(dy)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("gradOutput has shape [1, 4, 5, 5] but the last forward produced [1, 4, 6, 6]");
        }
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).backend(Backend.reference()).build();
             Tensor x = Tensor.zeros(2, 3, 8, 8);
             Tensor dy = Tensor.zeros(2, 3, 4, 5)) {
            pool.forward(x);
            assertThatThrownBy(() -> pool.backward(dy)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("gradOutput has shape [2, 3, 4, 5] but the last forward produced [2, 3, 4, 4]");
        }
    }

    @Test
    void backwardBeforeForward() {
        try (Conv2d conv = Conv2d.builder(2, 4, 3, 3).backend(Backend.reference()).build();
             MaxPool2d pool = MaxPool2d.builder(2, 2).backend(Backend.reference()).build();
             Tensor dy = Tensor.zeros(1, 4, 6, 6)) {
            assertThatThrownBy(() -> conv.backward(dy)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("Conv2d.backward called before forward");
            assertThatThrownBy(() -> pool.backward(dy)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("MaxPool2d.backward called before forward");
        }
    }

    @Test
    void inputClosedBetweenForwardAndBackward() {
        try (MaxPool2d pool = MaxPool2d.builder(2, 2).backend(Backend.reference()).build();
             Tensor dy = Tensor.zeros(1, 1, 2, 2)) {
            Tensor x = Tensor.zeros(1, 1, 4, 4);
            pool.forward(x);
            x.close();
            assertThatThrownBy(() -> pool.backward(dy)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("the input of the last forward [1, 1, 4, 4] has been closed; keep it open until "
                            + "backward has run");
        }
    }

    @Test
    void closedLayer() {
        Conv2d conv = Conv2d.builder(1, 1, 1, 1).backend(Backend.reference()).build();
        MaxPool2d pool = MaxPool2d.builder(1, 1).backend(Backend.reference()).build();
        conv.close();
        pool.close();
        try (Tensor x = Tensor.zeros(1, 1, 2, 2)) {
            assertThatThrownBy(() -> conv.forward(x)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("this Conv2d layer is closed");
            assertThatThrownBy(conv::weight).isInstanceOf(IllegalStateException.class)
                    .hasMessage("this Conv2d layer is closed");
            assertThatThrownBy(() -> pool.forward(x)).isInstanceOf(IllegalStateException.class)
                    .hasMessage("this MaxPool2d layer is closed");
            assertThatThrownBy(pool::indices).isInstanceOf(IllegalStateException.class)
                    .hasMessage("this MaxPool2d layer is closed");
        }
    }
}
