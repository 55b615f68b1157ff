package io.github.panamacnn.reference;

import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.MaxPool2dGeometry;

import java.util.SplittableRandom;

/** Small helpers shared by the reference tests: seeded data, inner products, random geometries. */
final class RefTestSupport {
    private RefTestSupport() {
    }

    static double[] uniform(SplittableRandom rnd, long count) {
        double[] a = new double[Math.toIntExact(count)];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextDouble(-1.0, 1.0);
        }
        return a;
    }

    /** Small integers in [-3, 3]: sums of their products are exact in double. */
    static double[] smallInts(SplittableRandom rnd, long count) {
        double[] a = new double[Math.toIntExact(count)];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextInt(-3, 4);
        }
        return a;
    }

    static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(a.length + " != " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static double[] abs(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.abs(a[i]);
        }
        return r;
    }

    static double norm(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v * v;
        }
        return Math.sqrt(s);
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    static int size(long count) {
        return Math.toIntExact(count);
    }

    static double[] conv(Conv2dGeometry g, double[] x, double[] w, double[] b) {
        double[] y = new double[size(g.n() * g.oc() * g.oh() * g.ow())];
        ReferenceKernels.conv2dForward(g, x, w, b, y);
        return y;
    }

    static double[] bwdData(Conv2dGeometry g, double[] dy, double[] w) {
        double[] dx = new double[size(g.n() * g.c() * g.ih() * g.iw())];
        ReferenceKernels.conv2dBackwardData(g, dy, w, dx);
        return dx;
    }

    static long srcCount(Conv2dGeometry g) {
        return g.n() * g.c() * g.ih() * g.iw();
    }

    static long weightCount(Conv2dGeometry g) {
        return g.oc() * g.channelsPerGroup() * g.kh() * g.kw();
    }

    static long dstCount(Conv2dGeometry g) {
        return g.n() * g.oc() * g.oh() * g.ow();
    }

    /**
     * A random valid convolution with every feature in play: batch, groups, channel counts that are
     * not multiples of anything, kernels up to 4, strides and dilations up to 3, asymmetric padding.
     */
    static Conv2dGeometry randomConv(SplittableRandom rnd) {
        long groups = rnd.nextInt(1, 4);
        long cg = rnd.nextInt(1, 4);
        long ocg = rnd.nextInt(1, 4);
        long kh = rnd.nextInt(1, 5);
        long kw = rnd.nextInt(1, 5);
        long sh = rnd.nextInt(1, 4);
        long sw = rnd.nextInt(1, 4);
        long dh = rnd.nextInt(1, 4);
        long dw = rnd.nextInt(1, 4);
        long pt = rnd.nextInt(0, 3);
        long pb = rnd.nextInt(0, 3);
        long pl = rnd.nextInt(0, 3);
        long pr = rnd.nextInt(0, 3);
        long ih = Math.max(1, dh * (kh - 1) + 1 - pt - pb) + rnd.nextInt(0, 6);
        long iw = Math.max(1, dw * (kw - 1) + 1 - pl - pr) + rnd.nextInt(0, 6);
        long n = rnd.nextInt(1, 3);
        return Conv2dGeometry.of(n, groups * cg, ih, iw, groups * ocg, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw,
                groups);
    }

    /**
     * A random valid max pooling (padding kept below the kernel size so that every window touches
     * the input), floor or ceil mode.
     */
    static MaxPool2dGeometry randomPool(SplittableRandom rnd) {
        while (true) {
            long kh = rnd.nextInt(1, 4);
            long kw = rnd.nextInt(1, 4);
            long sh = rnd.nextInt(1, 4);
            long sw = rnd.nextInt(1, 4);
            long dh = rnd.nextInt(1, 3);
            long dw = rnd.nextInt(1, 3);
            long pt = rnd.nextInt(0, (int) kh);
            long pb = rnd.nextInt(0, (int) kh);
            long pl = rnd.nextInt(0, (int) kw);
            long pr = rnd.nextInt(0, (int) kw);
            long ih = Math.max(1, dh * (kh - 1) + 1 - pt - pb) + rnd.nextInt(0, 6);
            long iw = Math.max(1, dw * (kw - 1) + 1 - pl - pr) + rnd.nextInt(0, 6);
            try {
                return MaxPool2dGeometry.of(rnd.nextInt(1, 3), rnd.nextInt(1, 4), ih, iw, kh, kw, sh, sw, pt, pb,
                        pl, pr, dh, dw, rnd.nextBoolean());
            } catch (IllegalArgumentException windowInPadding) {
                // dilation can still put a whole window in the padding: draw again
            }
        }
    }
}
