package io.github.panamacnn.nativeimpl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.reference.ReferenceKernels;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Java phase frame ({@link DilatedFrame}) against the dilated reference convolution: the framed
 * dense reference convolution, mapped back, must equal the dilated one exactly on small integers
 * (forward and backward-data), so the frame's geometry and maps are right; and the framed Winograd
 * bound covers the exact sum of |terms| of every real output (a wrong map would leave some output
 * with a bound from the wrong inputs) while staying within a small factor of it.
 */
class DilatedFrameTest {

    /** n, c, ih, iw, oc, kh, kw, padTop, padBottom, padLeft, padRight, dilationH, dilationW, groups. */
    private static final long[][] GEOMETRIES = {
        {1, 1, 9, 9, 1, 3, 3, 2, 2, 2, 2, 2, 2, 1},
        {2, 3, 11, 7, 4, 3, 3, 0, 1, 3, 2, 3, 2, 1},
        {1, 4, 13, 10, 6, 3, 3, 3, 3, 0, 1, 2, 3, 2},
        {2, 2, 8, 12, 2, 3, 3, 1, 0, 2, 3, 3, 1, 2},
        {1, 2, 17, 5, 3, 3, 3, 2, 2, 0, 0, 1, 2, 1},
        {2, 6, 7, 7, 6, 3, 3, 3, 3, 3, 3, 3, 3, 3},
        {1, 1, 5, 6, 1, 3, 3, 0, 0, 0, 0, 2, 2, 1},
        {1, 3, 21, 19, 2, 3, 3, 1, 2, 3, 0, 4, 3, 1},
        {1, 2, 9, 11, 2, 1, 3, 0, 0, 1, 1, 2, 2, 1},
        {1, 2, 12, 10, 3, 5, 2, 4, 4, 1, 0, 2, 3, 1},
    };

    private static Conv2dGeometry geometry(long[] v) {
        return Conv2dGeometry.of(v[0], v[1], v[2], v[3], v[4], v[5], v[6], 1, 1, v[7], v[8], v[9], v[10], v[11],
                v[12], v[13]);
    }

    @Test
    void theFramedDenseReferenceEqualsTheDilatedReference() {
        int checked = 0;
        for (long[] v : GEOMETRIES) {
            Conv2dGeometry g = geometry(v);
            DilatedFrame frame = DilatedFrame.of(g);
            Conv2dGeometry dense = frame.dense();
            assertThat(dense.dilationH() * dense.dilationW() * dense.strideH() * dense.strideW()).isEqualTo(1);
            SplittableRandom r = new SplittableRandom(checked + 11);
            double[] x = ints(r, g.n() * g.c() * g.ih() * g.iw());
            double[] w = ints(r, g.oc() * g.channelsPerGroup() * g.kh() * g.kw());
            double[] b = ints(r, g.oc());
            double[] dy = ints(r, g.n() * g.oc() * g.oh() * g.ow());

            double[] y = new double[dy.length];
            ReferenceKernels.conv2dForward(g, x, w, b, y);
            double[] fy = new double[Math.toIntExact(dense.n() * dense.oc() * dense.oh() * dense.ow())];
            ReferenceKernels.conv2dForward(dense, frame.gatherInput(x), w, b, fy);
            assertThat(frame.scatterOutput(fy)).as("forward %s", g).containsExactly(y);

            double[] dx = new double[x.length];
            ReferenceKernels.conv2dBackwardData(g, dy, w, dx);
            double[] fdx = new double[Math.toIntExact(dense.n() * dense.c() * dense.ih() * dense.iw())];
            ReferenceKernels.conv2dBackwardData(dense, frame.gatherOutput(dy), w, fdx);
            assertThat(frame.scatterInput(fdx)).as("backward-data %s", g).containsExactly(dx);
            checked++;
        }
        assertThat(checked).isEqualTo(GEOMETRIES.length);
    }

    @Test
    void theFramedWinogradBoundCoversEveryTermSumAndIsNotLoose() {
        int checked = 0;
        for (long[] v : GEOMETRIES) {
            if (v[5] != 3 || v[6] != 3) {
                continue;
            }
            Conv2dGeometry g = geometry(v);
            for (boolean bwd : new boolean[] {false, true}) {
                SplittableRandom r = new SplittableRandom(checked + 101);
                long inCount = bwd ? g.n() * g.oc() * g.oh() * g.ow() : g.n() * g.c() * g.ih() * g.iw();
                double[] w = uniform(r, g.oc() * g.channelsPerGroup() * 9);
                double[] b = bwd ? null : uniform(r, g.oc());
                // dense data: the ratio to the term sum; single pixels: every output that reads the pixel
                // must get a bound from it (a wrong frame map would miss some)
                double[] in = uniform(r, inCount);
                double maxRatio = coverRatio(g, bwd, in, w, b);
                // docs/winograd.md: for inputs of equal magnitude S_w / S is 28 (tile origin) to 256
                // (tile corner) per channel; the largest S_w against the largest S stays below that
                assertThat(maxRatio).as("%s %s: max S_w / max S", bwd ? "bwd_data" : "fwd", g).isLessThan(256.0);
                for (int k = 0; k < 6; k++) {
                    double[] one = new double[in.length];
                    one[r.nextInt(one.length)] = 1.0;
                    coverRatio(g, bwd, one, w, null);
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(2 * 8);
    }

    /** Asserts S_w >= S for every element; returns max S_w / max S. */
    private static double coverRatio(Conv2dGeometry g, boolean bwd, double[] in, double[] w, double[] b) {
        double[] s = new double[Math.toIntExact(bwd ? g.n() * g.c() * g.ih() * g.iw() : g.n() * g.oc() * g.oh() * g.ow())];
        if (bwd) {
            ReferenceKernels.conv2dBackwardData(g, in, w, s);
        } else {
            ReferenceKernels.conv2dForward(g, in, w, b, s);
        }
        double[] sw = Tolerance.winogradAbsBound(g, bwd, in, w, b);
        assertThat(sw).hasSameSizeAs(s);
        double maxS = 0;
        double maxSw = 0;
        for (int i = 0; i < s.length; i++) {
            if (!(sw[i] >= s[i] * (1 - 1e-12))) {
                throw new AssertionError((bwd ? "bwd_data " : "fwd ") + g + ": S_w " + sw[i] + " < S " + s[i]
                        + " at " + i);
            }
            maxS = Math.max(maxS, s[i]);
            maxSw = Math.max(maxSw, sw[i]);
        }
        return maxSw / maxS;
    }

    private static double[] ints(SplittableRandom r, long n) {
        double[] a = new double[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextInt(-3, 4);
        }
        return a;
    }

    /** Non-negative (the bound's inputs are absolute values). */
    private static double[] uniform(SplittableRandom r, long n) {
        double[] a = new double[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextDouble(0, 1);
        }
        return a;
    }
}
