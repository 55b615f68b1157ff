package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.MaxPool2dGeometry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static io.github.panamacnn.reference.RefTestSupport.dstCount;
import static io.github.panamacnn.reference.RefTestSupport.size;
import static io.github.panamacnn.reference.RefTestSupport.smallInts;
import static io.github.panamacnn.reference.RefTestSupport.srcCount;
import static io.github.panamacnn.reference.RefTestSupport.weightCount;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The textbook identities of convolution and max-pool gradients, each computed in the test by a
 * separately written loop straight from its definition (explicit zero padding, explicit 180-degree
 * rotation, explicit argmax search) and compared with the reference kernels. Inputs are small
 * integers, so both sides are exact and compared with {@code containsExactly}.
 */
class ReferenceIdentitiesTest {

    /** Textbook shapes: stride 1, no padding, no dilation, one group. {n, c, ih, iw, oc, kh, kw}. */
    static Stream<long[]> textbookShapes() {
        return Stream.of(
                new long[] {1, 1, 3, 3, 1, 2, 2},
                new long[] {1, 1, 5, 4, 1, 3, 2},
                new long[] {2, 3, 5, 6, 2, 3, 3},
                new long[] {3, 2, 4, 4, 3, 4, 4},   // kernel == input
                new long[] {1, 4, 7, 1, 5, 2, 1},   // one column
                new long[] {2, 1, 6, 5, 4, 1, 1});  // 1x1 kernel
    }

    // ----------------------------------------------------------------- (a) filter gradient

    /**
     * dW[o][ci][ky][kx] = sum over n, y, x of X[n][ci][y+ky][x+kx] * dY[n][o][y][x]: the valid
     * cross-correlation of the input with the output gradient; dB[o] = sum of dY[n][o].
     */
    @ParameterizedTest
    @MethodSource("textbookShapes")
    void filterGradientIsTheValidCorrelationOfInputWithOutputGradient(long[] s) {
        Conv2dGeometry g = Conv2dGeometry.simple(s[0], s[1], s[2], s[3], s[4], s[5], s[6]);
        SplittableRandom rnd = new SplittableRandom(11 + java.util.Arrays.hashCode(s));
        double[] x = smallInts(rnd, srcCount(g));
        double[] dy = smallInts(rnd, dstCount(g));
        int n = (int) g.n(), c = (int) g.c(), ih = (int) g.ih(), iw = (int) g.iw(), oc = (int) g.oc();
        int kh = (int) g.kh(), kw = (int) g.kw(), oh = (int) g.oh(), ow = (int) g.ow();

        double[] expectedW = new double[size(weightCount(g))];
        double[] expectedB = new double[oc];
        for (int o = 0; o < oc; o++) {
            for (int ci = 0; ci < c; ci++) {
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        double sum = 0;
                        for (int b = 0; b < n; b++) {
                            for (int y = 0; y < oh; y++) {
                                for (int xx = 0; xx < ow; xx++) {
                                    sum += x[((b * c + ci) * ih + y + ky) * iw + xx + kx]
                                            * dy[((b * oc + o) * oh + y) * ow + xx];
                                }
                            }
                        }
                        expectedW[((o * c + ci) * kh + ky) * kw + kx] = sum;
                    }
                }
            }
            for (int b = 0; b < n; b++) {
                for (int i = 0; i < oh * ow; i++) {
                    expectedB[o] += dy[(b * oc + o) * oh * ow + i];
                }
            }
        }

        double[] dw = new double[expectedW.length];
        double[] db = new double[oc];
        ReferenceKernels.conv2dBackwardWeights(g, x, dy, dw, db);
        assertThat(dw).as("dW for %s", g).containsExactly(expectedW);
        assertThat(db).as("dB for %s", g).containsExactly(expectedB);
    }

    // ----------------------------------------------------------------- (b) input gradient

    /**
     * dX = the full convolution of dY with the 180-degree-rotated filter: zero-pad dY by (kh-1, kw-1)
     * on every side, rotate W by 180 degrees and swap its in/out channels, then run a plain valid
     * correlation.
     */
    @ParameterizedTest
    @MethodSource("textbookShapes")
    void inputGradientIsTheFullConvolutionWithTheRotatedFilter(long[] s) {
        Conv2dGeometry g = Conv2dGeometry.simple(s[0], s[1], s[2], s[3], s[4], s[5], s[6]);
        SplittableRandom rnd = new SplittableRandom(23 + java.util.Arrays.hashCode(s));
        double[] w = smallInts(rnd, weightCount(g));
        double[] dy = smallInts(rnd, dstCount(g));
        int n = (int) g.n(), c = (int) g.c(), ih = (int) g.ih(), iw = (int) g.iw(), oc = (int) g.oc();
        int kh = (int) g.kh(), kw = (int) g.kw(), oh = (int) g.oh(), ow = (int) g.ow();

        // 1. zero-pad dY by (kh-1, kw-1) on every side
        int ph = oh + 2 * (kh - 1), pw = ow + 2 * (kw - 1);
        double[] dyPad = new double[n * oc * ph * pw];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < oc; o++) {
                for (int y = 0; y < oh; y++) {
                    for (int xx = 0; xx < ow; xx++) {
                        dyPad[((b * oc + o) * ph + y + kh - 1) * pw + xx + kw - 1] =
                                dy[((b * oc + o) * oh + y) * ow + xx];
                    }
                }
            }
        }
        // 2. rotate each kernel by 180 degrees and transpose channels: wT[ci][o][ky][kx] = W[o][ci][kh-1-ky][kw-1-kx]
        double[] wT = new double[c * oc * kh * kw];
        for (int o = 0; o < oc; o++) {
            for (int ci = 0; ci < c; ci++) {
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        wT[((ci * oc + o) * kh + ky) * kw + kx] = w[((o * c + ci) * kh + (kh - 1 - ky)) * kw
                                + (kw - 1 - kx)];
                    }
                }
            }
        }
        // 3. valid correlation of dyPad (oc channels, ph x pw) with wT (c outputs): ph - kh + 1 = ih rows
        assertThat(ph - kh + 1).isEqualTo(ih);
        assertThat(pw - kw + 1).isEqualTo(iw);
        double[] expected = new double[n * c * ih * iw];
        for (int b = 0; b < n; b++) {
            for (int ci = 0; ci < c; ci++) {
                for (int y = 0; y < ih; y++) {
                    for (int xx = 0; xx < iw; xx++) {
                        double sum = 0;
                        for (int o = 0; o < oc; o++) {
                            for (int ky = 0; ky < kh; ky++) {
                                for (int kx = 0; kx < kw; kx++) {
                                    sum += dyPad[((b * oc + o) * ph + y + ky) * pw + xx + kx]
                                            * wT[((ci * oc + o) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        expected[((b * c + ci) * ih + y) * iw + xx] = sum;
                    }
                }
            }
        }

        assertThat(RefTestSupport.bwdData(g, dy, w)).as("dX for %s", g).containsExactly(expected);
    }

    /**
     * The same identity in its general form, on random geometries with stride, asymmetric padding,
     * dilation and groups: upsample dY by the stride (insert stride-1 zeros), dilate the kernel
     * (insert dilation-1 zeros), rotate it by 180 degrees, take the full correlation per group and crop
     * the padding away (rows the forward pass never read get zero).
     */
    @ParameterizedTest
    @MethodSource("seeds")
    void generalInputGradientIsTheFullConvolutionOfTheUpsampledGradientWithTheRotatedDilatedFilter(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Conv2dGeometry g = RefTestSupport.randomConv(rnd);
        double[] w = smallInts(rnd, weightCount(g));
        double[] dy = smallInts(rnd, dstCount(g));
        int n = (int) g.n(), c = (int) g.c(), ih = (int) g.ih(), iw = (int) g.iw(), oc = (int) g.oc();
        int kh = (int) g.kh(), kw = (int) g.kw(), oh = (int) g.oh(), ow = (int) g.ow();
        int sh = (int) g.strideH(), sw = (int) g.strideW(), dh = (int) g.dilationH(), dw = (int) g.dilationW();
        int cg = (int) g.channelsPerGroup(), ocg = (int) g.outChannelsPerGroup();
        int ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;     // dilated kernel extent
        int uh = (oh - 1) * sh + 1, uw = (ow - 1) * sw + 1;       // upsampled dY size
        int ph = uh + 2 * (ekh - 1), pw = uw + 2 * (ekw - 1);     // ... zero-padded for the full correlation
        int fh = ph - ekh + 1, fw = pw - ekw + 1;                 // full correlation size, in padded-input coords

        double[] expected = new double[size(srcCount(g))];
        for (int b = 0; b < n; b++) {
            for (int cIdx = 0; cIdx < c; cIdx++) {
                int grp = cIdx / cg, ci = cIdx % cg;
                double[] full = new double[fh * fw];
                for (int o = grp * ocg; o < (grp + 1) * ocg; o++) {
                    double[] up = new double[ph * pw];
                    for (int y = 0; y < oh; y++) {
                        for (int xx = 0; xx < ow; xx++) {
                            up[(y * sh + ekh - 1) * pw + xx * sw + ekw - 1] = dy[((b * oc + o) * oh + y) * ow + xx];
                        }
                    }
                    double[] rot = new double[ekh * ekw]; // rotated dilated kernel
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            rot[(ekh - 1 - ky * dh) * ekw + (ekw - 1 - kx * dw)] =
                                    w[((o * cg + ci) * kh + ky) * kw + kx];
                        }
                    }
                    for (int fy = 0; fy < fh; fy++) {
                        for (int fx = 0; fx < fw; fx++) {
                            double sum = 0;
                            for (int a = 0; a < ekh; a++) {
                                for (int e = 0; e < ekw; e++) {
                                    sum += up[(fy + a) * pw + fx + e] * rot[a * ekw + e];
                                }
                            }
                            full[fy * fw + fx] += sum;
                        }
                    }
                }
                for (int iy = 0; iy < ih; iy++) {
                    for (int ix = 0; ix < iw; ix++) {
                        int fy = iy + (int) g.padTop(), fx = ix + (int) g.padLeft();
                        expected[((b * c + cIdx) * ih + iy) * iw + ix] = fy < fh && fx < fw ? full[fy * fw + fx] : 0;
                    }
                }
            }
        }
        assertThat(RefTestSupport.bwdData(g, dy, w)).as("seed %d, %s", seed, g).containsExactly(expected);
    }

    static LongStream seeds() {
        return LongStream.rangeClosed(1, 60);
    }

    // ----------------------------------------------------------------- (c) max-pool mask

    /**
     * With distinct input values each window has one maximum; the test finds it by its own search.
     * The gradient must be exactly zero off the mask and, on it, the sum of the upstream gradients
     * of the windows whose maximum it is (integers, so the sum is exact in any order).
     */
    @ParameterizedTest
    @MethodSource("seeds")
    void maxPoolGradientLandsOnlyOnTheMask(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MaxPool2dGeometry g = RefTestSupport.randomPool(rnd);
        int planes = (int) (g.n() * g.c()), ih = (int) g.ih(), iw = (int) g.iw(), oh = (int) g.oh(), ow = (int) g.ow();
        float[] x = distinctValues(rnd, planes * ih * iw);
        float[] dy = new float[planes * oh * ow];
        for (int i = 0; i < dy.length; i++) {
            dy[i] = rnd.nextInt(1, 10) * (rnd.nextBoolean() ? 1 : -1);
        }

        double[] expected = new double[x.length];
        boolean[] mask = new boolean[x.length];
        for (int p = 0; p < planes; p++) {
            for (int y = 0; y < oh; y++) {
                for (int xx = 0; xx < ow; xx++) {
                    int best = -1;
                    for (int ky = 0; ky < g.kh(); ky++) {
                        for (int kx = 0; kx < g.kw(); kx++) {
                            long iy = y * g.strideH() - g.padTop() + ky * g.dilationH();
                            long ix = xx * g.strideW() - g.padLeft() + kx * g.dilationW();
                            if (iy >= 0 && iy < ih && ix >= 0 && ix < iw) {
                                int at = (int) (p * ih * iw + iy * iw + ix);
                                if (best < 0 || x[at] > x[best]) {
                                    best = at;
                                }
                            }
                        }
                    }
                    mask[best] = true;
                    expected[best] += dy[(p * oh + y) * ow + xx];
                }
            }
        }

        int[] idx = new int[dy.length];
        ReferenceKernels.maxPool2dForward(g, x, new float[dy.length], idx);
        float[] dx = new float[x.length];
        java.util.Arrays.fill(dx, Float.NaN);
        ReferenceKernels.maxPool2dBackward(g, dy, idx, dx);

        int onMask = 0;
        for (int i = 0; i < dx.length; i++) {
            if (mask[i]) {
                onMask++;
                assertThat((double) dx[i]).as("seed %d, %s: on-mask position %d", seed, g, i).isEqualTo(expected[i]);
            } else {
                assertThat(Float.floatToRawIntBits(dx[i])).as("seed %d, %s: off-mask position %d must be +0.0",
                        seed, g, i).isZero();
            }
        }
        assertThat(onMask).as("seed %d: the mask is not empty", seed).isPositive();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void nonOverlappingPoolingPassesEachGradientThroughUnchanged(int seed) {
        // stride == kernel, no padding: each output owns one mask position, which gets exactly its dY.
        SplittableRandom rnd = new SplittableRandom(seed);
        MaxPool2dGeometry g = MaxPool2dGeometry.simple(2, 3, 6, 6, 2, 3);
        float[] x = distinctValues(rnd, 2 * 3 * 36);
        float[] dy = new float[(int) g.dstElementCount()];
        for (int i = 0; i < dy.length; i++) {
            dy[i] = (float) rnd.nextDouble(-1, 1); // any floats: no additions happen
        }
        int[] idx = new int[dy.length];
        ReferenceKernels.maxPool2dForward(g, x, new float[dy.length], idx);
        float[] dx = new float[x.length];
        ReferenceKernels.maxPool2dBackward(g, dy, idx, dx);
        int nonZero = 0;
        for (float v : dx) {
            if (v != 0) {
                nonZero++;
            }
        }
        assertThat(nonZero).isEqualTo(dy.length);
        int plane = 36, outPlane = (int) (g.oh() * g.ow());
        for (int j = 0; j < dy.length; j++) {
            int p = j / outPlane;
            assertThat(dx[p * plane + idx[j]]).as("seed %d, output %d", seed, j).isEqualTo(dy[j]);
        }
    }

    /** A random permutation of 0..count-1 as floats (exact), so that no two inputs tie. */
    static float[] distinctValues(SplittableRandom rnd, int count) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = i;
        }
        for (int i = count - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            float t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }
}
