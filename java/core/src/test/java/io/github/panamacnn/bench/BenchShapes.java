package io.github.panamacnn.bench;

import io.github.panamacnn.Conv2dGeometry;

/**
 * The convolution shapes of {@code bench/shapes.txt} that the JMH suite uses (same names, so the
 * Java numbers line up with the native bench's). Square stride and symmetric padding, dilation 1,
 * groups 1.
 */
enum BenchShapes {
    /** 1x1x8x8 input, one 3x3 filter, no padding: the call overhead dominates. */
    seed_tiny(1, 1, 8, 8, 1, 3, 3, 1, 0),
    /** A ResNet stage-1 layer: 8x64x56x56, 64 filters of 3x3, padding 1. */
    resnet3x3(8, 64, 56, 56, 64, 3, 3, 1, 1);

    final int n, c, h, w, oc, kh, kw, stride, pad;

    BenchShapes(int n, int c, int h, int w, int oc, int kh, int kw, int stride, int pad) {
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.oc = oc;
        this.kh = kh;
        this.kw = kw;
        this.stride = stride;
        this.pad = pad;
    }

    long[] srcShape() {
        return new long[] {n, c, h, w};
    }

    Conv2dGeometry geometry() {
        return Conv2dGeometry.of(n, c, h, w, oc, kh, kw, stride, stride, pad, pad, pad, pad, 1, 1, 1);
    }

    /** Deterministic pseudo-random values in [-1, 1). */
    static float[] randomData(long count, long seed) {
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many elements for a float[]: " + count);
        }
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1.0, 1.0);
        }
        return v;
    }

    static long count(long... shape) {
        long c = 1;
        for (long d : shape) {
            c = Math.multiplyExact(c, d);
        }
        return c;
    }
}
