package io.github.panamacnn.cli;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2dGeometry;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.MaxPool2dGeometry;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.nativeimpl.ConvBound;
import io.github.panamacnn.nativeimpl.NativeBackend;
import io.github.panamacnn.nativeimpl.Tolerance;
import io.github.panamacnn.reference.ReferenceBackend;
import io.github.panamacnn.reference.ReferenceKernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Runs one shape of the corpus through the native and the reference backend and compares them.
 * Inputs are seeded uniform floats in [-1, 1) (max-pool inputs are rounded to multiples of 1/8 so
 * that ties happen). Native outputs are pre-filled with NaN (indices with -1) so that a kernel that
 * leaves an element unwritten fails. Convolution results are compared with the double-precision
 * {@link ReferenceKernels} and must lie within {@link Tolerance#allowedError} per element, with the bound of
 * the algorithm that served the pass ({@link ConvBound}: Winograd's or the direct one); max-pool
 * outputs and indices must be bit-identical with the reference backend. Timings compare the native
 * backend with the (float in, float out) reference backend.
 */
final class CrossCheck {

    /** One line of the report: one op on one shape. */
    record Row(String shape, String op, String geometry, double maxAbsError, double maxRelError,
               double errorOverBound, boolean ok, String note, double nativeMillis, double referenceMillis) {
    }

    private final Backend nativeBackend;
    private final Backend reference;
    private final long seed;
    private final int warmup;
    private final int runs;

    CrossCheck(Backend nativeBackend, Backend reference, long seed, int warmup, int runs) {
        this.nativeBackend = nativeBackend;
        this.reference = reference;
        this.seed = seed;
        this.warmup = warmup;
        this.runs = runs;
    }

    /** "algorithm/isa" that served this thread's last native call ("reference" for another backend). */
    private String servedBy() {
        return nativeBackend instanceof NativeBackend ? NativeBackend.lastKernel() : "reference";
    }

    /** The random stream of one named shape: the same seed and name give the same inputs. */
    SplittableRandom random(String name) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
    }

    // ------------------------------------------------------------------ convolution

    List<Row> conv(String name, Conv2dGeometry g) {
        List<Row> rows = new ArrayList<>(3);
        SplittableRandom r = random(name);
        String geo = g.toString();
        try (Tensor src = uniform(r, g.srcShape());
             Tensor w = uniform(r, g.weightsShape());
             Tensor b = uniform(r, g.biasShape());
             Tensor diffDst = uniform(r, g.dstShape())) {
            double[] x = ReferenceBackend.toDoubles(src);
            double[] wd = ReferenceBackend.toDoubles(w);
            double[] bd = ReferenceBackend.toDoubles(b);
            double[] dy = ReferenceBackend.toDoubles(diffDst);
            double[] ax = abs(x);
            double[] aw = abs(wd);
            double[] ab = abs(bd);
            double[] ady = abs(dy);

            // forward
            rows.add(guarded(name, "conv2d_fwd", geo, () -> {
                try (Tensor dstN = nanFilled(g.dstShape()); Tensor dstR = Tensor.zeros(g.dstShape())) {
                    nativeBackend.conv2dForward(g, src, w, b, dstN);
                    String kernel = servedBy();
                    double[] exact = new double[(int) dstN.elementCount()];
                    ReferenceKernels.conv2dForward(g, x, wd, bd, exact);
                    // the bound of the algorithm that served the call
                    ConvBound bound = ConvBound.forward(g, ConvBound.lastServed(nativeBackend), ax, aw, ab);
                    Stats st = new Stats();
                    st.compareWithin(dstN.toArray(), exact, bound);
                    double tn = time(() -> nativeBackend.conv2dForward(g, src, w, b, dstN));
                    double tr = time(() -> reference.conv2dForward(g, src, w, b, dstR));
                    return st.row(name, "conv2d_fwd", geo + " [" + kernel + "]", tn, tr);
                }
            }));

            // backward to the input
            rows.add(guarded(name, "conv2d_bwd_data", geo, () -> {
                try (Tensor dxN = nanFilled(g.srcShape()); Tensor dxR = Tensor.zeros(g.srcShape())) {
                    nativeBackend.conv2dBackwardData(g, diffDst, w, dxN);
                    String kernel = servedBy();
                    double[] exact = new double[(int) dxN.elementCount()];
                    ReferenceKernels.conv2dBackwardData(g, dy, wd, exact);
                    ConvBound bound = ConvBound.backwardData(g, ConvBound.lastServed(nativeBackend), ady, aw);
                    Stats st = new Stats();
                    st.compareWithin(dxN.toArray(), exact, bound);
                    double tn = time(() -> nativeBackend.conv2dBackwardData(g, diffDst, w, dxN));
                    double tr = time(() -> reference.conv2dBackwardData(g, diffDst, w, dxR));
                    return st.row(name, "conv2d_bwd_data", geo + " [" + kernel + "]", tn, tr);
                }
            }));

            // backward to the weights and the bias
            rows.add(guarded(name, "conv2d_bwd_weights", geo, () -> {
                try (Tensor dwN = nanFilled(g.weightsShape()); Tensor dwR = Tensor.zeros(g.weightsShape());
                     Tensor dbN = nanFilled(g.biasShape()); Tensor dbR = Tensor.zeros(g.biasShape())) {
                    nativeBackend.conv2dBackwardWeights(g, src, diffDst, dwN, dbN);
                    String kernel = servedBy();
                    double[] exactW = new double[(int) dwN.elementCount()];
                    double[] exactB = new double[(int) dbN.elementCount()];
                    ReferenceKernels.conv2dBackwardWeights(g, x, dy, exactW, exactB);
                    Stats st = new Stats();
                    st.compareWithin(dwN.toArray(), exactW,
                            ConvBound.backwardWeights(g, ConvBound.lastServed(nativeBackend), ax, ady));
                    st.compareWithin(dbN.toArray(), exactB, ConvBound.backwardBias(g, ady));
                    double tn = time(() -> nativeBackend.conv2dBackwardWeights(g, src, diffDst, dwN, dbN));
                    double tr = time(() -> reference.conv2dBackwardWeights(g, src, diffDst, dwR, dbR));
                    return st.row(name, "conv2d_bwd_weights", geo + " [" + kernel + "]", tn, tr);
                }
            }));
        }
        return rows;
    }

    // ------------------------------------------------------------------ max pooling

    /**
     * Max pooling with each mask the C API offers: int32 plane offsets ({@code maxpool2d_fwd} / {@code _bwd})
     * and, when the window has at most 256 taps, the compact tap mask the layer keeps
     * ({@code maxpool2d_fwd_taps} / {@code _bwd_taps}).
     */
    List<Row> pool(String name, MaxPool2dGeometry g) {
        List<Row> rows = new ArrayList<>(4);
        rows.addAll(pool(name, g, IndexBuffer.Kind.INT32, "maxpool2d_fwd", "maxpool2d_bwd"));
        if (g.tapMaskFits()) {
            rows.addAll(pool(name, g, IndexBuffer.Kind.TAPS, "maxpool2d_fwd_taps", "maxpool2d_bwd_taps"));
        }
        return rows;
    }

    private List<Row> pool(String name, MaxPool2dGeometry g, IndexBuffer.Kind kind, String fwdOp, String bwdOp) {
        List<Row> rows = new ArrayList<>(2);
        SplittableRandom r = random(name);
        String geo = g.toString();
        long outCount = g.dstElementCount();
        try (Tensor src = quantized(r, g.srcShape()); Tensor diffDst = uniform(r, g.dstShape());
             IndexBuffer idxR = IndexBuffer.allocate(outCount, kind)) {
            // the reference mask, used by both backward passes below
            try (Tensor dst = Tensor.zeros(g.dstShape())) {
                reference.maxPool2dForward(g, src, dst, idxR);
            }

            rows.add(guarded(name, fwdOp, geo, () -> {
                try (Tensor dstN = nanFilled(g.dstShape()); Tensor dstR = Tensor.zeros(g.dstShape());
                     IndexBuffer idxN = IndexBuffer.allocate(outCount, kind);
                     IndexBuffer idxR2 = IndexBuffer.allocate(outCount, kind)) {
                    idxN.segment().fill((byte) 0xFF); // -1 everywhere (taps: 255, a real tap only in a 256-tap window)
                    nativeBackend.maxPool2dForward(g, src, dstN, idxN);
                    reference.maxPool2dForward(g, src, dstR, idxR2);
                    Stats st = new Stats();
                    st.compareExact(dstN, dstR);
                    int[] in = idxN.toArray();
                    int[] ir = idxR2.toArray();
                    if (!Arrays.equals(in, ir)) {
                        int i = Arrays.mismatch(in, ir);
                        st.fail((kind == IndexBuffer.Kind.TAPS ? "taps" : "indices") + " differ from element " + i
                                + ": native " + in[i] + ", reference " + ir[i]);
                    }
                    double tn = time(() -> nativeBackend.maxPool2dForward(g, src, dstN, idxN));
                    double tr = time(() -> reference.maxPool2dForward(g, src, dstR, idxR2));
                    return st.row(name, fwdOp, geo, tn, tr);
                }
            }));

            rows.add(guarded(name, bwdOp, geo, () -> {
                try (Tensor dxN = nanFilled(g.srcShape()); Tensor dxR = Tensor.zeros(g.srcShape())) {
                    nativeBackend.maxPool2dBackward(g, diffDst, idxR, dxN);
                    reference.maxPool2dBackward(g, diffDst, idxR, dxR);
                    Stats st = new Stats();
                    st.compareExact(dxN, dxR);
                    double tn = time(() -> nativeBackend.maxPool2dBackward(g, diffDst, idxR, dxN));
                    double tr = time(() -> reference.maxPool2dBackward(g, diffDst, idxR, dxR));
                    return st.row(name, bwdOp, geo, tn, tr);
                }
            }));
        }
        return rows;
    }

    // ------------------------------------------------------------------ helpers

    private interface RowTask {
        Row run();
    }

    /** Runs one comparison; an exception (e.g. a native error status) becomes a failed row. */
    private static Row guarded(String name, String op, String geo, RowTask task) {
        try {
            return task.run();
        } catch (RuntimeException e) {
            return new Row(name, op, geo, Double.NaN, Double.NaN, Double.NaN, false,
                    e.getClass().getSimpleName() + ": " + e.getMessage(), Double.NaN, Double.NaN);
        }
    }

    /** Median wall time in milliseconds of {@code runs} calls, after {@code warmup} untimed calls. */
    private double time(Runnable op) {
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        long[] t = new long[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            op.run();
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        double median = runs % 2 == 1 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2.0;
        return median / 1e6;
    }

    private static Tensor uniform(SplittableRandom r, long[] shape) {
        Tensor t = Tensor.zeros(shape);
        MemorySegment s = t.segment();
        for (long i = 0, n = t.elementCount(); i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextDouble(-1.0, 1.0));
        }
        return t;
    }

    /** Uniform in [-1, 1] rounded to multiples of 1/8: 17 distinct values, so windows have ties. */
    private static Tensor quantized(SplittableRandom r, long[] shape) {
        Tensor t = Tensor.zeros(shape);
        MemorySegment s = t.segment();
        for (long i = 0, n = t.elementCount(); i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, r.nextInt(-8, 9) / 8.0f);
        }
        return t;
    }

    private static double[] abs(double[] v) {
        double[] a = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            a[i] = Math.abs(v[i]);
        }
        return a;
    }

    private static Tensor nanFilled(long[] shape) {
        return Tensor.zeros(shape).fill(Float.NaN);
    }

    /** Accumulates the error statistics of one op (possibly over several output tensors). */
    private static final class Stats {
        double maxAbs;
        double maxRef;
        double worstRatio;
        boolean ok = true;
        String note = "";

        void fail(String why) {
            if (ok) {
                note = why;
            }
            ok = false;
        }

        /**
         * |native - exact| <= {@link Tolerance#allowedError}(S, K) per element, where {@code exact} is the
         * double reference and S, K the bound of the algorithm that served the call ({@link ConvBound}).
         */
        void compareWithin(float[] nat, double[] exact, ConvBound b) {
            double[] s = b.absSum();
            long k = b.k();
            String which = b.winograd() ? "winograd" : "direct";
            for (int i = 0; i < nat.length; i++) {
                double x = nat[i];
                double y = exact[i];
                double bound = Tolerance.allowedError(s[i], k);
                double d = Math.abs(x - y);
                if (Double.isNaN(d)) {
                    d = Double.POSITIVE_INFINITY;
                }
                maxAbs = Math.max(maxAbs, d);
                maxRef = Math.max(maxRef, Math.abs(y));
                double ratio = d == 0 ? 0 : bound == 0 ? Double.POSITIVE_INFINITY : d / bound;
                worstRatio = Math.max(worstRatio, ratio);
                if (!(d <= bound)) {
                    fail("element " + i + ": native " + nat[i] + ", exact " + y + ", |diff| " + d + " > bound "
                            + bound + " (" + which + " bound, K=" + k + ", S=" + s[i] + ")");
                }
            }
        }

        /** Bit-identical (NaN compared as NaN). */
        void compareExact(Tensor nat, Tensor ref) {
            MemorySegment a = nat.segment();
            MemorySegment b = ref.segment();
            for (long i = 0, n = nat.elementCount(); i < n; i++) {
                float x = a.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                float y = b.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                double d = Math.abs((double) x - y);
                if (Double.isNaN(d)) {
                    d = Float.isNaN(x) && Float.isNaN(y) ? 0 : Double.POSITIVE_INFINITY;
                }
                maxAbs = Math.max(maxAbs, d);
                maxRef = Math.max(maxRef, Math.abs(y));
                if (Float.floatToIntBits(x) != Float.floatToIntBits(y)) {
                    fail("element " + i + ": native " + x + ", reference " + y + " (must be bit-identical)");
                }
            }
            worstRatio = Double.NaN; // no bound: exact comparison
        }

        Row row(String name, String op, String geo, double nativeMillis, double referenceMillis) {
            double rel = maxAbs == 0 ? 0 : maxRef == 0 ? Double.POSITIVE_INFINITY : maxAbs / maxRef;
            return new Row(name, op, geo, maxAbs, rel, worstRatio, ok, note, nativeMillis, referenceMillis);
        }
    }
}
