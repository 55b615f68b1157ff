package io.github.panamacnn.reference;

import io.github.panamacnn.MaxPool2dGeometry;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Max-pool cases worked by hand: values, argmax plane offsets ({@code iy*iw + ix}), ties, NaN,
 * padding, ceil mode, dilation, backward. Values are compared bit for bit.
 */
class ReferenceMaxPoolKnownAnswerTest {

    /** Runs forward into NaN / -7 pre-filled outputs (so that a missed write shows). */
    private record Result(float[] dst, int[] indices) {
    }

    private static Result forward(MaxPool2dGeometry g, float[] src) {
        int count = (int) g.dstElementCount();
        float[] dst = new float[count];
        int[] idx = new int[count];
        Arrays.fill(dst, Float.NaN);
        Arrays.fill(idx, -7);
        ReferenceKernels.maxPool2dForward(g, src, dst, idx);
        return new Result(dst, idx);
    }

    /** Raw bits, so that -0.0 vs 0.0 and NaN payloads are compared exactly. */
    private static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Float.floatToRawIntBits(a[i]);
        }
        return b;
    }

    /** A 1 x kw window (kh = 1) scanning a 1 x w row with stride kw: one output per window. */
    private static MaxPool2dGeometry row(int width, int kw) {
        return MaxPool2dGeometry.of(1, 1, 1, width, 1, kw, 1, kw, 0, 0, 0, 0, 1, 1, false);
    }

    @Test
    void plain2x2Stride2() {
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(1, 1, 4, 4, 2, 2);
        float[] x = {
                1, 5, 2, 0,
                3, 4, 8, 7,
                9, -1, 6, 6,
                2, 0, 6, 5};
        Result r = forward(g, x);
        // (0,0): {1,5,3,4} -> 5 at (0,1) = 1     (0,1): {2,0,8,7} -> 8 at (1,2) = 6
        // (1,0): {9,-1,2,0} -> 9 at (2,0) = 8    (1,1): {6,6,6,5} -> first 6, at (2,2) = 10
        assertThat(r.dst()).containsExactly(5, 8, 9, 6);
        assertThat(r.indices()).containsExactly(1, 6, 8, 10);
    }

    @Test
    void planesAreIndependentAndIndicesArePlaneOffsets() {
        // n=2, c=2, each plane 1x2 with a 1x2 window: one output per plane.
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(2, 2, 1, 2, 1, 2);
        float[] x = {1, 2, /* */ 4, 3, /* */ -1, -2, /* */ 0, 7};
        Result r = forward(g, x);
        assertThat(r.dst()).containsExactly(2, 4, -1, 7);
        // offsets inside each plane, not into the whole tensor
        assertThat(r.indices()).containsExactly(1, 0, 0, 1);
    }

    @Test
    void tiesGoToTheFirstMaximum() {
        Result r = forward(row(4, 4), new float[] {3, 3, 3, 3});
        assertThat(r.dst()).containsExactly(3);
        assertThat(r.indices()).containsExactly(0);
        // a tie after a smaller first element: the first 7 (offset 1) wins
        r = forward(row(4, 4), new float[] {1, 7, 7, 2});
        assertThat(r.indices()).containsExactly(1);
        // in 2-D the scan is row-major: (0,1) comes before (1,0)
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(1, 1, 2, 2, 2, 2);
        r = forward(g, new float[] {0, 9, 9, 9});
        assertThat(r.indices()).containsExactly(1);
    }

    @Test
    void signedZerosTieSoTheFirstOneWins() {
        // 0.0f > -0.0f is false, so the first zero stays, sign included.
        Result r = forward(row(2, 2), new float[] {-0.0f, 0.0f});
        assertThat(bits(r.dst())).containsExactly(Float.floatToRawIntBits(-0.0f));
        assertThat(r.indices()).containsExactly(0);
        r = forward(row(2, 2), new float[] {0.0f, -0.0f});
        assertThat(bits(r.dst())).containsExactly(Float.floatToRawIntBits(0.0f));
        assertThat(r.indices()).containsExactly(0);
    }

    @Test
    void lastNanWins() {
        float nanA = Float.intBitsToFloat(0x7fc0_0001);
        float nanB = Float.intBitsToFloat(0x7fc0_0002);
        // [NaN_A, 1, NaN_B]: NaN_A starts; 1 > NaN is false; NaN_B is NaN -> taken. Winner: offset 2.
        Result r = forward(row(3, 3), new float[] {nanA, 1, nanB});
        assertThat(r.indices()).containsExactly(2);
        assertThat(bits(r.dst())).containsExactly(0x7fc0_0002);
        // [1, NaN_A, 2]: NaN_A replaces 1; 2 > NaN is false -> NaN_A at offset 1.
        r = forward(row(3, 3), new float[] {1, nanA, 2});
        assertThat(r.indices()).containsExactly(1);
        assertThat(bits(r.dst())).containsExactly(0x7fc0_0001);
        // [NaN_B, 5]: the first tap initialises with NaN; 5 > NaN is false -> offset 0.
        r = forward(row(2, 2), new float[] {nanB, 5});
        assertThat(r.indices()).containsExactly(0);
        assertThat(bits(r.dst())).containsExactly(0x7fc0_0002);
        // [-inf, +inf, NaN_A, 3]: NaN_A wins over +inf.
        r = forward(row(4, 4), new float[] {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, nanA, 3});
        assertThat(r.indices()).containsExactly(2);
    }

    @Test
    void negativeInfinityIsAValidMaximum() {
        Result r = forward(row(2, 2), new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY});
        assertThat(r.dst()).containsExactly(Float.NEGATIVE_INFINITY);
        assertThat(r.indices()).containsExactly(0);
    }

    @Test
    void paddingNeverWins() {
        // All-negative 2x2 input, 2x2 window, stride 1, pad 1 on every side: oh = ow = (2+2-2)/1+1 = 3.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, false);
        assertThat(g.oh()).isEqualTo(3);
        assertThat(g.ow()).isEqualTo(3);
        float[] x = {
                -1, -2,
                -3, -4};
        Result r = forward(g, x);
        // Window (y,x) covers input rows y-1..y, cols x-1..x; only in-range taps count (zeros would win
        // if padding took part):
        // (0,0): {-1}          -> -1 @0   (0,1): {-1,-2}       -> -1 @0   (0,2): {-2}     -> -2 @1
        // (1,0): {-1,-3}       -> -1 @0   (1,1): {-1,-2,-3,-4} -> -1 @0   (1,2): {-2,-4}  -> -2 @1
        // (2,0): {-3}          -> -3 @2   (2,1): {-3,-4}       -> -3 @2   (2,2): {-4}     -> -4 @3
        assertThat(r.dst()).containsExactly(-1, -1, -2, -1, -1, -2, -3, -3, -4);
        assertThat(r.indices()).containsExactly(0, 0, 1, 0, 0, 1, 2, 2, 3);
    }

    @Test
    void asymmetricPadding() {
        // 1x3 row [-5, -6, -7], 1x2 window, stride 1, padLeft = 1, padRight = 0: ow = (3+1-2)/1+1 = 3.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 3, 1, 2, 1, 1, 0, 0, 1, 0, 1, 1, false);
        assertThat(g.ow()).isEqualTo(3);
        Result r = forward(g, new float[] {-5, -6, -7});
        // windows cover cols {-1,0}, {0,1}, {1,2}
        assertThat(r.dst()).containsExactly(-5, -5, -6);
        assertThat(r.indices()).containsExactly(0, 0, 1);
    }

    @Test
    void ceilModeKeepsAPartialLastWindow() {
        // 5x5 input 1..25 (value at (r,c) = 5r+c+1, increasing), 2x2 window, stride 2, no padding.
        // floor: (5-2)/2+1 = 2; ceil: ceil(3/2)+1 = 3; the last window starts at 4 < 5 + 0, kept.
        MaxPool2dGeometry floor = MaxPool2dGeometry.of(1, 1, 5, 5, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        MaxPool2dGeometry ceil = MaxPool2dGeometry.of(1, 1, 5, 5, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, true);
        assertThat(floor.oh()).isEqualTo(2);
        assertThat(ceil.oh()).isEqualTo(3);
        assertThat(ceil.ow()).isEqualTo(3);
        float[] x = new float[25];
        for (int i = 0; i < 25; i++) {
            x[i] = i + 1;
        }
        Result r = forward(ceil, x);
        // The max of an increasing plane is the window's bottom-right in-range tap: rows {1, 3, 4}
        // (the third window covers only row 4), cols {1, 3, 4}; offset = 5*row + col.
        assertThat(r.indices()).containsExactly(6, 8, 9, 16, 18, 19, 21, 23, 24);
        assertThat(r.dst()).containsExactly(7, 9, 10, 17, 19, 20, 22, 24, 25);
    }

    @Test
    void ceilModeDropsALastWindowStartingInThePadding() {
        // 1x5 row, 1x2 window, stride 2, padLeft = padRight = 1: padded width 7, span 5.
        // ceil: ceil(5/2)+1 = 4, but window 3 would start at 3*2 = 6 >= 5 + 1 (in the right padding): dropped -> 3.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 1, 1, 1, 1, true);
        assertThat(g.ow()).isEqualTo(3);
        Result r = forward(g, new float[] {3, 1, 4, 1, 5});
        // windows cover cols {-1,0}, {1,2}, {3,4}: 3 @0, 4 @2, 5 @4
        assertThat(r.dst()).containsExactly(3, 4, 5);
        assertThat(r.indices()).containsExactly(0, 2, 4);
    }

    @Test
    void ceilModeWindowLargerThanTheInput() {
        // PyTorch: MaxPool2d(kernel 4, stride 3, ceil_mode=True) on 3x3 gives 1x1 (numer = 3 - 4 = -1,
        // ceil: floor((-1 + 2) / 3) + 1 = 1); the one window covers rows and columns 0..3, so the whole
        // input. Floor mode has no window at all.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 3, 3, 4, 4, 3, 3, 0, 0, 0, 0, 1, 1, true);
        assertThat(g.oh()).isEqualTo(1);
        assertThat(g.ow()).isEqualTo(1);
        Result r = forward(g, new float[] {2, 7, 1, 8, 2, 8, 1, 8, 2});
        assertThat(r.dst()).containsExactly(8); // ties: the first 8, at (1, 0)
        assertThat(r.indices()).containsExactly(3);
        assertThatThrownBy(() -> MaxPool2dGeometry.of(1, 1, 3, 3, 4, 4, 3, 3, 0, 0, 0, 0, 1, 1, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only ceil mode allows that");
    }

    @Test
    void ceilModeDilatedWindowLargerThanThePaddedInput() {
        // 1x2 row [4, 6], 1x3 window, dilation 2 (extent 5), stride 4, padLeft 1: padded width 3,
        // numer = 3 - 5 = -2, ceil: floor((-2 + 3) / 4) + 1 = 1. Taps at -1 (padding), 1, 3 (past the input):
        // only column 1 is in range, so it wins even though it is not the first tap.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 2, 1, 3, 1, 4, 0, 0, 1, 0, 1, 2, true);
        assertThat(g.ow()).isEqualTo(1);
        Result r = forward(g, new float[] {4, 6});
        assertThat(r.dst()).containsExactly(6);
        assertThat(r.indices()).containsExactly(1);
        // by more than stride - 1 = 3: no window (numer = -2 with stride 2: -2 + 1 < 0)
        assertThatThrownBy(() -> MaxPool2dGeometry.of(1, 1, 1, 2, 1, 3, 1, 2, 0, 0, 1, 0, 1, 2, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ceil mode allows at most strideW - 1 = 1");
    }

    @Test
    void ceilModeWindowHangingPastTheInput() {
        // 1x5 row [1, 2, 3, 9, 5], 1x3 window, stride 2, no padding: ceil -> floor((2 + 1) / 2) + 1 = 2
        // windows {0,1,2} and {2,3,4}; and with width 6 [.., 0]: numer 3 -> 3 windows, the last {4,5,6}
        // hangs one column past the input.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 6, 1, 3, 1, 2, 0, 0, 0, 0, 1, 1, true);
        assertThat(g.ow()).isEqualTo(3);
        Result r = forward(g, new float[] {1, 2, 3, 9, 5, 0});
        assertThat(r.dst()).containsExactly(3, 9, 5);
        assertThat(r.indices()).containsExactly(2, 3, 4);
    }

    @Test
    void ceilModeStillRejectsAWindowWithNoInputPosition() {
        // 1x1 input, 1x2 window, dilation 3, stride 2, padding 1 + 1: numer = 3 - 4 = -1, ceil -> ow 1 (PyTorch
        // accepts this geometry), but the one window's taps -1 and 2 both miss the input.
        assertThatThrownBy(() -> MaxPool2dGeometry.of(1, 1, 1, 1, 1, 2, 1, 2, 0, 0, 1, 1, 1, 3, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pooling window 0 along the width (taps at -1 + j*3, j < 2) lies entirely "
                        + "in the padding of an input of width 1 (padding 1 + 1)");
    }

    @Test
    void ceilModeOnARow() {
        // 1x5 row [1,3,4,1,5], 1x2 window, stride 2, no padding: ceil -> 3 windows {0,1}, {2,3}, {4}.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 5, 1, 2, 1, 2, 0, 0, 0, 0, 1, 1, true);
        Result r = forward(g, new float[] {1, 3, 4, 1, 5});
        assertThat(r.dst()).containsExactly(3, 4, 5);
        assertThat(r.indices()).containsExactly(1, 2, 4);
    }

    @Test
    void dilation() {
        // 1x5 row [5,9,1,2,7], 1x2 window, dilation 2 (extent 3), stride 1: ow = 3, windows {0,2}, {1,3}, {2,4}.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 5, 1, 2, 1, 1, 0, 0, 0, 0, 1, 2, false);
        assertThat(g.ow()).isEqualTo(3);
        Result r = forward(g, new float[] {5, 9, 1, 2, 7});
        // {5,1} -> 5 @0; {9,2} -> 9 @1; {1,7} -> 7 @4.  (Dense windows would give 9, 9, 2.)
        assertThat(r.dst()).containsExactly(5, 9, 7);
        assertThat(r.indices()).containsExactly(0, 1, 4);

        // 2-D: 3x3 input, 2x2 window with dilation 2 reads only the four corners.
        MaxPool2dGeometry g2 = MaxPool2dGeometry.of(1, 1, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, false);
        r = forward(g2, new float[] {1, 100, 2, 100, 100, 100, 3, 100, 4});
        assertThat(r.dst()).containsExactly(4);
        assertThat(r.indices()).containsExactly(8);
    }

    @Test
    void indicesMayBeNull() {
        float[] dst = {Float.NaN};
        ReferenceKernels.maxPool2dForward(row(3, 3), new float[] {1, 3, 2}, dst, null);
        assertThat(dst).containsExactly(3);
    }

    @Test
    void backwardAddsEachGradientAtItsIndexAndOverlapsAccumulate() {
        // 1x3 row [1,5,2], 1x2 window, stride 1: both windows pick offset 1.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 3, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, false);
        Result r = forward(g, new float[] {1, 5, 2});
        assertThat(r.indices()).containsExactly(1, 1);
        float[] dx = {Float.NaN, Float.NaN, Float.NaN}; // must be zeroed first
        ReferenceKernels.maxPool2dBackward(g, new float[] {10, 20}, r.indices(), dx);
        // 10 + 20 = 30 at offset 1, zeros elsewhere
        assertThat(dx).containsExactly(0, 30, 0);
    }

    @Test
    void backwardUsesEachPlanesOwnOffset() {
        // n=1, c=2, planes 1x2, one window each: offsets are within the plane.
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(1, 2, 1, 2, 1, 2);
        float[] dx = new float[4];
        ReferenceKernels.maxPool2dBackward(g, new float[] {3, 4}, new int[] {1, 0}, dx);
        assertThat(dx).containsExactly(0, 3, 4, 0);
    }

    @Test
    void backwardAccumulatesInFloatInOutputOrder() {
        // Three windows hitting the same offset with 1, 2^-24, 2^-24 (float ulp of 1 is 2^-23):
        // ((0 + 1) + 2^-24) rounds to 1 (tie to even), again to 1. In double the sum would be 1 + 2^-23.
        MaxPool2dGeometry g = MaxPool2dGeometry.of(1, 1, 1, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, false);
        float tiny = (float) Math.scalb(1.0, -24);
        float[] dx = new float[3];
        ReferenceKernels.maxPool2dBackward(g, new float[] {1, tiny, tiny}, new int[] {0, 0, 0}, dx);
        assertThat(dx[0]).isEqualTo(1.0f);
        // The other order: 2^-24 + 2^-24 = 2^-23 exactly, then + 1 = 1 + 2^-23 (representable).
        ReferenceKernels.maxPool2dBackward(g, new float[] {tiny, tiny, 1}, new int[] {0, 0, 0}, dx);
        assertThat(dx[0]).isEqualTo(1.0f + (float) Math.scalb(1.0, -23));
    }

    @Test
    void backwardRejectsAnOutOfRangeIndexNamingIt() {
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(1, 2, 2, 2, 2, 2); // 2 planes of 4, one output each
        assertThatThrownBy(() -> ReferenceKernels.maxPool2dBackward(g, new float[] {1, 1}, new int[] {3, 4},
                new float[8])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index 4").hasMessageContaining("c=1").hasMessageContaining("[0, ih*iw = 4)");
        assertThatThrownBy(() -> ReferenceKernels.maxPool2dBackward(g, new float[] {1, 1}, new int[] {-1, 0},
                new float[8])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index -1").hasMessageContaining("c=0");
    }

    @Test
    void lengthMismatchesAreNamed() {
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(1, 1, 2, 2, 2, 2);
        assertThatThrownBy(() -> ReferenceKernels.maxPool2dForward(g, new float[4], new float[1], new int[2]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("indices");
        assertThatThrownBy(() -> ReferenceKernels.maxPool2dForward(g, new float[5], new float[1], null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("src");
        assertThatThrownBy(() -> ReferenceKernels.maxPool2dBackward(g, new float[1], new int[1], new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("diffSrc");
        assertThatThrownBy(() -> ReferenceKernels.maxPool2dBackward(g, new float[1], null, new float[4]))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("indices");
    }
}
