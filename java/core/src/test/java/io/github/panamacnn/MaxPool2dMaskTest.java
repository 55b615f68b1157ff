package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.panamacnn.ffi.panamacnn_h;
import io.github.panamacnn.reference.ReferenceKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The max-pool mask a training {@link MaxPool2d} keeps: the compact tap mask (one byte per output) for windows
 * of at most 256 taps, int32 plane offsets beyond; {@link MaxPool2d#indices()} expands taps to plane offsets;
 * every backend (native, checked, reference) serves both kinds; bad masks throw Java exceptions.
 */
class MaxPool2dMaskTest {

    static Stream<Backend> backends() {
        return Stream.of(Backend.reference(), Backend.nativeBackend(), Backend.checked());
    }

    /** Few distinct values: many ties, so the first-maximum rule decides. */
    private static float[] ties(long count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextInt(-2, 3);
        }
        return v;
    }

    private static float[] uniform(long count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        return v;
    }

    /** Forward, indices() and backward through the layer against the int32 reference kernels. */
    private static void layerMatchesTheInt32Reference(MaxPool2d pool, MaxPool2dGeometry g, long seed) {
        float[] xs = ties(n(g.srcShape()), seed);
        float[] dys = uniform(g.dstElementCount(), seed + 1);
        float[] expectedY = new float[dys.length];
        int[] expectedIdx = new int[dys.length];
        ReferenceKernels.maxPool2dForward(g, xs, expectedY, expectedIdx);
        float[] expectedDx = new float[xs.length];
        ReferenceKernels.maxPool2dBackward(g, dys, expectedIdx, expectedDx);
        try (Tensor x = Tensor.of(xs, g.srcShape()); Tensor dy = Tensor.of(dys, g.dstShape())) {
            // isEqualTo (Arrays.equals): containsExactly is quadratic on the 65536-output cases
            assertThat(pool.forward(x).toArray()).isEqualTo(expectedY);
            assertThat(pool.geometry()).isEqualTo(g);
            assertThat(pool.indices()).isEqualTo(expectedIdx);
            assertThat(pool.backward(dy).toArray()).isEqualTo(expectedDx);
        }
    }

    private static long n(long[] shape) {
        long c = 1;
        for (long d : shape) {
            c *= d;
        }
        return c;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void trainingKeepsTheTapMaskAndIndicesExpandItToPlaneOffsets(Backend backend) {
        // padding, dilation, ceil mode and overlapping windows: taps naming padding exist but never win
        MaxPool2dGeometry g = MaxPool2dGeometry.of(2, 3, 9, 10, 3, 2, 2, 1, 1, 1, 0, 1, 2, 2, true);
        try (MaxPool2d pool = MaxPool2d.builder(3, 2).stride(2, 1).padding(1, 1, 0, 1).dilation(2, 2).ceilMode(true)
                .mask(IndexBuffer.Kind.TAPS)
                .backend(backend).build()) {
            assertThat(pool.maskKind(g.srcShape())).isEqualTo(IndexBuffer.Kind.TAPS);
            layerMatchesTheInt32Reference(pool, g, 5);
            // a second forward on another input of the same shape overwrites the same mask
            layerMatchesTheInt32Reference(pool, g, 6);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aResNetStemPoolOnCacheLineRowsMatchesTheReferenceWithEitherMaskAndWithout(Backend backend) {
        // 3x3 stride 2 pad 1 on 64-float rows (whole cache lines in a 64-byte aligned tensor) and 32-wide
        // outputs: the native row-reuse path, which with pad_left 1 loads each row from its first float
        MaxPool2dGeometry g = MaxPool2dGeometry.of(2, 3, 64, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false);
        for (IndexBuffer.Kind kind : IndexBuffer.Kind.values()) {
            try (MaxPool2d pool = MaxPool2d.builder(3, 3).stride(2, 2).padding(1, 1, 1, 1).mask(kind)
                    .backend(backend).build()) {
                layerMatchesTheInt32Reference(pool, g, 11 + kind.ordinal());
            }
        }
        float[] xs = uniform(n(g.srcShape()), 13);
        float[] expected = new float[(int) g.dstElementCount()];
        ReferenceKernels.maxPool2dForward(g, xs, expected, new int[expected.length]);
        try (MaxPool2d pool = MaxPool2d.builder(3, 3).stride(2, 2).padding(1, 1, 1, 1).backend(backend).build();
             Tensor x = Tensor.of(xs, g.srcShape())) {
            pool.eval();
            assertThat(pool.forward(x).toArray()).isEqualTo(expected);
        }
    }

    /** Signed zeros and +-1: ties whose winner decides the output's bits, not only the index. */
    private static float[] signedZeroTies(long count, long seed) {
        float[] pick = {-1f, -0.0f, 0.0f, 1f};
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) {
            v[i] = pick[r.nextInt(pick.length)];
        }
        return v;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void a2x2Stride2PoolOnWideRowsMatchesTheReferenceWithEitherMaskAndWithout(Backend backend) {
        // pool_mid's 56-float rows (28 outputs: a full vector block and an overlapping last one) and 128-float
        // rows (the 2x2 loop's blocks end to end), odd heights: the native 2x2 stride-2 loop in its three
        // modes (tap mask, int32 offsets, no indices in eval) against the reference, signed zeros included
        for (MaxPool2dGeometry g : List.of(MaxPool2dGeometry.of(2, 3, 13, 56, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false),
                MaxPool2dGeometry.of(1, 2, 9, 128, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false))) {
            for (IndexBuffer.Kind kind : IndexBuffer.Kind.values()) {
                try (MaxPool2d pool = MaxPool2d.builder(2, 2).stride(2, 2).mask(kind).backend(backend).build()) {
                    layerMatchesTheInt32Reference(pool, g, 21 + kind.ordinal());
                }
            }
            float[] xs = signedZeroTies(n(g.srcShape()), 23);
            float[] expected = new float[(int) g.dstElementCount()];
            ReferenceKernels.maxPool2dForward(g, xs, expected, new int[expected.length]);
            try (MaxPool2d pool = MaxPool2d.builder(2, 2).stride(2, 2).backend(backend).build();
                 Tensor x = Tensor.of(xs, g.srcShape())) {
                pool.eval();
                assertThat(pool.forward(x).toArray()).isEqualTo(expected);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void windowsBeyond256TapsFallBackToInt32Indices(Backend backend) {
        // 17x17 = 289 taps: no tap mask; 1x257 too; 16x16 = 256 and 1x256 fit exactly (asked for: small outputs)
        try (MaxPool2d big = MaxPool2d.builder(17, 17).stride(1, 2).backend(backend).build();
             MaxPool2d wide = MaxPool2d.builder(1, 257).backend(backend).build();
             MaxPool2d edge = MaxPool2d.builder(16, 16).stride(2, 1).padding(1, 0, 0, 1).mask(IndexBuffer.Kind.TAPS)
                     .backend(backend).build();
             MaxPool2d row = MaxPool2d.builder(1, 256).mask(IndexBuffer.Kind.TAPS).backend(backend).build()) {
            assertThat(big.maskKind(1, 2, 18, 20)).isEqualTo(IndexBuffer.Kind.INT32);
            assertThat(wide.maskKind(2, 1, 2, 260)).isEqualTo(IndexBuffer.Kind.INT32);
            assertThat(edge.maskKind(1, 3, 18, 17)).isEqualTo(IndexBuffer.Kind.TAPS);
            assertThat(row.maskKind(1, 2, 3, 300)).isEqualTo(IndexBuffer.Kind.TAPS);
            layerMatchesTheInt32Reference(big, MaxPool2dGeometry.of(1, 2, 18, 20, 17, 17, 1, 2, 0, 0, 0, 0, 1, 1,
                    false), 7);
            layerMatchesTheInt32Reference(wide, MaxPool2dGeometry.of(2, 1, 2, 260, 1, 257, 1, 257, 0, 0, 0, 0, 1, 1,
                    false), 8);
            layerMatchesTheInt32Reference(edge, MaxPool2dGeometry.of(1, 3, 18, 17, 16, 16, 2, 1, 1, 0, 0, 1, 1, 1,
                    false), 9);
            layerMatchesTheInt32Reference(row, MaxPool2dGeometry.of(1, 2, 3, 300, 1, 256, 1, 256, 0, 0, 0, 0, 1, 1,
                    false), 10);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void tap255IsTheLastTapOfA256TapWindow(Backend backend) {
        // one 16x16 window over a 16x16 plane, maximum in the bottom-right corner: tap 15*16 + 15 = 255
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 1, 1, false);
        float[] xs = new float[256];
        xs[255] = 1;
        try (Tensor x = Tensor.of(xs, 1, 1, 16, 16); Tensor y = Tensor.zeros(1, 1, 1, 1);
             Tensor dy = Tensor.of(new float[] {3}, 1, 1, 1, 1); Tensor dx = Tensor.zeros(1, 1, 16, 16);
             IndexBuffer taps = IndexBuffer.allocate(1, IndexBuffer.Kind.TAPS)) {
            backend.maxPool2dForward(g, x, y, taps);
            assertThat(taps.get(0)).isEqualTo(255);
            assertThat(taps.toArray()).containsExactly(255);
            assertThat(g.planeOffsets(taps)).containsExactly(255);
            backend.maxPool2dBackward(g, dy, taps, dx);
            float[] expected = new float[256];
            expected[255] = 3;
            assertThat(dx.toArray()).containsExactly(expected);
        }
    }

    @Test
    void referenceTapsComeFromItsOwnScanAndMatchItsPlaneOffsets() {
        // dilation 3x2, asymmetric padding: tap ky*kw+kx maps to (y*sh - pt + ky*dh, x*sw - pl + kx*dw)
        MaxPool2dGeometry g = MaxPool2dGeometry.of(2, 2, 11, 9, 3, 4, 2, 1, 2, 1, 3, 0, 3, 2, false);
        float[] xs = ties(n(g.srcShape()), 11);
        int count = (int) g.dstElementCount();
        int[] idx = new int[count];
        int[] taps = new int[count];
        ReferenceKernels.maxPool2dForward(g, xs, new float[count], idx);
        ReferenceKernels.maxPool2dForwardTaps(g, xs, new float[count], taps);
        long outPlane = g.oh() * g.ow();
        for (int i = 0; i < count; i++) {
            long y = (i % outPlane) / g.ow();
            long x = i % g.ow();
            long iy = y * g.strideH() - g.padTop() + (taps[i] / g.kw()) * g.dilationH();
            long ix = x * g.strideW() - g.padLeft() + (taps[i] % g.kw()) * g.dilationW();
            assertThat(taps[i]).isBetween(0, (int) (g.kh() * g.kw()) - 1);
            assertThat(iy * g.iw() + ix).as("output %d", i).isEqualTo(idx[i]);
        }
        float[] dys = uniform(count, 12);
        float[] fromIdx = new float[xs.length];
        float[] fromTaps = new float[xs.length];
        ReferenceKernels.maxPool2dBackward(g, dys, idx, fromIdx);
        ReferenceKernels.maxPool2dBackwardTaps(g, dys, taps, fromTaps);
        assertThat(fromTaps).containsExactly(fromIdx);
    }

    @Test
    void theJavaTapLimitIsTheHeaders() {
        assertThat(MaxPool2dGeometry.MAX_MASK_TAPS).isEqualTo(panamacnn_h.PCNN_MAXPOOL2D_TAPS_MAX());
    }

    @Test
    void evalRecordsNoMaskAndAClosedLayerThrowsEverywhere() {
        MaxPool2d pool = MaxPool2d.builder(2, 2).backend(Backend.nativeBackend()).build();
        try (Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 8, 7, 6, 5}, 1, 2, 2, 2);
             Tensor x2 = Tensor.zeros(1, 2, 4, 4); Tensor dy = Tensor.of(new float[] {1, 1}, 1, 2, 1, 1);
             Tensor dy2 = Tensor.zeros(1, 2, 2, 2).fill(1f)) {
            pool.forward(x);
            assertThat(pool.indices()).containsExactly(3, 0);
            // a new input shape: a new mask of the new length; backward uses it
            pool.forward(x2);
            assertThat(pool.indices()).containsExactly(0, 2, 8, 10, 0, 2, 8, 10);
            assertThat(pool.backward(dy2).toArray()).containsOnly(0f, 1f).hasSize(32);
            pool.eval();
            pool.forward(x);
            assertThatThrownBy(pool::indices).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no forward");
            assertThatThrownBy(() -> pool.backward(dy)).isInstanceOf(IllegalStateException.class);
            pool.train();
            pool.forward(x);
            assertThat(pool.backward(dy).toArray()).containsExactly(0, 0, 0, 1, 1, 0, 0, 0);
            pool.close();
            assertThatThrownBy(() -> pool.maskKind(1, 2, 2, 2)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("MaxPool2d layer is closed");
            assertThatThrownBy(pool::indices).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("MaxPool2d layer is closed");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void theDefaultMaskDependsOnTheOutputSizeAndTheBuilderCanFixIt(Backend backend) {
        // 2x2 stride 2 on 16 x 128 x 128: 16 * 64 * 64 = 65536 outputs (TAP_MASK_MIN_OUTPUTS), on 16 x 126 x 128
        // 64512: the default keeps taps from 65536 outputs on, int32 offsets below
        assertThat(MaxPool2dGeometry.TAP_MASK_MIN_OUTPUTS).isEqualTo(65536);
        MaxPool2dGeometry large = MaxPool2dGeometry.of(1, 16, 128, 128, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        MaxPool2dGeometry small = MaxPool2dGeometry.of(1, 16, 126, 128, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        assertThat(large.dstElementCount()).isEqualTo(65536);
        assertThat(small.dstElementCount()).isEqualTo(65536 - 1024);
        try (MaxPool2d auto = MaxPool2d.builder(2, 2).backend(backend).build();
             MaxPool2d taps = MaxPool2d.builder(2, 2).mask(IndexBuffer.Kind.TAPS).backend(backend).build();
             MaxPool2d int32 = MaxPool2d.builder(2, 2).mask(IndexBuffer.Kind.INT32).backend(backend).build()) {
            assertThat(auto.maskKind(large.srcShape())).isEqualTo(IndexBuffer.Kind.TAPS);
            assertThat(auto.maskKind(small.srcShape())).isEqualTo(IndexBuffer.Kind.INT32);
            assertThat(taps.maskKind(small.srcShape())).isEqualTo(IndexBuffer.Kind.TAPS);
            assertThat(int32.maskKind(large.srcShape())).isEqualTo(IndexBuffer.Kind.INT32);
            // each layer's forward / indices / backward on both sizes, in turn (the mask is replaced when the
            // size, and with it the kind, changes)
            for (MaxPool2d pool : new MaxPool2d[] {auto, taps, int32}) {
                layerMatchesTheInt32Reference(pool, large, 21);
                layerMatchesTheInt32Reference(pool, small, 22);
                layerMatchesTheInt32Reference(pool, large, 23);
            }
        }
        assertThatThrownBy(() -> MaxPool2d.builder(17, 17).mask(IndexBuffer.Kind.TAPS).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("289 taps")
                .hasMessageContaining("MAX_MASK_TAPS = 256");
    }

    // ---- bad masks: Java exceptions naming the parameter and the numbers, on every backend ----

    @ParameterizedTest
    @MethodSource("backends")
    void aTapMaskOfTheWrongLengthOrForTooLargeAWindowIsRejected(Backend backend) {
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        MaxPool2dGeometry big = MaxPool2dGeometry.of(1, 1, 17, 17, 17, 17, 1, 1, 0, 0, 0, 0, 1, 1, false);
        try (Tensor x = Tensor.zeros(1, 1, 4, 4); Tensor y = Tensor.zeros(1, 1, 2, 2);
             Tensor bx = Tensor.zeros(1, 1, 17, 17); Tensor by = Tensor.zeros(1, 1, 1, 1);
             IndexBuffer shortTaps = IndexBuffer.allocate(3, IndexBuffer.Kind.TAPS);
             IndexBuffer oneTap = IndexBuffer.allocate(1, IndexBuffer.Kind.TAPS)) {
            assertThatThrownBy(() -> backend.maxPool2dForward(g, x, y, shortTaps))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("indices holds 3 uint8 max-pool taps but this operation needs 4");
            assertThatThrownBy(() -> backend.maxPool2dBackward(g, y, shortTaps, x))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("indices holds 3 uint8 max-pool taps but this operation needs 4");
            assertThatThrownBy(() -> backend.maxPool2dForward(big, bx, by, oneTap))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("17x17 window has 289 taps, more than MAX_MASK_TAPS = 256");
            assertThatThrownBy(() -> backend.maxPool2dBackward(big, by, oneTap, bx))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("289 taps");
            oneTap.close();
            assertThatThrownBy(() -> backend.maxPool2dForward(big, bx, by, oneTap))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("indices (1 uint8 max-pool taps) is closed");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aTapNamingPaddingOrPastTheWindowIsRejectedBeforeAnythingCrashes(Backend backend) {
        // 2x2 windows, padding 1 on top and left: tap 0 of output (0, 0) names the padded corner
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, false);
        Class<? extends RuntimeException> expected = backend.name().equals("reference")
                ? IllegalArgumentException.class : NativeKernelException.class;
        try (Tensor dy = Tensor.zeros(g.dstShape()).fill(1f); Tensor dx = Tensor.zeros(g.srcShape())) {
            // valid taps per output (3x3 outputs): {3, 2, 2, 1, 0, 0, 1, 0, 0}; then one bad tap each: the padded
            // top-left corner, a tap past the 2x2 window, 255, and a tap past the right edge of the input
            try (IndexBuffer good = IndexBuffer.of(IndexBuffer.Kind.TAPS, 3, 2, 2, 1, 0, 0, 1, 0, 0)) {
                backend.maxPool2dBackward(g, dy, good, dx);
                assertThat(g.planeOffsets(good)).containsExactly(0, 1, 3, 4, 5, 7, 12, 13, 15);
            }
            for (int[] bad : new int[][] {{0, 2, 2, 1, 0, 0, 1, 0, 0}, {3, 2, 2, 1, 4, 0, 1, 0, 0},
                    {3, 2, 2, 1, 0, 0, 1, 0, 255}, {3, 2, 3, 1, 0, 0, 1, 0, 0}}) {
                try (IndexBuffer taps = IndexBuffer.of(IndexBuffer.Kind.TAPS, bad)) {
                    assertThatThrownBy(() -> backend.maxPool2dBackward(g, dy, taps, dx)).isInstanceOf(expected)
                            .hasMessageContaining(backend.name().equals("reference") ? "max-pool tap"
                                    : "pcnn_maxpool2d_bwd_taps");
                    assertThatThrownBy(() -> g.planeOffsets(taps)).isInstanceOf(IllegalArgumentException.class)
                            .hasMessageContaining("names no input position");
                }
            }
        }
    }

    @Test
    void indexBufferKindsValuesAndWrapping() {
        assertThatThrownBy(() -> IndexBuffer.of(IndexBuffer.Kind.TAPS, 0, 256))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tap value 256 at [1]");
        assertThatThrownBy(() -> IndexBuffer.of(IndexBuffer.Kind.TAPS, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tap value -1 at [0]");
        try (IndexBuffer t = IndexBuffer.of(IndexBuffer.Kind.TAPS, 0, 128, 255)) {
            assertThat(t.kind()).isEqualTo(IndexBuffer.Kind.TAPS);
            assertThat(t.segment().byteSize()).isEqualTo(3);
            assertThat(t.toArray()).containsExactly(0, 128, 255);
            assertThat(t.get(2)).isEqualTo(255);
            // labels need int32 values: a tap mask is the wrong kind
            try (Tensor logits = Tensor.zeros(3, 4)) {
                for (Backend b : List.of(Backend.reference(), Backend.nativeBackend(), Backend.checked())) {
                    assertThatThrownBy(() -> b.crossEntropyForward(logits, t))
                            .isInstanceOf(IllegalArgumentException.class)
                            .hasMessage("labels holds uint8 max-pool taps but this operation needs int32 values");
                }
            }
        }
        Arena arena = Arena.ofConfined();
        {
            MemorySegment m = arena.allocate(16, 8);
            assertThatThrownBy(() -> IndexBuffer.wrap(m.asSlice(1, 8), IndexBuffer.Kind.INT32))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not 4-byte aligned");
            assertThatThrownBy(() -> IndexBuffer.wrap(m.asSlice(0, 6), IndexBuffer.Kind.INT32))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("6 bytes");
            IndexBuffer wrapped = IndexBuffer.wrap(m.asSlice(3, 5), IndexBuffer.Kind.TAPS);
            assertThat(wrapped.length()).isEqualTo(5);
            wrapped.close();
            assertThat(m.scope().isAlive()).isTrue(); // borrowed: the caller keeps the memory
            assertThatThrownBy(wrapped::toArray).isInstanceOf(IllegalStateException.class);
            IndexBuffer live = IndexBuffer.wrap(m.asSlice(8, 8), IndexBuffer.Kind.INT32);
            arena.close();
            assertThatThrownBy(live::toArray).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("memory has been freed");
        }
    }
}
