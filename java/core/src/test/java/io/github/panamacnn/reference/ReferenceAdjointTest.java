package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.MaxPool2dGeometry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static io.github.panamacnn.reference.RefTestSupport.abs;
import static io.github.panamacnn.reference.RefTestSupport.bwdData;
import static io.github.panamacnn.reference.RefTestSupport.conv;
import static io.github.panamacnn.reference.RefTestSupport.dot;
import static io.github.panamacnn.reference.RefTestSupport.dstCount;
import static io.github.panamacnn.reference.RefTestSupport.size;
import static io.github.panamacnn.reference.RefTestSupport.smallInts;
import static io.github.panamacnn.reference.RefTestSupport.srcCount;
import static io.github.panamacnn.reference.RefTestSupport.uniform;
import static io.github.panamacnn.reference.RefTestSupport.weightCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Seeded random geometries (groups, strides, dilations, asymmetric padding, batch) checked against
 * identities that tie the three convolution kernels together, plus properties of max pooling. Every
 * assertion message carries the seed and the geometry; rerun one case with its seed.
 */
class ReferenceAdjointTest {

    private static final double ADJOINT_TOLERANCE = 1e-9;

    static LongStream seeds() {
        return LongStream.rangeClosed(1, 200);
    }

    /**
     * {@code <conv(x,w), dy> == <x, bwdData(dy,w)> == <w, bwdWeights(x,dy)>} and
     * {@code <conv(x,w) + b, dy> - <conv(x,w), dy> == <b, dBias>}, with random doubles in [-1, 1).
     * The tolerance is relative to {@code <conv(|x|,|w|), |dy|>}, the sum of the magnitudes of all the
     * products involved, which bounds the rounding error whatever the cancellation.
     */
    @ParameterizedTest
    @MethodSource("seeds")
    void adjointIdentityWithRandomDoubles(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Conv2dGeometry g = RefTestSupport.randomConv(rnd);
        double[] x = uniform(rnd, srcCount(g));
        double[] w = uniform(rnd, weightCount(g));
        double[] b = uniform(rnd, g.oc());
        double[] dy = uniform(rnd, dstCount(g));

        double forward = dot(conv(g, x, w, null), dy);
        double viaData = dot(x, bwdData(g, dy, w));
        double[] dw = new double[w.length];
        double[] db = new double[b.length];
        ReferenceKernels.conv2dBackwardWeights(g, x, dy, dw, db);
        double viaWeights = dot(w, dw);
        double scale = dot(conv(g, abs(x), abs(w), null), abs(dy));
        // scale == 0 happens (about 1 seed in 10): every tap of every window lies in the padding. The
        // tolerance is then 0 and all three inner products must be exactly zero.
        double tol = ADJOINT_TOLERANCE * scale;

        assertThat(viaData).as("seed %d, %s: <x, bwdData(dy,w)> vs <conv(x,w), dy>", seed, g)
                .isCloseTo(forward, within(tol));
        assertThat(viaWeights).as("seed %d, %s: <w, bwdWeights(x,dy)> vs <conv(x,w), dy>", seed, g)
                .isCloseTo(forward, within(tol));
        double biasPart = dot(conv(g, x, w, b), dy) - forward;
        double scaleWithBias = dot(conv(g, abs(x), abs(w), abs(b)), abs(dy));
        assertThat(dot(b, db)).as("seed %d, %s: <b, dBias>", seed, g)
                .isCloseTo(biasPart, within(ADJOINT_TOLERANCE * scaleWithBias));
    }

    /** The same identities with small integers: every sum is exact, so equality is exact. */
    @ParameterizedTest
    @MethodSource("seeds")
    void adjointIdentityIsExactWithIntegers(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        Conv2dGeometry g = RefTestSupport.randomConv(rnd);
        double[] x = smallInts(rnd, srcCount(g));
        double[] w = smallInts(rnd, weightCount(g));
        double[] dy = smallInts(rnd, dstCount(g));
        double forward = dot(conv(g, x, w, null), dy);
        double[] dw = new double[w.length];
        ReferenceKernels.conv2dBackwardWeights(g, x, dy, dw, null);
        assertThat(dot(x, bwdData(g, dy, w))).as("seed %d, %s", seed, g).isEqualTo(forward);
        assertThat(dot(w, dw)).as("seed %d, %s", seed, g).isEqualTo(forward);
    }

    /**
     * Forward again, but built from simpler pieces written here: explicitly zero-pad the input,
     * expand each kernel with dilation-1 zeros between taps, run a dense stride-1 correlation per group,
     * keep every stride-th output. Must equal the reference exactly (integers).
     */
    @ParameterizedTest
    @MethodSource("seeds")
    void forwardEqualsPadThenDenseCorrelationThenSubsample(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 7919);
        Conv2dGeometry g = RefTestSupport.randomConv(rnd);
        double[] x = smallInts(rnd, srcCount(g));
        double[] w = smallInts(rnd, weightCount(g));
        double[] b = smallInts(rnd, g.oc());
        int n = (int) g.n(), c = (int) g.c(), ih = (int) g.ih(), iw = (int) g.iw(), oc = (int) g.oc();
        int kh = (int) g.kh(), kw = (int) g.kw(), cg = (int) g.channelsPerGroup(), ocg = (int) g.outChannelsPerGroup();
        int pt = (int) g.padTop(), pl = (int) g.padLeft();
        int ph = ih + pt + (int) g.padBottom(), pw = iw + pl + (int) g.padRight();
        int ekh = (kh - 1) * (int) g.dilationH() + 1, ekw = (kw - 1) * (int) g.dilationW() + 1;

        double[] padded = new double[n * c * ph * pw];
        for (int i = 0; i < n * c; i++) {
            for (int y = 0; y < ih; y++) {
                System.arraycopy(x, (i * ih + y) * iw, padded, (i * ph + y + pt) * pw + pl, iw);
            }
        }
        double[] dilated = new double[oc * cg * ekh * ekw];
        for (int i = 0; i < oc * cg; i++) {
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    dilated[(i * ekh + ky * (int) g.dilationH()) * ekw + kx * (int) g.dilationW()] =
                            w[(i * kh + ky) * kw + kx];
                }
            }
        }
        int dh = ph - ekh + 1, dwid = pw - ekw + 1; // dense stride-1 output size
        double[] expected = new double[size(dstCount(g))];
        int oh = (int) g.oh(), ow = (int) g.ow();
        for (int bi = 0; bi < n; bi++) {
            for (int o = 0; o < oc; o++) {
                int grp = o / ocg;
                double[] dense = new double[dh * dwid];
                for (int ci = 0; ci < cg; ci++) {
                    int ch = grp * cg + ci;
                    for (int y = 0; y < dh; y++) {
                        for (int xx = 0; xx < dwid; xx++) {
                            for (int a = 0; a < ekh; a++) {
                                for (int e = 0; e < ekw; e++) {
                                    dense[y * dwid + xx] += padded[((bi * c + ch) * ph + y + a) * pw + xx + e]
                                            * dilated[((o * cg + ci) * ekh + a) * ekw + e];
                                }
                            }
                        }
                    }
                }
                for (int y = 0; y < oh; y++) {
                    for (int xx = 0; xx < ow; xx++) {
                        expected[((bi * oc + o) * oh + y) * ow + xx] =
                                dense[y * (int) g.strideH() * dwid + xx * (int) g.strideW()] + b[o];
                    }
                }
            }
        }
        assertThat(conv(g, x, w, b)).as("seed %d, %s", seed, g).containsExactly(expected);
    }

    /** Backward passes overwrite their outputs: garbage in the output arrays must not leak through. */
    @ParameterizedTest
    @MethodSource("seeds")
    void backwardOutputsAreOverwrittenNotAccumulated(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed + 1_000_003);
        Conv2dGeometry g = RefTestSupport.randomConv(rnd);
        double[] x = smallInts(rnd, srcCount(g));
        double[] w = smallInts(rnd, weightCount(g));
        double[] dy = smallInts(rnd, dstCount(g));
        double[] dxClean = bwdData(g, dy, w);
        double[] dxDirty = new double[dxClean.length];
        Arrays.fill(dxDirty, 1e9);
        ReferenceKernels.conv2dBackwardData(g, dy, w, dxDirty);
        assertThat(dxDirty).as("seed %d", seed).containsExactly(dxClean);

        double[] dw1 = new double[w.length], db1 = new double[(int) g.oc()];
        ReferenceKernels.conv2dBackwardWeights(g, x, dy, dw1, db1);
        double[] dw2 = new double[w.length], db2 = new double[(int) g.oc()];
        Arrays.fill(dw2, Double.NaN);
        Arrays.fill(db2, Double.NaN);
        ReferenceKernels.conv2dBackwardWeights(g, x, dy, dw2, db2);
        assertThat(dw2).as("seed %d", seed).containsExactly(dw1);
        assertThat(db2).as("seed %d", seed).containsExactly(db1);
    }

    /**
     * Max-pool properties on random geometries, with many ties (values from a small set, often all
     * negative) and, on odd seeds, some NaNs each carrying its own payload: a window holding a NaN
     * yields its last NaN in row-major order (bits compared); otherwise the first in-range tap holding
     * the largest value. The expected winner is found by a separate search (max, then first / last).
     */
    @ParameterizedTest
    @MethodSource("seeds")
    void maxPoolWinnerIsTheFirstLargestInRangeTap(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 17);
        MaxPool2dGeometry g = RefTestSupport.randomPool(rnd);
        int ih = (int) g.ih(), iw = (int) g.iw(), oh = (int) g.oh(), ow = (int) g.ow();
        int planes = (int) (g.n() * g.c());
        float[] x = new float[planes * ih * iw];
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextInt(-3, 3); // many ties, all in-range values may be negative
            if (seed % 2 == 1 && rnd.nextInt(8) == 0) {
                x[i] = Float.intBitsToFloat(0x7fc0_0000 | (i + 1)); // a NaN that says where it came from
            }
        }
        float[] y = new float[planes * oh * ow];
        int[] idx = new int[y.length];
        ReferenceKernels.maxPool2dForward(g, x, y, idx);
        for (int p = 0; p < planes; p++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    int j = (p * oh + oy) * ow + ox;
                    // the first in-range tap holding the largest value, found by a max-then-first search
                    float best = Float.NEGATIVE_INFINITY;
                    for (int ky = 0; ky < g.kh(); ky++) {
                        for (int kx = 0; kx < g.kw(); kx++) {
                            long iy = oy * g.strideH() - g.padTop() + ky * g.dilationH();
                            long ix = ox * g.strideW() - g.padLeft() + kx * g.dilationW();
                            if (iy >= 0 && iy < ih && ix >= 0 && ix < iw) {
                                best = Math.max(best, x[(int) (p * ih * iw + iy * iw + ix)]);
                            }
                        }
                    }
                    int lastNan = -1;
                    for (int ky = 0; ky < g.kh(); ky++) {
                        for (int kx = 0; kx < g.kw(); kx++) {
                            long iy = oy * g.strideH() - g.padTop() + ky * g.dilationH();
                            long ix = ox * g.strideW() - g.padLeft() + kx * g.dilationW();
                            if (iy >= 0 && iy < ih && ix >= 0 && ix < iw
                                    && Float.isNaN(x[(int) (p * ih * iw + iy * iw + ix)])) {
                                lastNan = (int) (iy * iw + ix);
                            }
                        }
                    }
                    if (lastNan >= 0) {
                        assertThat(idx[j]).as("seed %d, %s, output %d: last NaN", seed, g, j).isEqualTo(lastNan);
                        assertThat(Float.floatToRawIntBits(y[j])).as("seed %d, %s, output %d: NaN payload", seed, g, j)
                                .isEqualTo(Float.floatToRawIntBits(x[p * ih * iw + lastNan]));
                        continue;
                    }
                    int first = -1;
                    for (int ky = 0; ky < g.kh() && first < 0; ky++) {
                        for (int kx = 0; kx < g.kw() && first < 0; kx++) {
                            long iy = oy * g.strideH() - g.padTop() + ky * g.dilationH();
                            long ix = ox * g.strideW() - g.padLeft() + kx * g.dilationW();
                            if (iy >= 0 && iy < ih && ix >= 0 && ix < iw && x[(int) (p * ih * iw + iy * iw + ix)] == best) {
                                first = (int) (iy * iw + ix);
                            }
                        }
                    }
                    assertThat(idx[j]).as("seed %d, %s, output %d", seed, g, j).isEqualTo(first);
                    assertThat(y[j]).as("seed %d, %s, output %d", seed, g, j).isEqualTo(best);
                }
            }
        }
    }
}
