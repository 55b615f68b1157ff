package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Convolution cases small enough to work by hand. Every expected number below was computed on
 * paper (arithmetic in the comments), not by running the code. All values are small integers, so
 * the double results are exact and compared with {@code containsExactly}.
 */
class ReferenceConvKnownAnswerTest {

    // 3x3 input 1..9 and 2x2 kernel [[1,2],[3,4]] shared by several cases.
    private static final double[] X3 = {
            1, 2, 3,
            4, 5, 6,
            7, 8, 9};
    private static final double[] K2 = {
            1, 2,
            3, 4};

    private static double[] forward(Conv2dGeometry g, double[] src, double[] w, double[] bias) {
        double[] dst = new double[(int) (g.n() * g.oc() * g.oh() * g.ow())];
        java.util.Arrays.fill(dst, Double.NaN); // must be overwritten
        ReferenceKernels.conv2dForward(g, src, w, bias, dst);
        return dst;
    }

    @Test
    void plain3x3With2x2Kernel() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        assertThat(g.oh()).isEqualTo(2);
        assertThat(g.ow()).isEqualTo(2);
        // (0,0): 1*1 + 2*2 + 4*3 + 5*4 = 1+4+12+20 = 37
        // (0,1): 2*1 + 3*2 + 5*3 + 6*4 = 2+6+15+24 = 47
        // (1,0): 4*1 + 5*2 + 7*3 + 8*4 = 4+10+21+32 = 67
        // (1,1): 5*1 + 6*2 + 8*3 + 9*4 = 5+12+24+36 = 77
        assertThat(forward(g, X3, K2, null)).containsExactly(37, 47, 67, 77);
    }

    @Test
    void withBias() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        // the plain case + 0.5 everywhere
        assertThat(forward(g, X3, K2, new double[] {0.5})).containsExactly(37.5, 47.5, 67.5, 77.5);
    }

    @Test
    void biasIsPerOutputChannelAndBatchIsIndependent() {
        // n=2, c=1, 2x2 input, oc=2, 1x1 kernels w = [2, -1], bias = [10, 100].
        Conv2dGeometry g = Conv2dGeometry.simple(2, 1, 2, 2, 2, 1, 1);
        double[] src = {1, 2, 3, 4, /* second image */ 5, 6, 7, 8};
        double[] dst = forward(g, src, new double[] {2, -1}, new double[] {10, 100});
        assertThat(dst).containsExactly(
                // n0 o0: 2*[1,2,3,4] + 10        n0 o1: -[1,2,3,4] + 100
                12, 14, 16, 18, 99, 98, 97, 96,
                // n1 o0: 2*[5,6,7,8] + 10        n1 o1: -[5,6,7,8] + 100
                20, 22, 24, 26, 95, 94, 93, 92);
    }

    @Test
    void channelsAreSummed() {
        // c=2 (ch0 = 1..4, ch1 = 5..8), oc=1, 1x1 kernel w = [1, 10]: out = ch0 + 10*ch1
        Conv2dGeometry g = Conv2dGeometry.simple(1, 2, 2, 2, 1, 1, 1);
        double[] src = {1, 2, 3, 4, 5, 6, 7, 8};
        // 1+50 = 51, 2+60 = 62, 3+70 = 73, 4+80 = 84
        assertThat(forward(g, src, new double[] {1, 10}, null)).containsExactly(51, 62, 73, 84);
    }

    @Test
    void stride2FloorsTheOutputSize() {
        // 5x5 input with values 1..25 (value at (r,c) = 5r+c+1), 2x2 kernel [[1,2],[3,4]], stride 2.
        Conv2dGeometry g = Conv2dGeometry.of(1, 1, 5, 5, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1);
        // oh = floor((5-2)/2)+1 = 2: the last row and column are never read.
        assertThat(g.oh()).isEqualTo(2);
        assertThat(g.ow()).isEqualTo(2);
        double[] src = iota(25);
        // A window with top-left value a reads a, a+1, a+5, a+6:
        //   a*1 + (a+1)*2 + (a+5)*3 + (a+6)*4 = 10a + 2 + 15 + 24 = 10a + 41.
        // Top-left values: (0,0) a=1 -> 51; (0,1) a=3 -> 71; (1,0) a=11 -> 151; (1,1) a=13 -> 171.
        assertThat(forward(g, src, K2, null)).containsExactly(51, 71, 151, 171);
    }

    @Test
    void differentStridesPerAxis() {
        // Same input and kernel, strideH = 2, strideW = 1: oh = 2, ow = (5-2)/1+1 = 4.
        Conv2dGeometry g = Conv2dGeometry.of(1, 1, 5, 5, 1, 2, 2, 2, 1, 0, 0, 0, 0, 1, 1, 1);
        assertThat(g.oh()).isEqualTo(2);
        assertThat(g.ow()).isEqualTo(4);
        // Top-left value of window (y,x) is a = 5*(2y) + x + 1 = 10y + x + 1; output 10a + 41.
        // y=0: a = 1,2,3,4 -> 51,61,71,81;  y=1: a = 11,12,13,14 -> 151,161,171,181.
        assertThat(forward(g, iota(25), K2, null)).containsExactly(51, 61, 71, 81, 151, 161, 171, 181);
    }

    @Test
    void asymmetricPadding() {
        // 2x2 input [[1,2],[3,4]], kernel [[1,2],[3,4]], padTop=1, padBottom=0, padLeft=0, padRight=1.
        Conv2dGeometry g = Conv2dGeometry.of(1, 1, 2, 2, 1, 2, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1);
        // oh = (2+1+0-2)/1+1 = 2, ow = (2+0+1-2)/1+1 = 2
        assertThat(g.oh()).isEqualTo(2);
        assertThat(g.ow()).isEqualTo(2);
        // Padded image (rows -1..1, cols 0..2):
        //   0 0 0
        //   1 2 0
        //   3 4 0
        // (0,0): [0 0; 1 2] -> 0*1 + 0*2 + 1*3 + 2*4 = 11
        // (0,1): [0 0; 2 0] -> 2*3 = 6
        // (1,0): [1 2; 3 4] -> 1 + 4 + 9 + 16 = 30
        // (1,1): [2 0; 4 0] -> 2*1 + 4*3 = 14
        assertThat(forward(g, new double[] {1, 2, 3, 4}, K2, null)).containsExactly(11, 6, 30, 14);
    }

    @Test
    void dilation2() {
        // 4x4 input 1..16 (value at (r,c) = 4r+c+1), kernel [[1,2],[3,4]], dilation 2 -> extent 3,
        // oh = ow = (4-3)/1+1 = 2. A window with top-left value a reads a, a+2, a+8, a+10:
        //   a + 2(a+2) + 3(a+8) + 4(a+10) = 10a + 4 + 24 + 40 = 10a + 68.
        Conv2dGeometry g = Conv2dGeometry.of(1, 1, 4, 4, 1, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 1);
        assertThat(g.oh()).isEqualTo(2);
        assertThat(g.ow()).isEqualTo(2);
        // a = 1, 2, 5, 6 -> 78, 88, 118, 128
        assertThat(forward(g, iota(16), K2, null)).containsExactly(78, 88, 118, 128);
    }

    @Test
    void dilationOnOneAxisOnly() {
        // 3x3 input 1..9, kernel [[1,2],[3,4]], dilationH = 1, dilationW = 2: oh = 2, ow = 1.
        Conv2dGeometry g = Conv2dGeometry.of(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 2, 1);
        assertThat(g.oh()).isEqualTo(2);
        assertThat(g.ow()).isEqualTo(1);
        // (0,0) reads (0,0)=1, (0,2)=3, (1,0)=4, (1,2)=6: 1 + 6 + 12 + 24 = 43
        // (1,0) reads (1,0)=4, (1,2)=6, (2,0)=7, (2,2)=9: 4 + 12 + 21 + 36 = 73
        assertThat(forward(g, X3, K2, null)).containsExactly(43, 73);
    }

    @Test
    void twoGroupsWith2x2Kernels() {
        // c=2: ch0 = [[1,2],[3,4]], ch1 = [[5,6],[7,8]]; oc=2, groups=2, weights [2][1][2][2]:
        // w0 = [[1,0],[0,1]] (reads ch0 only), w1 = [[0,1],[1,0]] (reads ch1 only).
        Conv2dGeometry g = Conv2dGeometry.of(1, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 2);
        double[] src = {1, 2, 3, 4, 5, 6, 7, 8};
        double[] w = {1, 0, 0, 1, 0, 1, 1, 0};
        // o0 = 1*1 + 4*1 = 5;  o1 = 6*1 + 7*1 = 13.
        // (Were groups ignored, the weight shape would be [2][2][2][2]; were o1 mapped to ch0: 2+3 = 5.)
        assertThat(forward(g, src, w, null)).containsExactly(5, 13);
    }

    @Test
    void twoGroupsFourOutputChannels() {
        // c=2 (ch0 = 1..4, ch1 = 5..8), oc=4, groups=2, 1x1 weights [1,2,3,4]:
        // o0, o1 belong to group 0 (read ch0), o2, o3 to group 1 (read ch1).
        Conv2dGeometry g = Conv2dGeometry.of(1, 2, 2, 2, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2);
        double[] src = {1, 2, 3, 4, 5, 6, 7, 8};
        assertThat(forward(g, src, new double[] {1, 2, 3, 4}, null)).containsExactly(
                1, 2, 3, 4,      // 1 * ch0
                2, 4, 6, 8,      // 2 * ch0
                15, 18, 21, 24,  // 3 * ch1
                20, 24, 28, 32); // 4 * ch1
    }

    @Test
    void backwardDataByHand() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        double[] dx = new double[9];
        // A single 1 at output (0,0) spreads the kernel over the window it read.
        ReferenceKernels.conv2dBackwardData(g, new double[] {1, 0, 0, 0}, K2, dx);
        assertThat(dx).containsExactly(
                1, 2, 0,
                3, 4, 0,
                0, 0, 0);
        // All-ones upstream gradient: each input position gets the sum of the taps that read it.
        // (0,0): w00 = 1          (0,1): w01 + w00 = 2+1 = 3        (0,2): w01 = 2
        // (1,0): w10 + w00 = 3+1 = 4   (1,1): all four = 10     (1,2): w11 + w01 = 4+2 = 6
        // (2,0): w10 = 3          (2,1): w11 + w10 = 4+3 = 7        (2,2): w11 = 4
        java.util.Arrays.fill(dx, Double.NaN);
        ReferenceKernels.conv2dBackwardData(g, new double[] {1, 1, 1, 1}, K2, dx);
        assertThat(dx).containsExactly(
                1, 3, 2,
                4, 10, 6,
                3, 7, 4);
    }

    @Test
    void backwardWeightsByHand() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        double[] dw = {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
        double[] db = {Double.NaN};
        // All-ones upstream gradient: dW[ky][kx] = sum of the 2x2 block of X starting at (ky,kx).
        // [0][0]: 1+2+4+5 = 12   [0][1]: 2+3+5+6 = 16   [1][0]: 4+5+7+8 = 24   [1][1]: 5+6+8+9 = 28
        ReferenceKernels.conv2dBackwardWeights(g, X3, new double[] {1, 1, 1, 1}, dw, db);
        assertThat(dw).containsExactly(12, 16, 24, 28);
        assertThat(db).containsExactly(4); // four outputs of gradient 1
        // Upstream gradient [[1,0],[0,-1]]: dW[ky][kx] = X[ky][kx] - X[ky+1][kx+1]
        // [0][0]: 1-5 = -4  [0][1]: 2-6 = -4  [1][0]: 4-8 = -4  [1][1]: 5-9 = -4; bias: 1-1 = 0
        ReferenceKernels.conv2dBackwardWeights(g, X3, new double[] {1, 0, 0, -1}, dw, db);
        assertThat(dw).containsExactly(-4, -4, -4, -4);
        assertThat(db).containsExactly(0);
    }

    @Test
    void backwardWeightsWithStrideAndPaddingByHand() {
        // 2x2 input [[1,2],[3,4]], 2x2 kernel, stride 2, pad 1 on every side: oh = ow = (2+2-2)/2+1 = 2.
        Conv2dGeometry g = Conv2dGeometry.of(1, 1, 2, 2, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1);
        assertThat(g.oh()).isEqualTo(2);
        // Output (y,x) tap (ky,kx) reads input (2y-1+ky, 2x-1+kx). Each input position is read by
        // exactly one (output, tap): input (r,c) by output (y,x) = ((r+1)/2, (c+1)/2) with tap
        // ((r+1)%2, (c+1)%2). So with upstream gradient dY = [[1,10],[100,1000]]:
        //   tap (1,1) reads input (0,0) from output (0,0): 1 * 1 = 1
        //   tap (1,0) reads input (0,1) from output (0,1): 2 * 10 = 20
        //   tap (0,1) reads input (1,0) from output (1,0): 3 * 100 = 300
        //   tap (0,0) reads input (1,1) from output (1,1): 4 * 1000 = 4000
        double[] dw = new double[4];
        ReferenceKernels.conv2dBackwardWeights(g, new double[] {1, 2, 3, 4}, new double[] {1, 10, 100, 1000}, dw,
                null);
        assertThat(dw).containsExactly(4000, 300, 20, 1);
        // Backward data: input (r,c) gets dY(output) * w(tap): w = [[1,2],[3,4]]
        //   (0,0): 1*w11 = 4   (0,1): 10*w10 = 30   (1,0): 100*w01 = 200   (1,1): 1000*w00 = 1000
        double[] dx = new double[4];
        ReferenceKernels.conv2dBackwardData(g, new double[] {1, 10, 100, 1000}, K2, dx);
        assertThat(dx).containsExactly(4, 30, 200, 1000);
    }

    @Test
    void lengthMismatchesAreNamed() {
        Conv2dGeometry g = Conv2dGeometry.simple(1, 1, 3, 3, 1, 2, 2);
        assertThatThrownBy(() -> ReferenceKernels.conv2dForward(g, new double[8], K2, null, new double[4]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("src").hasMessageContaining("8")
                .hasMessageContaining("9");
        assertThatThrownBy(() -> ReferenceKernels.conv2dForward(g, X3, K2, new double[2], new double[4]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias");
        assertThatThrownBy(() -> ReferenceKernels.conv2dBackwardData(g, new double[4], new double[3], new double[9]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weights");
        assertThatThrownBy(() -> ReferenceKernels.conv2dBackwardWeights(g, X3, new double[4], new double[4],
                new double[2])).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("diffBias");
        assertThatThrownBy(() -> ReferenceKernels.conv2dForward(g, null, K2, null, new double[4]))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("src");
    }

    @Test
    void tensorsBeyondJavaArraysAreRejectedClearly() {
        // 2^31 input elements: a valid geometry, but no Java array can hold it.
        Conv2dGeometry g = Conv2dGeometry.simple(1, 2, 1 << 15, 1 << 15, 1, 1, 1);
        assertThatThrownBy(() -> ReferenceKernels.conv2dForward(g, new double[1], new double[2], null,
                new double[1])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("src").hasMessageContaining("2147483648").hasMessageContaining("Java array");
    }

    static double[] iota(int count) {
        double[] a = new double[count];
        for (int i = 0; i < count; i++) {
            a[i] = i + 1;
        }
        return a;
    }
}
