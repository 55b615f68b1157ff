package io.github.panamacnn;

import java.util.SplittableRandom;
import java.util.function.Consumer;

/** Data and ISA-level helpers the algorithm tests share. */
final class TestArrays {

    private TestArrays() {
    }

    /** Uniform values in [-1, 1) for a tensor of this shape. */
    static float[] uniform(SplittableRandom r, long[] shape) {
        float[] a = new float[Math.toIntExact(count(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** The values as doubles (null stays null), or their absolute values. */
    static double[] toDouble(float[] a, boolean abs) {
        if (a == null) {
            return null;
        }
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = abs ? Math.abs(a[i]) : a[i];
        }
        return d;
    }

    static double[] toDouble(float[] a) {
        return toDouble(a, false);
    }

    /**
     * Runs {@code body} once at every ISA level of this architecture the machine has (scalar up to
     * the detected level), with the library capped at that level, and restores the cap; returns the
     * number of levels run.
     */
    static int atEveryIsaLevel(Consumer<Isa> body) {
        Isa before = PanamaCnn.activeIsa();
        int levels = 0;
        try {
            for (Isa isa : Isa.values()) {
                if (isa.level() > PanamaCnn.detectedIsa().level()) {
                    break;
                }
                PanamaCnn.setMaxIsa(isa);
                if (PanamaCnn.activeIsa() != isa) {
                    continue; // another architecture's level (e.g. AVX2 on AArch64)
                }
                levels++;
                body.accept(isa);
            }
        } finally {
            PanamaCnn.setMaxIsa(before);
        }
        return levels;
    }
}
