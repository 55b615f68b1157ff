package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.panamacnn.verify.ShapeCorpus;
import io.github.panamacnn.verify.ShapeCorpus.ConvCase;
import io.github.panamacnn.verify.ShapeCorpus.PoolCase;
import io.github.panamacnn.nativeimpl.ConvBound;
import io.github.panamacnn.nativeimpl.NativeBackend;
import io.github.panamacnn.nativeimpl.Tolerance;
import io.github.panamacnn.reference.ReferenceKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every native kernel, at every ISA level the machine supports, against the reference, on the
 * named {@link ShapeCorpus} plus seeded random geometries.
 *
 * <ul>
 *   <li>Convolutions (forward, backward-data, backward-weights) on integer-valued inputs in
 *       [-3, 3]: every sum is exactly representable, so the results must be equal floats. On
 *       uniform float inputs: within {@link Tolerance} ({@code gamma(K) * S}, S the same op on
 *       absolute values, both computed in double by {@link ReferenceKernels}). The integer run uses
 *       a bias (and diff-bias), the float run none, so both paths are covered.</li>
 *   <li>Max pooling forward (with and without indices) and backward: bit-exact values (raw bits,
 *       NaN payloads included) and equal indices, on data with many ties, NaNs and infinities, and
 *       on distinct floats. Both masks: int32 plane offsets ({@code pcnn_maxpool2d_fwd/_bwd}) and,
 *       for windows of at most 256 taps, the compact tap mask the layer keeps
 *       ({@code pcnn_maxpool2d_fwd_taps/_bwd_taps}): equal taps, taps expanding to the reference's
 *       plane offsets, and a backward bit-identical to the int32 one.</li>
 *   <li>Hostile buffers: the native side works on 4-byte-offset slices of larger segments whose
 *       guard bytes before and after must survive (the tap mask sits at an odd address); outputs are
 *       pre-filled with NaN (indices with -1, taps with 255) before the call, so an unwritten element
 *       is seen.</li>
 * </ul>
 * Failures are collected (ISA, case name with its geometry, data seed) and reported together; the
 * number of comparisons is asserted, so a skipped path is seen.
 */
class NativeVsReferenceCrossCheckTest {

    /** Master seed of the random geometries; a second, time-based seed adds one fresh case per run. */
    private static final long MASTER_SEED = 0x5EEDC0FFEEL;
    private static final int RANDOM_CONV_CASES = 200;
    private static final int RANDOM_POOL_CASES = 200;
    private static final int CONV_COMPARISONS_PER_CASE = 6; // {int, float} x {fwd, bwd data, bwd weights}
    private static final int POOL_COMPARISONS_PER_CASE = 6; // {ties+NaN, distinct} x {fwd, fwd no indices, bwd}
    private static final int TAPS_COMPARISONS_PER_CASE = 6; // {ties+NaN, distinct} x {fwd taps, taps as offsets, bwd}
    private static final int GUARD_BYTES = 64;
    private static final byte GUARD = (byte) 0xA5;

    private final Backend nat = Backend.nativeBackend();
    private final List<String> failures = new ArrayList<>();
    private long comparisons;
    private long winogradPasses; // passes AUTO served by Winograd (checked against its bound)

    @Test
    void everyNativeKernelAtEveryIsaLevelMatchesTheReference() {
        String seedProperty = System.getProperty("panamacnn.crosscheck.seed");
        long freshSeed = seedProperty == null || seedProperty.isBlank() ? System.nanoTime()
                : Long.decode(seedProperty.trim());
        System.out.println("NativeVsReferenceCrossCheckTest: seed=" + freshSeed + " (the fresh random cases; rerun "
                + "with -Dpanamacnn.crosscheck.seed=" + freshSeed + ")");
        List<ConvCase> convs = new ArrayList<>(ShapeCorpus.conv());
        convs.addAll(ShapeCorpus.randomConv(MASTER_SEED, RANDOM_CONV_CASES));
        convs.addAll(ShapeCorpus.randomConv(freshSeed, 1));
        List<PoolCase> pools = new ArrayList<>(ShapeCorpus.pool());
        pools.addAll(ShapeCorpus.randomPool(MASTER_SEED, RANDOM_POOL_CASES));
        pools.addAll(ShapeCorpus.randomPool(freshSeed, 1));
        assertThat(ShapeCorpus.conv()).hasSizeGreaterThanOrEqualTo(30);
        assertThat(ShapeCorpus.pool()).hasSizeGreaterThanOrEqualTo(20);

        Isa detected = PanamaCnn.detectedIsa();
        Isa before = PanamaCnn.activeIsa();
        int levels = 0;
        try {
            for (Isa isa : Isa.values()) {
                if (isa.level() > detected.level()) {
                    break;
                }
                PanamaCnn.setMaxIsa(isa);
                assertThat(PanamaCnn.activeIsa()).isEqualTo(isa);
                for (ConvCase c : convs) {
                    long dataSeed = MASTER_SEED ^ c.name().hashCode();
                    String where = "isa=" + isa.id() + " case " + c + " dataSeed=" + dataSeed + " (freshSeed="
                            + freshSeed + ")";
                    guarded(where, () -> convIntegerExact(c.g(), dataSeed, where));
                    guarded(where, () -> convFloatWithinTolerance(c.g(), dataSeed + 1, where));
                }
                for (PoolCase p : pools) {
                    long dataSeed = MASTER_SEED ^ p.name().hashCode();
                    String where = "isa=" + isa.id() + " case " + p + " dataSeed=" + dataSeed + " (freshSeed="
                            + freshSeed + ")";
                    guarded(where, () -> poolBitExact(p.g(), tiesAndNaNs(p.g(), dataSeed), dataSeed, where));
                    guarded(where, () -> poolBitExact(p.g(), distinct(p.g(), dataSeed + 1), dataSeed + 1, where));
                }
                levels++;
            }
        } finally {
            PanamaCnn.setMaxIsa(before);
        }
        assertThat(PanamaCnn.activeIsa()).isEqualTo(before);
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " failures (master seed "
                    + MASTER_SEED + ", fresh seed " + freshSeed + "); the first ones:\n"
                    + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
        }
        assertThat(levels).as("ISA levels run (detected %s)", detected).isEqualTo(detected.level() + 1);
        if (detected == Isa.AVX2 || detected == Isa.AVX512) { // x86 Winograd kernels: the corpus's auto-winograd case
            assertThat(winogradPasses).as("conv passes served by Winograd (against its bound)").isPositive();
        }
        long tapPools = pools.stream().filter(p -> p.g().tapMaskFits()).count();
        assertThat(tapPools).as("pools with a tap mask").isPositive().isLessThan(pools.size());
        assertThat(comparisons).as("comparisons made").isEqualTo((long) levels * (convs.size() * CONV_COMPARISONS_PER_CASE
                + pools.size() * POOL_COMPARISONS_PER_CASE + tapPools * TAPS_COMPARISONS_PER_CASE));
    }

    @Test
    void theCorpusCoversTheAwkwardClassesAndRandomShapesAreReproducible() {
        List<ConvCase> convs = ShapeCorpus.conv();
        List<PoolCase> pools = ShapeCorpus.pool();
        assertThat(convs).extracting(ConvCase::name).doesNotHaveDuplicates();
        assertThat(pools).extracting(PoolCase::name).doesNotHaveDuplicates();
        assertThat(convs).as("1x1 input").anyMatch(c -> c.g().ih() == 1 && c.g().iw() == 1);
        assertThat(convs).as("kernel == input").anyMatch(c -> c.g().kh() == c.g().ih() && c.g().kw() == c.g().iw());
        assertThat(convs).as("stride > kernel").anyMatch(c -> c.g().strideH() > c.g().kh());
        assertThat(convs).as("asymmetric padding").anyMatch(c -> c.g().padTop() != c.g().padBottom()
                && c.g().padLeft() != c.g().padRight());
        assertThat(convs).as("dilation").anyMatch(c -> c.g().dilationH() > 1 && c.g().dilationW() > 1);
        assertThat(convs).as("groups").anyMatch(c -> c.g().groups() > 1 && c.g().groups() < c.g().c());
        assertThat(convs).as("depthwise").anyMatch(c -> c.g().groups() == c.g().c() && c.g().c() > 1);
        assertThat(convs).as("channel tail").anyMatch(c -> c.g().oc() % 16 != 0 && c.g().oc() > 16);
        assertThat(convs).as("N > 1").anyMatch(c -> c.g().n() > 1);
        assertThat(convs).as("odd prime sizes").anyMatch(c -> c.g().c() == 7 && c.g().ih() == 13);
        assertThat(pools).as("ceil mode").anyMatch(p -> p.g().ceilMode());
        assertThat(pools).as("pool dilation").anyMatch(p -> p.g().dilationH() > 1);
        assertThat(pools).as("pool asymmetric padding").anyMatch(p -> p.g().padTop() != p.g().padBottom());
        assertThat(pools).as("pool stride > kernel").anyMatch(p -> p.g().strideW() > p.g().kw());
        assertThat(pools).as("pool 1x1 input").anyMatch(p -> p.g().ih() == 1 && p.g().iw() == 1);
        assertThat(pools).as("pool window of exactly 256 taps").anyMatch(p -> p.g().kh() * p.g().kw() == 256);
        assertThat(pools).as("pool window past the tap mask").anyMatch(p -> !p.g().tapMaskFits());

        List<ConvCase> a = ShapeCorpus.randomConv(42, 50);
        assertThat(a).hasSize(50);
        assertThat(ShapeCorpus.randomConv(42, 50)).isEqualTo(a);
        assertThat(ShapeCorpus.randomConv(43, 50)).extracting(ConvCase::g)
                .isNotEqualTo(a.stream().map(ConvCase::g).toList());
        assertThat(a).as("random groups").anyMatch(c -> c.g().groups() > 1);
        assertThat(a).as("random dilation").anyMatch(c -> c.g().dilationH() > 1 || c.g().dilationW() > 1);
        List<PoolCase> p = ShapeCorpus.randomPool(42, 50);
        assertThat(p).hasSize(50);
        assertThat(ShapeCorpus.randomPool(42, 50)).isEqualTo(p);
        assertThat(p).as("random ceil mode").anyMatch(c -> c.g().ceilMode());
    }

    private void guarded(String where, Runnable check) {
        try {
            check.run();
        } catch (AssertionError | RuntimeException e) {
            failures.add(where + ": " + e);
        }
    }

    private void fail(String where, String message) {
        throw new AssertionError(where + ": " + message);
    }

    // ---------------------------------------------------------------- convolution

    private void convIntegerExact(Conv2dGeometry g, long seed, String where) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = ints(r, n(g.srcShape()));
        float[] w = ints(r, n(g.weightsShape()));
        float[] b = ints(r, (int) g.oc());
        float[] dy = ints(r, n(g.dstShape()));
        Backend ref = Backend.reference();
        try (Arena arena = Arena.ofConfined();
             Tensor rx = Tensor.of(x, g.srcShape()); Tensor rw = Tensor.of(w, g.weightsShape());
             Tensor rb = Tensor.of(b, g.biasShape()); Tensor rdy = Tensor.of(dy, g.dstShape());
             Tensor ry = nanTensor(g.dstShape()); Tensor rdx = nanTensor(g.srcShape());
             Tensor rdw = nanTensor(g.weightsShape()); Tensor rdb = nanTensor(g.biasShape())) {
            Guarded nx = Guarded.of(arena, x, g.srcShape());
            Guarded nw = Guarded.of(arena, w, g.weightsShape());
            Guarded nb = Guarded.of(arena, b, g.biasShape());
            Guarded ndy = Guarded.of(arena, dy, g.dstShape());
            Guarded ny = Guarded.nan(arena, g.dstShape());
            Guarded ndx = Guarded.nan(arena, g.srcShape());
            Guarded ndw = Guarded.nan(arena, g.weightsShape());
            Guarded ndb = Guarded.nan(arena, g.biasShape());

            // AUTO may serve a pass by Winograd (3x3, stride 1, >= 16 channels each side: rare among the random
            // shapes), whose transforms are not exact on integers: that pass gets Winograd's bound instead
            ref.conv2dForward(g, rx, rw, rb, ry);
            nat.conv2dForward(g, nx.t, nw.t, nb.t, ny.t);
            if (servedByWinograd()) {
                withinServedBound(where + " int forward", g, Pass.FORWARD, x, w, b, ny.t.toArray());
            } else {
                equalFloats(where + " int forward", ny.t.toArray(), ry.toArray());
            }

            ref.conv2dBackwardData(g, rdy, rw, rdx);
            nat.conv2dBackwardData(g, ndy.t, nw.t, ndx.t);
            if (servedByWinograd()) {
                withinServedBound(where + " int backward-data", g, Pass.BACKWARD_DATA, dy, w, null, ndx.t.toArray());
            } else {
                equalFloats(where + " int backward-data", ndx.t.toArray(), rdx.toArray());
            }

            ref.conv2dBackwardWeights(g, rx, rdy, rdw, rdb);
            nat.conv2dBackwardWeights(g, nx.t, ndy.t, ndw.t, ndb.t);
            if (servedByWinograd()) {
                withinServedBound(where + " int backward-weights", g, Pass.BACKWARD_WEIGHTS, x, dy, null,
                        ndw.t.toArray());
            } else {
                equalFloats(where + " int backward-weights", ndw.t.toArray(), rdw.toArray());
            }
            equalFloats(where + " int backward-bias", ndb.t.toArray(), rdb.toArray()); // a plain sum either way
            comparisons += 3;

            for (Guarded gd : new Guarded[] {nx, nw, nb, ndy, ny, ndx, ndw, ndb}) {
                gd.checkGuards(where);
            }
            // inputs must not be modified
            equalFloats(where + " src untouched", nx.t.toArray(), x);
            equalFloats(where + " weights untouched", nw.t.toArray(), w);
            equalFloats(where + " diff_dst untouched", ndy.t.toArray(), dy);
        }
    }

    private void convFloatWithinTolerance(Conv2dGeometry g, long seed, String where) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = floats(r, n(g.srcShape()));
        float[] w = floats(r, n(g.weightsShape()));
        float[] dy = floats(r, n(g.dstShape()));
        try (Arena arena = Arena.ofConfined()) {
            Guarded nx = Guarded.of(arena, x, g.srcShape());
            Guarded nw = Guarded.of(arena, w, g.weightsShape());
            Guarded ndy = Guarded.of(arena, dy, g.dstShape());
            Guarded ny = Guarded.nan(arena, g.dstShape());
            Guarded ndx = Guarded.nan(arena, g.srcShape());
            Guarded ndw = Guarded.nan(arena, g.weightsShape());

            // each pass against the bound of the algorithm AUTO served it with (as the checked backend does)
            nat.conv2dForward(g, nx.t, nw.t, null, ny.t);
            withinServedBound(where + " float forward", g, Pass.FORWARD, x, w, null, ny.t.toArray());
            nat.conv2dBackwardData(g, ndy.t, nw.t, ndx.t);
            withinServedBound(where + " float backward-data", g, Pass.BACKWARD_DATA, dy, w, null, ndx.t.toArray());
            nat.conv2dBackwardWeights(g, nx.t, ndy.t, ndw.t, null);
            withinServedBound(where + " float backward-weights", g, Pass.BACKWARD_WEIGHTS, x, dy, null,
                    ndw.t.toArray());
            comparisons += 3;

            for (Guarded gd : new Guarded[] {nx, nw, ndy, ny, ndx, ndw}) {
                gd.checkGuards(where);
            }
        }
    }

    /** Whether the calling thread's last native call was served by Winograd (AUTO's choice). */
    private static boolean servedByWinograd() {
        return NativeBackend.lastAlgorithm() == ConvAlgorithm.WINOGRAD;
    }

    private enum Pass { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHTS }

    /**
     * {@code actual}, the result of {@code pass} (forward: {@code a} = x, {@code b} = w, {@code bias} or null;
     * backward-data: dy, w; backward-weights: x, dy), within the bound of the algorithm that served it
     * ({@link ConvBound}: Winograd's or the direct one), against the exact result in double.
     */
    private void withinServedBound(String what, Conv2dGeometry g, Pass pass, float[] a, float[] b, float[] bias,
                                   float[] actual) {
        ConvAlgorithm served = ConvBound.lastServed(nat);
        double[] exact = new double[actual.length];
        double[] ad = doubles(a), bd = doubles(b), biasd = bias == null ? null : doubles(bias);
        ConvBound bound = switch (pass) {
            case FORWARD -> {
                ReferenceKernels.conv2dForward(g, ad, bd, biasd, exact);
                yield ConvBound.forward(g, served, abs(ad), abs(bd), biasd == null ? null : abs(biasd));
            }
            case BACKWARD_DATA -> {
                ReferenceKernels.conv2dBackwardData(g, ad, bd, exact);
                yield ConvBound.backwardData(g, served, abs(ad), abs(bd));
            }
            case BACKWARD_WEIGHTS -> {
                ReferenceKernels.conv2dBackwardWeights(g, ad, bd, exact, null);
                yield ConvBound.backwardWeights(g, served, abs(ad), abs(bd));
            }
        };
        winogradPasses += bound.winograd() ? 1 : 0;
        check(what, bound.compare(what, actual, exact));
    }

    private void check(String where, String mismatch) {
        if (mismatch != null) {
            fail(where, mismatch);
        }
    }

    /** Equal float values (0.0 == -0.0); a NaN anywhere is a mismatch (integer sums never make one). */
    private void equalFloats(String what, float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            fail(what, "length " + actual.length + " != " + expected.length);
        }
        int bad = 0, first = -1;
        for (int i = 0; i < actual.length; i++) {
            if (!(actual[i] == expected[i])) {
                bad++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (bad > 0) {
            fail(what, bad + " of " + actual.length + " elements differ (exact expected); first at " + first
                    + ": native " + actual[first] + ", reference " + expected[first]);
        }
    }

    // ---------------------------------------------------------------- max pooling

    private void poolBitExact(MaxPool2dGeometry g, float[] x, long seed, String where) {
        SplittableRandom r = new SplittableRandom(seed * 31 + 7);
        float[] dy = floats(r, (int) g.dstElementCount());
        Backend ref = Backend.reference();
        try (Arena arena = Arena.ofConfined();
             Tensor rx = Tensor.of(x, g.srcShape()); Tensor ry = nanTensor(g.dstShape());
             Tensor rdy = Tensor.of(dy, g.dstShape()); Tensor rdx = nanTensor(g.srcShape());
             IndexBuffer ridx = IndexBuffer.allocate(g.dstElementCount());
             IndexBuffer nidx = IndexBuffer.allocate(g.dstElementCount())) {
            Guarded nx = Guarded.of(arena, x, g.srcShape());
            Guarded ny = Guarded.nan(arena, g.dstShape());
            Guarded ny2 = Guarded.nan(arena, g.dstShape());
            Guarded ndy = Guarded.of(arena, dy, g.dstShape());
            Guarded ndx = Guarded.nan(arena, g.srcShape());
            ridx.segment().fill((byte) 0xFF);
            nidx.segment().fill((byte) 0xFF);

            ref.maxPool2dForward(g, rx, ry, ridx);
            nat.maxPool2dForward(g, nx.t, ny.t, nidx);
            bitExact(where + " forward", ny.t.toArray(), ry.toArray());
            check(where, Tolerance.compareExact("forward indices", nidx.toArray(), ridx.toArray()));

            nat.maxPool2dForward(g, nx.t, ny2.t, null);
            bitExact(where + " forward without indices", ny2.t.toArray(), ry.toArray());

            ref.maxPool2dBackward(g, rdy, ridx, rdx);
            nat.maxPool2dBackward(g, ndy.t, nidx, ndx.t);
            bitExact(where + " backward", ndx.t.toArray(), rdx.toArray());
            comparisons += 3;

            for (Guarded gd : new Guarded[] {nx, ny, ny2, ndy, ndx}) {
                gd.checkGuards(where);
            }
            bitExact(where + " src untouched", nx.t.toArray(), x);
            if (g.tapMaskFits()) {
                poolTapsBitExact(g, arena, nx, ndy, ry.toArray(), ridx.toArray(), rx, rdy, rdx.toArray(), where);
            }
        }
    }

    /**
     * The compact-mask path on the same data: native taps equal the reference's (computed from its own scan),
     * both expand to the reference's int32 plane offsets, and both backward passes from taps are bit-identical
     * to the int32 backward. The native mask is one byte per output at an odd address with guards after it.
     */
    private void poolTapsBitExact(MaxPool2dGeometry g, Arena arena, Guarded nx, Guarded ndy, float[] expectedY,
                                  int[] expectedIdx, Tensor rx, Tensor rdy, float[] expectedDx, String where) {
        long count = g.dstElementCount();
        MemorySegment tapsWhole = arena.allocate(1 + count + GUARD_BYTES, 64);
        tapsWhole.fill(GUARD);
        MemorySegment tapsSlice = tapsWhole.asSlice(1, count);
        tapsSlice.fill((byte) 0xFF); // tap 255: an unwritten element differs from the reference unless kh*kw == 256
        Guarded ny = Guarded.nan(arena, g.dstShape());
        Guarded ndx = Guarded.nan(arena, g.srcShape());
        try (IndexBuffer ntaps = IndexBuffer.wrap(tapsSlice, IndexBuffer.Kind.TAPS);
             IndexBuffer rtaps = IndexBuffer.allocate(count, IndexBuffer.Kind.TAPS);
             Tensor ry = nanTensor(g.dstShape()); Tensor rdx = nanTensor(g.srcShape())) {
            Backend.reference().maxPool2dForward(g, rx, ry, rtaps);
            nat.maxPool2dForward(g, nx.t, ny.t, ntaps);
            bitExact(where + " forward (taps)", ny.t.toArray(), expectedY);
            bitExact(where + " reference forward (taps)", ry.toArray(), expectedY);
            check(where, Tolerance.compareExact("forward taps", ntaps.toArray(), rtaps.toArray()));

            check(where, Tolerance.compareExact("native taps as plane offsets", g.planeOffsets(ntaps), expectedIdx));
            check(where, Tolerance.compareExact("reference taps as plane offsets", g.planeOffsets(rtaps),
                    expectedIdx));

            Backend.reference().maxPool2dBackward(g, rdy, rtaps, rdx);
            nat.maxPool2dBackward(g, ndy.t, ntaps, ndx.t);
            bitExact(where + " backward (taps)", ndx.t.toArray(), expectedDx);
            bitExact(where + " reference backward (taps)", rdx.toArray(), expectedDx);
            comparisons += 3;
        }
        for (Guarded gd : new Guarded[] {nx, ny, ndy, ndx}) {
            gd.checkGuards(where + " (taps)");
        }
        for (long i = 0; i < tapsWhole.byteSize(); i = i == 0 ? 1 + count : i + 1) {
            if (tapsWhole.get(ValueLayout.JAVA_BYTE, i) != GUARD) {
                throw new AssertionError(where + ": guard byte " + (i == 0 ? "before" : (i - 1 - count) + " after")
                        + " the tap mask was overwritten");
            }
        }
    }

    /** Equal raw bits: NaN payloads and the sign of zero included. */
    private void bitExact(String what, float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            fail(what, "length " + actual.length + " != " + expected.length);
        }
        int bad = 0, first = -1;
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
                bad++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (bad > 0) {
            fail(what, bad + " of " + actual.length + " elements differ (bit-exact expected); first at " + first
                    + ": native " + actual[first] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(actual[first]))
                    + "), reference " + expected[first] + " (0x"
                    + Integer.toHexString(Float.floatToRawIntBits(expected[first])) + ")");
        }
    }

    /** Values in {-2..2} (many ties, zeros of both signs), ~6% quiet NaNs with distinct payloads, ~3% infinities. */
    private static float[] tiesAndNaNs(MaxPool2dGeometry g, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n(g.srcShape())];
        for (int i = 0; i < v.length; i++) {
            int k = r.nextInt(100);
            if (k < 6) {
                v[i] = Float.intBitsToFloat(0x7fc00000 | (i & 0x3fffff) | (r.nextBoolean() ? 0x80000000 : 0));
            } else if (k < 9) {
                v[i] = r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
            } else {
                int k2 = r.nextInt(-2, 3);
                // zeros of both signs: -0.0 > +0.0 is false, so the first of them must win
                v[i] = k2 == 0 && r.nextBoolean() ? -0.0f : k2;
            }
        }
        return v;
    }

    /** Distinct-ish uniform floats, some of them negative zero. */
    private static float[] distinct(MaxPool2dGeometry g, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n(g.srcShape())];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextInt(50) == 0 ? -0.0f : (float) r.nextDouble(-100, 100);
        }
        return v;
    }

    // ---------------------------------------------------------------- buffers

    /**
     * A tensor wrapping a 4-byte-offset slice of a larger segment (so not 64-byte aligned), with
     * guard bytes before and after that the kernel must not touch.
     */
    private static final class Guarded {
        final MemorySegment whole;
        final long bytes;
        final Tensor t;

        private Guarded(Arena arena, long[] shape) {
            long count = 1;
            for (long d : shape) {
                count *= d;
            }
            this.bytes = count * Float.BYTES;
            this.whole = arena.allocate(4 + bytes + GUARD_BYTES, 64);
            whole.fill(GUARD);
            this.t = Tensor.wrap(whole.asSlice(4, bytes), shape);
        }

        static Guarded of(Arena arena, float[] data, long[] shape) {
            Guarded g = new Guarded(arena, shape);
            g.t.copyFrom(data);
            return g;
        }

        static Guarded nan(Arena arena, long[] shape) {
            Guarded g = new Guarded(arena, shape);
            g.t.fill(Float.NaN);
            return g;
        }

        void checkGuards(String where) {
            for (long i = 0; i < 4; i++) {
                if (whole.get(ValueLayout.JAVA_BYTE, i) != GUARD) {
                    throw new AssertionError(where + ": guard byte " + (i - 4) + " before " + t + " was overwritten");
                }
            }
            for (long i = 4 + bytes; i < whole.byteSize(); i++) {
                if (whole.get(ValueLayout.JAVA_BYTE, i) != GUARD) {
                    throw new AssertionError(where + ": guard byte " + (i - 4 - bytes) + " after " + t
                            + " was overwritten");
                }
            }
        }
    }

    private static Tensor nanTensor(long[] shape) {
        return Tensor.zeros(shape).fill(Float.NaN);
    }

    private static int n(long[] shape) {
        long c = 1;
        for (long d : shape) {
            c *= d;
        }
        return Math.toIntExact(c);
    }

    private static float[] ints(SplittableRandom r, int count) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = r.nextInt(-3, 4);
        }
        return a;
    }

    private static float[] floats(SplittableRandom r, int count) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double[] abs(double[] v) {
        double[] a = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            a[i] = Math.abs(v[i]);
        }
        return a;
    }
}
