package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.panamacnn.nativeimpl.ConvBound;
import io.github.panamacnn.nativeimpl.Tolerance;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native kernels, at every ISA level the machine supports, against an independent
 * implementation: PyTorch ({@code scripts/torch_reference.py}, run with {@code /usr/bin/python3}).
 *
 * <p>The geometries and data are drawn at test time from a seed taken from {@link System#nanoTime()}
 * (printed; override with {@code -Dpanamacnn.torch.seed=...}), so the shapes are stored nowhere in
 * the repository. 40 convolutions (forward, backward-data, backward-weights with and without bias)
 * and 30 max poolings (forward values and indices, backward) are compared:
 * <ul>
 *   <li>convolutions: PyTorch computes in float64; the native float32 result must lie within
 *       {@link Tolerance#allowedError}{@code (S, K)}, where the magnitude sum {@code S} is also
 *       computed by PyTorch (the same op on absolute values), so the bound is independent of this
 *       repository's code too;</li>
 *   <li>max-pool forward: bit-exact values (any NaN equals any NaN) and equal indices, on inputs with
 *       many ties (values are multiples of 1/4), a few NaNs and infinities;</li>
 *   <li>max-pool backward: bit-exact. Both sides accumulate in float32 in row-major output order
 *       (PyTorch's CPU kernel {@code cpu_max_pool_backward} walks each plane's outputs in that order and
 *       does {@code grad_input[maxindex] += grad_output}), so overlapping windows give the same
 *       rounding.</li>
 * </ul>
 * When {@code /usr/bin/python3 -c "import torch"} fails the test is skipped, unless
 * {@code PANAMACNN_REQUIRE_TORCH=1} (environment) or {@code -Dpanamacnn.requireTorch=true} is set:
 * then it fails.
 */
class TorchCrossCheckTest {

    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final int CONV_CASES = 40;
    private static final int POOL_CASES = 60;
    /** Of the data cases: at least this many have a window larger than the padded input (ceil mode). */
    private static final int POOL_LARGE_WINDOW_CASES = 15;
    /** Geometry-only cases: PyTorch says valid or not and gives the output size; ours must agree.
     *  {@code -Dpanamacnn.torch.poolShapes=N} runs N instead (a longer sweep by hand). */
    private static final int POOL_SHAPE_CASES = Integer.getInteger("panamacnn.torch.poolShapes", 3000);
    private static final long SCRIPT_TIMEOUT_MINUTES = 5;

    private record ConvCase(String id, Conv2dGeometry g, float[] x, float[] w, float[] b, float[] dy) {
        boolean hasBias() {
            return b != null;
        }
    }

    private record PoolCase(String id, MaxPool2dGeometry g, float[] x, float[] dy) {
    }

    /** A max-pool geometry in PyTorch's terms (symmetric padding), for the geometry-only comparison. */
    private record PoolShape(String id, long ih, long iw, long kh, long kw, long sh, long sw, long ph, long pw,
                             long dh, long dw, boolean ceil) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%dx%d k%dx%d s%d,%d p%d,%d d%d,%d %s", ih, iw, kh, kw, sh, sw, ph, pw,
                    dh, dw, ceil ? "ceil" : "floor");
        }
    }

    private final List<String> failures = new ArrayList<>();
    private final Set<String> failedCases = new TreeSet<>();
    /** Per op: the largest |native - torch| / allowed error seen over all elements, cases and ISA levels. */
    private final Map<String, Double> maxErrorOverBound = new LinkedHashMap<>();
    /** Per op: where that largest ratio was seen. */
    private final Map<String, String> maxErrorWhere = new HashMap<>();
    private long comparisons;
    private long seed;

    @Test
    void nativeKernelsMatchPyTorchOnFreshRandomShapes(@TempDir Path dir) throws Exception {
        String unavailable = torchUnavailableReason();
        if (unavailable != null) {
            if (torchRequired()) {
                fail("PyTorch is required (PANAMACNN_REQUIRE_TORCH=1 or -Dpanamacnn.requireTorch=true) but "
                        + unavailable);
            }
            Assumptions.abort("skipped: " + unavailable + ". Install Debian's python3-torch (apt-get install "
                    + "python3-torch) to run the PyTorch cross-check; set PANAMACNN_REQUIRE_TORCH=1 to make its "
                    + "absence a failure.");
        }
        Path script = projectDir().resolve("scripts").resolve("torch_reference.py");
        assertThat(script).as("the PyTorch reference script").isRegularFile();

        String seedProperty = System.getProperty("panamacnn.torch.seed");
        seed = seedProperty == null || seedProperty.isBlank() ? System.nanoTime() : Long.decode(seedProperty.trim());
        System.out.println("TorchCrossCheckTest: seed=" + seed + " (rerun with -Dpanamacnn.torch.seed=" + seed + ")");
        SplittableRandom random = new SplittableRandom(seed);

        List<ConvCase> convs = randomConvCases(random);
        List<PoolCase> pools = randomPoolCases(random);
        List<PoolShape> shapes = randomPoolShapes(random);
        assertThat(convs).as("conv cases generated (seed %d)", seed).hasSize(CONV_CASES);
        assertThat(pools).as("pool cases generated (seed %d)", seed).hasSize(POOL_CASES);
        assertThat(pools.stream().filter(p -> windowLargerThanPadded(p.g())).count())
                .as("pool cases with a window larger than the padded input (seed %d)", seed)
                .isGreaterThanOrEqualTo(POOL_LARGE_WINDOW_CASES);

        long t0 = System.nanoTime();
        writeSpec(dir, convs, pools, shapes);
        Map<String, String[]> done = runTorch(script, dir);
        long torchMillis = (System.nanoTime() - t0) / 1_000_000;

        String shapeSummary = checkPoolShapes(shapes, done);

        Isa detected = PanamaCnn.detectedIsa();
        Isa before = PanamaCnn.activeIsa();
        int levels = 0;
        long expectedComparisons = 0;
        try {
            for (Isa isa : Isa.values()) {
                if (isa.level() > detected.level()) {
                    continue;
                }
                PanamaCnn.setMaxIsa(isa);
                assertThat(PanamaCnn.activeIsa()).isEqualTo(isa);
                levels++;
                for (ConvCase c : convs) {
                    expectedComparisons += c.hasBias() ? 4 : 3;
                    String where = "seed " + seed + ", case " + c.id() + " " + c.g() + " (bias " + c.hasBias()
                            + "), isa " + isa.id();
                    guarded(c.id(), where, () -> checkConv(dir, c, done.get(c.id()), where));
                }
                for (PoolCase p : pools) {
                    expectedComparisons += p.g().tapMaskFits() ? 6 : 3; // int32 indices, and the layer's tap mask
                    String where = "seed " + seed + ", case " + p.id() + " " + p.g() + ", isa " + isa.id();
                    guarded(p.id(), where, () -> checkPool(dir, p, done.get(p.id()), where));
                }
            }
        } finally {
            PanamaCnn.setMaxIsa(before);
        }
        long totalMillis = (System.nanoTime() - t0) / 1_000_000;
        StringBuilder summary = new StringBuilder("TorchCrossCheckTest: seed " + seed + ", torch "
                + done.get("torch")[1] + ", " + convs.size() + " conv cases (" + describeConvs(convs) + ") + "
                + pools.size() + " pool cases (" + describePools(pools) + "), " + levels
                + " ISA level(s) up to " + detected.id() + ", " + comparisons + " comparisons, torch script "
                + torchMillis + " ms, total " + totalMillis + " ms; " + shapeSummary + "; max |error| / bound:");
        maxErrorOverBound.forEach((op, ratio) -> summary.append(String.format(Locale.ROOT, " %s %.4f (%s);", op,
                ratio, maxErrorWhere.get(op))));
        System.out.println(summary);

        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " failures (seed " + seed + ", rerun with "
                    + "-Dpanamacnn.torch.seed=" + seed + ") in cases " + failedCases + "; the first ones:\n"
                    + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
        }
        assertThat(levels).as("ISA levels run (detected %s)", detected).isEqualTo(detected.level() + 1);
        assertThat(comparisons).as("comparisons made (seed %d)", seed).isEqualTo(expectedComparisons)
                .isGreaterThanOrEqualTo((long) levels * (CONV_CASES * 3 + POOL_CASES * 3));
    }

    private static String describeConvs(List<ConvCase> convs) {
        return convs.stream().filter(c -> c.g().groups() > 1).count() + " grouped, "
                + convs.stream().filter(c -> c.g().dilationH() > 1 || c.g().dilationW() > 1).count() + " dilated, "
                + convs.stream().filter(c -> c.g().strideH() > 1 || c.g().strideW() > 1).count() + " strided, "
                + convs.stream().filter(c -> c.g().padTop() != c.g().padBottom()
                        || c.g().padLeft() != c.g().padRight()).count() + " asymmetric padding, "
                + convs.stream().filter(ConvCase::hasBias).count() + " with bias";
    }

    private static String describePools(List<PoolCase> pools) {
        return pools.stream().filter(p -> p.g().ceilMode()).count() + " ceil mode, "
                + pools.stream().filter(p -> windowLargerThanPadded(p.g())).count() + " with a window larger than "
                + "the padded input, "
                + pools.stream().filter(p -> p.g().dilationH() > 1 || p.g().dilationW() > 1).count() + " dilated, "
                + pools.stream().filter(p -> p.g().padTop() > 0 || p.g().padLeft() > 0).count() + " padded, "
                + pools.stream().filter(p -> p.g().strideH() < p.g().kh() || p.g().strideW() < p.g().kw()).count()
                + " overlapping";
    }

    // ------------------------------------------------------------------ availability

    private static boolean torchRequired() {
        String env = System.getenv("PANAMACNN_REQUIRE_TORCH");
        return Boolean.getBoolean("panamacnn.requireTorch")
                || (env != null && (env.trim().equals("1") || env.trim().equalsIgnoreCase("true")));
    }

    /** Null when {@code /usr/bin/python3 -c "import torch"} works, else why not. */
    private static String torchUnavailableReason() throws InterruptedException {
        if (!Files.isExecutable(PYTHON)) {
            return PYTHON + " does not exist or is not executable";
        }
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch")
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return PYTHON + " -c \"import torch\" did not finish within 2 minutes";
            }
            if (p.exitValue() != 0) {
                String text = new String(out, StandardCharsets.UTF_8).strip();
                String last = text.isEmpty() ? "" : text.substring(text.lastIndexOf('\n') + 1);
                return PYTHON + " cannot import torch (exit " + p.exitValue() + ": " + last + ")";
            }
            return null;
        } catch (IOException e) {
            return "cannot run " + PYTHON + ": " + e.getMessage();
        }
    }

    private static Path projectDir() {
        String basedir = System.getProperty("panamacnn.root");
        return Path.of(basedir != null && !basedir.isBlank() ? basedir : System.getProperty("user.dir"));
    }

    // ------------------------------------------------------------------ random cases

    private static List<ConvCase> randomConvCases(SplittableRandom r) {
        List<ConvCase> cases = new ArrayList<>();
        for (int attempt = 0; attempt < 100_000 && cases.size() < CONV_CASES; attempt++) {
            long c;
            long oc;
            long groups;
            if (r.nextInt(3) == 0) { // grouped: pick groups first, then multiples of it (up to 9)
                groups = 2 + r.nextInt(3);
                c = groups * (1 + r.nextInt((int) (9 / groups)));
                oc = groups * (1 + r.nextInt((int) (9 / groups)));
            } else {
                c = 1 + r.nextInt(9);
                oc = 1 + r.nextInt(9);
                List<Long> divisors = new ArrayList<>();
                for (long d = 1; d <= Math.min(c, oc); d++) {
                    if (c % d == 0 && oc % d == 0) {
                        divisors.add(d);
                    }
                }
                groups = divisors.get(r.nextInt(divisors.size()));
            }
            Conv2dGeometry g;
            try {
                g = Conv2dGeometry.of(1 + r.nextInt(3), c, 1 + r.nextInt(20), 1 + r.nextInt(20), oc,
                        1 + r.nextInt(5), 1 + r.nextInt(5), oneOrUpTo3(r), oneOrUpTo3(r),
                        r.nextInt(3), r.nextInt(3), r.nextInt(3), r.nextInt(3), oneOrUpTo3(r), oneOrUpTo3(r),
                        groups);
            } catch (IllegalArgumentException invalid) {
                continue; // e.g. the dilated kernel does not fit in the padded input
            }
            boolean bias = r.nextInt(3) != 0;
            cases.add(new ConvCase("conv" + cases.size(), g, uniform(r, count(g.srcShape())),
                    uniform(r, count(g.weightsShape())), bias ? uniform(r, (int) g.oc()) : null,
                    uniform(r, count(g.dstShape()))));
        }
        return cases;
    }

    /**
     * Max-pool data cases drawn from the geometries PyTorch accepts (its checks reproduced: symmetric padding
     * {@code <= k/2}, output size {@code >= 1} by its formula; PyTorch itself then confirms each). Every
     * fourth case is drawn until its window is larger than the padded input (small inputs, large or dilated
     * windows, ceil mode). Geometries with a window that covers no input position are skipped here (PyTorch
     * returns -inf with an index outside the window for them; panama-cnn rejects them by design, which
     * {@link #checkPoolShapes} checks); any other geometry that {@link MaxPool2dGeometry} rejects is a failure.
     */
    private List<PoolCase> randomPoolCases(SplittableRandom r) {
        List<PoolCase> cases = new ArrayList<>();
        for (int attempt = 0; attempt < 1_000_000 && cases.size() < POOL_CASES; attempt++) {
            boolean large = cases.size() % 4 == 0;
            PoolShape s = large ? drawLargeWindowShape(r, "pool" + cases.size())
                    : drawTorchShape(r, "pool" + cases.size(), 20);
            if (!torchAccepts(s) || windowWithoutInput(s) || (large && !windowLargerThanPadded(s))) {
                continue;
            }
            MaxPool2dGeometry g;
            try {
                g = MaxPool2dGeometry.of(1 + r.nextInt(3), 1 + r.nextInt(6), s.ih(), s.iw(), s.kh(), s.kw(), s.sh(),
                        s.sw(), s.ph(), s.ph(), s.pw(), s.pw(), s.dh(), s.dw(), s.ceil());
            } catch (IllegalArgumentException e) {
                failures.add("seed " + seed + ": a PyTorch-valid geometry " + s + " whose windows all cover an input "
                        + "position is rejected: " + e.getMessage());
                failedCases.add(s.id());
                continue;
            }
            float[] x = new float[count(g.srcShape())];
            for (int i = 0; i < x.length; i++) {
                int pick = r.nextInt(100);
                if (pick < 3) {
                    x[i] = Float.NaN;
                } else if (pick < 4) {
                    x[i] = Float.POSITIVE_INFINITY;
                } else if (pick < 5) {
                    x[i] = Float.NEGATIVE_INFINITY;
                } else {
                    x[i] = (r.nextInt(17) - 8) / 4.0f; // multiples of 1/4 in [-2, 2]: many ties
                }
            }
            cases.add(new PoolCase("pool" + cases.size(), g, x, uniform(r, count(g.dstShape()))));
        }
        return cases;
    }

    /** A geometry from PyTorch's parameter space (padding {@code <= k/2}), not yet checked for output size. */
    private static PoolShape drawTorchShape(SplittableRandom r, String id, int maxIn) {
        long kh = 1 + r.nextInt(5);
        long kw = 1 + r.nextInt(5);
        return new PoolShape(id, 1 + r.nextInt(maxIn), 1 + r.nextInt(maxIn), kh, kw, oneOrUpTo3(r), oneOrUpTo3(r),
                r.nextInt((int) (kh / 2) + 1), r.nextInt((int) (kw / 2) + 1), oneOrUpTo3(r), oneOrUpTo3(r),
                r.nextBoolean());
    }

    /** Small input, large or dilated window, large stride, ceil mode: often a window larger than the input. */
    private static PoolShape drawLargeWindowShape(SplittableRandom r, String id) {
        long kh = 1 + r.nextInt(8);
        long kw = 1 + r.nextInt(8);
        return new PoolShape(id, 1 + r.nextInt(6), 1 + r.nextInt(6), kh, kw, 1 + r.nextInt(6), 1 + r.nextInt(6),
                r.nextInt((int) (kh / 2) + 1), r.nextInt((int) (kw / 2) + 1), 1 + r.nextInt(3), 1 + r.nextInt(3),
                true);
    }

    /**
     * Geometry-only cases from a wider space than PyTorch accepts (padding up to k, windows larger than the
     * input, floor and ceil mode): PyTorch decides each one, {@link #checkPoolShapes} compares. A geometry that
     * PyTorch's reproduced checks ({@link #torchAccepts}) reject is sent only one time in ten: PyTorch takes
     * about 17 ms to raise each error (it records a C++ backtrace), against microseconds for a valid one.
     */
    private static List<PoolShape> randomPoolShapes(SplittableRandom r) {
        List<PoolShape> shapes = new ArrayList<>();
        while (shapes.size() < POOL_SHAPE_CASES) {
            long kh = 1 + r.nextInt(7);
            long kw = 1 + r.nextInt(7);
            int maxIn = r.nextBoolean() ? 6 : 24;
            PoolShape s = new PoolShape("shape" + shapes.size(), 1 + r.nextInt(maxIn), 1 + r.nextInt(maxIn), kh, kw,
                    1 + r.nextInt(5), 1 + r.nextInt(5), r.nextInt((int) kh + 1) / (r.nextInt(4) == 0 ? 1 : 2),
                    r.nextInt((int) kw + 1) / (r.nextInt(4) == 0 ? 1 : 2), 1 + r.nextInt(4), 1 + r.nextInt(4),
                    r.nextBoolean());
            if (torchAccepts(s) || r.nextInt(10) == 0) {
                shapes.add(s);
            }
        }
        return shapes;
    }

    // PyTorch's rules, reproduced only to draw data cases it accepts (PyTorch confirms each one).

    private static boolean torchAccepts(PoolShape s) {
        return s.ph() <= s.kh() / 2 && s.pw() <= s.kw() / 2
                && torchOutputSize(s.ih(), s.kh(), s.ph(), s.sh(), s.dh(), s.ceil()) >= 1
                && torchOutputSize(s.iw(), s.kw(), s.pw(), s.sw(), s.dw(), s.ceil()) >= 1;
    }

    /** {@code pooling_output_shape_pad_lr} of PyTorch's Pool.h with symmetric padding. */
    private static long torchOutputSize(long in, long k, long pad, long stride, long dilation, boolean ceil) {
        long out = Math.floorDiv(in + 2 * pad - dilation * (k - 1) - 1 + (ceil ? stride - 1 : 0), stride) + 1;
        if (ceil && (out - 1) * stride >= in + pad) {
            out--;
        }
        return out;
    }

    /** Brute force: does some window (of PyTorch's output size) have no tap inside the input? */
    private static boolean windowWithoutInput(PoolShape s) {
        return axisWindowWithoutInput(s.ih(), s.kh(), s.ph(), s.sh(), s.dh(), s.ceil())
                || axisWindowWithoutInput(s.iw(), s.kw(), s.pw(), s.sw(), s.dw(), s.ceil());
    }

    private static boolean axisWindowWithoutInput(long in, long k, long pad, long stride, long dilation, boolean ceil) {
        long out = torchOutputSize(in, k, pad, stride, dilation, ceil);
        for (long o = 0; o < out; o++) {
            boolean any = false;
            for (long j = 0; j < k && !any; j++) {
                long p = o * stride - pad + j * dilation;
                any = p >= 0 && p < in;
            }
            if (!any) {
                return true;
            }
        }
        return false;
    }

    private static boolean windowLargerThanPadded(PoolShape s) {
        return s.dh() * (s.kh() - 1) + 1 > s.ih() + 2 * s.ph() || s.dw() * (s.kw() - 1) + 1 > s.iw() + 2 * s.pw();
    }

    private static boolean windowLargerThanPadded(MaxPool2dGeometry g) {
        return g.dilationH() * (g.kh() - 1) + 1 > g.ih() + g.padTop() + g.padBottom()
                || g.dilationW() * (g.kw() - 1) + 1 > g.iw() + g.padLeft() + g.padRight();
    }

    /**
     * Each geometry-only case against PyTorch's verdict: PyTorch accepts it and every window covers an input
     * position: ours accepts it with the same output size; PyTorch accepts it but a window covers no input
     * position: ours rejects it naming that window; PyTorch finds the output size too small: ours rejects it;
     * PyTorch rejects only the padding (more than k/2): ours may accept (a superset), and then with PyTorch's
     * output-size formula. Returns a summary of the counts.
     */
    private String checkPoolShapes(List<PoolShape> shapes, Map<String, String[]> done) {
        int accepted = 0, acceptedLarge = 0, acceptedCeil = 0, allPadding = 0, tooSmall = 0, padRejected = 0,
                padAcceptedByUs = 0, other = 0;
        for (PoolShape s : shapes) {
            String[] st = done.get(s.id());
            String where = "seed " + seed + ", pool shape " + s.id() + " " + s;
            if (st == null) {
                failures.add(where + ": the torch script reported nothing");
                failedCases.add(s.id());
                continue;
            }
            MaxPool2dGeometry ours = null;
            String rejected = null;
            try {
                ours = MaxPool2dGeometry.of(1, 1, s.ih(), s.iw(), s.kh(), s.kw(), s.sh(), s.sw(), s.ph(), s.ph(),
                        s.pw(), s.pw(), s.dh(), s.dw(), s.ceil());
            } catch (IllegalArgumentException e) {
                rejected = e.getMessage();
            }
            String problem = null;
            if (st[1].equals("ok")) {
                long toh = Long.parseLong(st[2]);
                long tow = Long.parseLong(st[3]);
                if (windowWithoutInput(s)) {
                    allPadding++;
                    if (rejected == null || !rejected.contains("lies entirely in the padding")) {
                        problem = "PyTorch accepts it and has a window with no input position, which panama-cnn must "
                                + "reject by design; ours: " + (rejected == null ? "accepted" : rejected);
                    }
                } else {
                    accepted++;
                    acceptedLarge += windowLargerThanPadded(s) ? 1 : 0;
                    acceptedCeil += s.ceil() ? 1 : 0;
                    if (rejected != null) {
                        problem = "PyTorch accepts it (output " + toh + "x" + tow + "), panama-cnn rejects it: "
                                + rejected;
                    } else if (ours.oh() != toh || ours.ow() != tow) {
                        problem = "output size: ours " + ours.oh() + "x" + ours.ow() + ", PyTorch " + toh + "x" + tow;
                    }
                }
            } else {
                String msg = st.length > 2 ? st[2] : "";
                if (msg.contains("Output size is too small")) {
                    tooSmall++;
                    if (rejected == null) {
                        problem = "PyTorch finds no output window (" + msg + "), panama-cnn accepts it as "
                                + ours.oh() + "x" + ours.ow();
                    }
                } else if (msg.contains("pad should be")) {
                    padRejected++;
                    if (rejected == null) {
                        padAcceptedByUs++;
                        long eh = torchOutputSize(s.ih(), s.kh(), s.ph(), s.sh(), s.dh(), s.ceil());
                        long ew = torchOutputSize(s.iw(), s.kw(), s.pw(), s.sw(), s.dw(), s.ceil());
                        if (ours.oh() != eh || ours.ow() != ew) {
                            problem = "padding beyond PyTorch's k/2: ours " + ours.oh() + "x" + ours.ow()
                                    + ", PyTorch's formula " + eh + "x" + ew;
                        }
                    }
                } else {
                    other++;
                    problem = "PyTorch rejects it for a reason this test does not know: " + msg;
                }
            }
            if (problem != null) {
                failures.add(where + ": " + problem);
                failedCases.add(s.id());
            }
        }
        String summary = String.format(Locale.ROOT, "pool geometries: %d drawn, %d PyTorch-valid with every window on "
                        + "the input all accepted with PyTorch's output size (%d ceil mode, %d with a window larger "
                        + "than the padded input), %d PyTorch-valid with a window on no input position (rejected by "
                        + "design), %d too small for PyTorch (rejected too), %d with padding > k/2 (%d accepted as a "
                        + "superset), %d other", shapes.size(), accepted, acceptedCeil, acceptedLarge, allPadding,
                tooSmall, padRejected, padAcceptedByUs, other);
        if (accepted < POOL_SHAPE_CASES / 2 || acceptedLarge < POOL_SHAPE_CASES / 40 || tooSmall == 0
                || padRejected == 0) {
            failures.add("seed " + seed + ": too few interesting geometries: " + summary);
        }
        return summary;
    }

    /** A stride or dilation in 1..3, 1 half of the time (the dense fast paths deserve as many cases). */
    private static long oneOrUpTo3(SplittableRandom r) {
        return r.nextBoolean() ? 1 : 2 + r.nextInt(2);
    }

    private static float[] uniform(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-1.0, 1.0);
        }
        return a;
    }

    private static int count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return Math.toIntExact(n);
    }

    // ------------------------------------------------------------------ the PyTorch side

    private static void writeSpec(Path dir, List<ConvCase> convs, List<PoolCase> pools, List<PoolShape> shapes)
            throws IOException {
        StringBuilder json = new StringBuilder();
        json.append("{\"dir\": ").append(jsonString(dir.toAbsolutePath().toString())).append(", \"threads\": 1,")
                .append(" \"cases\": [\n");
        List<String> entries = new ArrayList<>();
        for (ConvCase c : convs) {
            Conv2dGeometry g = c.g();
            writeFloats(dir.resolve(c.id() + ".x.f32"), c.x());
            writeFloats(dir.resolve(c.id() + ".w.f32"), c.w());
            writeFloats(dir.resolve(c.id() + ".dy.f32"), c.dy());
            if (c.hasBias()) {
                writeFloats(dir.resolve(c.id() + ".b.f32"), c.b());
            }
            entries.add(String.format(Locale.ROOT, "{\"id\": \"%s\", \"op\": \"conv\", \"n\": %d, \"c\": %d, "
                            + "\"ih\": %d, \"iw\": %d, \"oc\": %d, \"kh\": %d, \"kw\": %d, \"stride_h\": %d, "
                            + "\"stride_w\": %d, \"pad_top\": %d, \"pad_bottom\": %d, \"pad_left\": %d, "
                            + "\"pad_right\": %d, \"dilation_h\": %d, \"dilation_w\": %d, \"groups\": %d, "
                            + "\"bias\": %s, \"x\": \"%s.x.f32\", \"w\": \"%s.w.f32\", \"b\": \"%s.b.f32\", "
                            + "\"dy\": \"%s.dy.f32\"}",
                    c.id(), g.n(), g.c(), g.ih(), g.iw(), g.oc(), g.kh(), g.kw(), g.strideH(), g.strideW(),
                    g.padTop(), g.padBottom(), g.padLeft(), g.padRight(), g.dilationH(), g.dilationW(), g.groups(),
                    c.hasBias(), c.id(), c.id(), c.id(), c.id()));
        }
        for (PoolCase p : pools) {
            MaxPool2dGeometry g = p.g();
            writeFloats(dir.resolve(p.id() + ".x.f32"), p.x());
            writeFloats(dir.resolve(p.id() + ".dy.f32"), p.dy());
            entries.add(String.format(Locale.ROOT, "{\"id\": \"%s\", \"op\": \"pool\", \"n\": %d, \"c\": %d, "
                            + "\"ih\": %d, \"iw\": %d, \"kh\": %d, \"kw\": %d, \"stride_h\": %d, \"stride_w\": %d, "
                            + "\"pad_h\": %d, \"pad_w\": %d, \"dilation_h\": %d, \"dilation_w\": %d, "
                            + "\"ceil_mode\": %s, \"x\": \"%s.x.f32\", \"dy\": \"%s.dy.f32\"}",
                    p.id(), g.n(), g.c(), g.ih(), g.iw(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padTop(),
                    g.padLeft(), g.dilationH(), g.dilationW(), g.ceilMode(), p.id(), p.id()));
        }
        for (PoolShape p : shapes) {
            entries.add(String.format(Locale.ROOT, "{\"id\": \"%s\", \"op\": \"pool_shape\", \"ih\": %d, \"iw\": %d, "
                            + "\"kh\": %d, \"kw\": %d, \"stride_h\": %d, \"stride_w\": %d, \"pad_h\": %d, "
                            + "\"pad_w\": %d, \"dilation_h\": %d, \"dilation_w\": %d, \"ceil_mode\": %s}",
                    p.id(), p.ih(), p.iw(), p.kh(), p.kw(), p.sh(), p.sw(), p.ph(), p.pw(), p.dh(), p.dw(), p.ceil()));
        }
        json.append(String.join(",\n", entries)).append("\n]}\n");
        Files.writeString(dir.resolve("spec.json"), json, StandardCharsets.UTF_8);
    }

    /** Runs the script once for every case; returns done.txt's lines by their first field. */
    private Map<String, String[]> runTorch(Path script, Path dir) throws IOException, InterruptedException {
        Path out = dir.resolve("torch.stdout");
        Path err = dir.resolve("torch.stderr");
        ProcessBuilder pb = new ProcessBuilder(PYTHON.toString(), script.toAbsolutePath().toString(),
                dir.resolve("spec.json").toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(SCRIPT_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("seed " + seed + ": " + script + " did not finish within " + SCRIPT_TIMEOUT_MINUTES
                    + " minutes; stderr:\n" + tail(err));
        }
        if (p.exitValue() != 0) {
            fail("seed " + seed + ": " + script + " exited with " + p.exitValue() + "; stderr:\n" + tail(err));
        }
        Path donePath = dir.resolve("done.txt");
        if (!Files.isRegularFile(donePath)) {
            fail("seed " + seed + ": " + script + " wrote no done.txt; stderr:\n" + tail(err));
        }
        Map<String, String[]> done = new HashMap<>();
        for (String line : Files.readAllLines(donePath, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                String[] f = line.split("\t");
                done.put(f[0], f);
            }
        }
        if (!done.containsKey("torch")) {
            fail("seed " + seed + ": done.txt has no torch version line; stderr:\n" + tail(err));
        }
        return done;
    }

    private static String tail(Path file) throws IOException {
        if (!Files.exists(file)) {
            return "(none)";
        }
        String s = Files.readString(file, StandardCharsets.UTF_8);
        return s.length() <= 8000 ? s : "...\n" + s.substring(s.length() - 8000);
    }

    /** Throws unless torch computed the case and found the same output size. */
    private static void checkTorchStatus(String[] status, long oh, long ow, String where) {
        if (status == null) {
            throw new AssertionError(where + ": the torch script reported nothing for this case");
        }
        if (!status[1].equals("ok")) {
            throw new AssertionError(where + ": torch failed on this case: "
                    + (status.length > 2 ? status[2] : String.join(" ", status)));
        }
        long toh = Long.parseLong(status[2]);
        long tow = Long.parseLong(status[3]);
        if (toh != oh || tow != ow) {
            throw new AssertionError(where + ": output size: ours oh=" + oh + ", ow=" + ow + "; torch oh=" + toh
                    + ", ow=" + tow);
        }
    }

    // ------------------------------------------------------------------ comparisons

    private void guarded(String caseId, String where, ThrowingRunnable check) {
        try {
            check.run();
        } catch (AssertionError | RuntimeException | IOException e) {
            failures.add(e instanceof AssertionError ? e.getMessage() : where + ": " + e);
            failedCases.add(caseId);
        }
    }

    private interface ThrowingRunnable {
        void run() throws IOException;
    }

    private void checkConv(Path dir, ConvCase c, String[] status, String where) throws IOException {
        Conv2dGeometry g = c.g();
        checkTorchStatus(status, g.oh(), g.ow(), where);
        Backend nat = Backend.nativeBackend();
        float[] y;
        float[] dx;
        float[] dw;
        float[] db = null;
        ConvAlgorithm fwdServed;
        ConvAlgorithm dataServed;
        ConvAlgorithm weightsServed;
        try (Tensor x = Tensor.of(c.x(), g.srcShape());
             Tensor w = Tensor.of(c.w(), g.weightsShape());
             Tensor b = c.hasBias() ? Tensor.of(c.b(), g.biasShape()) : null;
             Tensor dy = Tensor.of(c.dy(), g.dstShape());
             Tensor ty = Tensor.zeros(g.dstShape()).fill(Float.NaN);
             Tensor tdx = Tensor.zeros(g.srcShape()).fill(Float.NaN);
             Tensor tdw = Tensor.zeros(g.weightsShape()).fill(Float.NaN);
             Tensor tdb = c.hasBias() ? Tensor.zeros(g.biasShape()).fill(Float.NaN) : null) {
            nat.conv2dForward(g, x, w, b, ty);
            fwdServed = ConvBound.lastServed(nat);
            nat.conv2dBackwardData(g, dy, w, tdx);
            dataServed = ConvBound.lastServed(nat);
            nat.conv2dBackwardWeights(g, x, dy, tdw, tdb);
            weightsServed = ConvBound.lastServed(nat);
            y = ty.toArray();
            dx = tdx.toArray();
            dw = tdw.toArray();
            if (tdb != null) {
                db = tdb.toArray();
            }
        }
        // A pass served by Winograd gets Winograd's own bound (ConvBound, docs/winograd.md; magnitudes from this
        // repository), any other the direct one with PyTorch's magnitude sums.
        double[] ax = abs(c.x());
        double[] aw = abs(c.w());
        double[] ady = abs(c.dy());
        double[] ab = c.hasBias() ? abs(c.b()) : null;
        compareServed(where, "forward", y, dir, c.id() + ".y", fwdServed,
                () -> ConvBound.forward(g, fwdServed, ax, aw, ab), Tolerance.forwardReduction(g, c.hasBias()));
        compareServed(where, "backward-data", dx, dir, c.id() + ".dx", dataServed,
                () -> ConvBound.backwardData(g, dataServed, ady, aw), Tolerance.backwardDataReduction(g));
        long kw = Tolerance.backwardWeightsReduction(g);
        compareServed(where, "backward-weights", dw, dir, c.id() + ".dw", weightsServed,
                () -> ConvBound.backwardWeights(g, weightsServed, ax, ady), kw);
        if (c.hasBias()) {
            compareConv(where, "backward-bias", db, dir, c.id() + ".db", kw); // a plain sum: the direct bound
        }
    }

    /** {@link #compareConv} with Winograd's bound ({@code winograd}) when Winograd served the pass, else PyTorch's sums. */
    private void compareServed(String where, String op, float[] actual, Path dir, String file, ConvAlgorithm served,
                               java.util.function.Supplier<ConvBound> winograd, long directK) throws IOException {
        if (served == ConvAlgorithm.WINOGRAD) {
            ConvBound b = winograd.get();
            compareConv(where, op + " (winograd)", actual, dir, file, b.k(), b.absSum());
        } else {
            compareConv(where, op, actual, dir, file, directK);
        }
    }

    private static double[] abs(float[] v) {
        double[] a = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            a[i] = Math.abs(v[i]);
        }
        return a;
    }

    private void compareConv(String where, String op, float[] actual, Path dir, String file, long k)
            throws IOException {
        compareConv(where, op, actual, dir, file, k, readDoubles(dir.resolve(file + "_abs"), actual.length, where + " " + op));
    }

    /** {@link #compareConv} with the magnitude sums given ({@code abs}) instead of PyTorch's. */
    private void compareConv(String where, String op, float[] actual, Path dir, String file, long k, double[] abs)
            throws IOException {
        double[] exact = readDoubles(dir.resolve(file), actual.length, where + " " + op);
        comparisons++;
        double ratio = 0;
        for (int i = 0; i < actual.length; i++) {
            double bound = Tolerance.allowedError(abs[i], k);
            double err = Math.abs(actual[i] - exact[i]);
            // A NaN error (NaN on either side) counts as infinitely bad here; compareConv judges it below.
            ratio = Math.max(ratio, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err / bound);
        }
        if (ratio > maxErrorOverBound.getOrDefault(op, -1.0)) {
            maxErrorOverBound.put(op, ratio);
            maxErrorWhere.put(op, file.substring(0, file.indexOf('.')) + " K=" + k + " isa "
                    + PanamaCnn.activeIsa().id());
        }
        String msg = Tolerance.compareConv(op + " (native vs torch float64)", actual, exact, abs, k);
        if (msg != null) {
            throw new AssertionError(where + ": " + msg);
        }
    }

    private void checkPool(Path dir, PoolCase p, String[] status, String where) throws IOException {
        MaxPool2dGeometry g = p.g();
        checkTorchStatus(status, g.oh(), g.ow(), where);
        int m = Math.toIntExact(g.dstElementCount());
        Backend nat = Backend.nativeBackend();
        float[] y;
        int[] idx;
        float[] dx;
        try (Tensor x = Tensor.of(p.x(), g.srcShape());
             Tensor dy = Tensor.of(p.dy(), g.dstShape());
             Tensor ty = Tensor.zeros(g.dstShape()).fill(Float.NaN);
             IndexBuffer ti = IndexBuffer.allocate(m);
             Tensor tdx = Tensor.zeros(g.srcShape()).fill(Float.NaN)) {
            ti.segment().fill((byte) 0xFF); // -1 everywhere: an unwritten index is seen
            nat.maxPool2dForward(g, x, ty, ti);
            nat.maxPool2dBackward(g, dy, ti, tdx);
            y = ty.toArray();
            idx = ti.toArray();
            dx = tdx.toArray();
        }
        float[] torchY = readFloats(dir.resolve(p.id() + ".y"), m, where + " pool forward");
        long[] torchIdx = readLongs(dir.resolve(p.id() + ".idx"), m, where + " pool indices");
        float[] torchDx = readFloats(dir.resolve(p.id() + ".dx"), dx.length, where + " pool backward");
        int[] torchIdxInt = new int[m];
        for (int i = 0; i < m; i++) {
            torchIdxInt[i] = Math.toIntExact(torchIdx[i]);
        }
        List<String> errors = new ArrayList<>();
        comparisons += 3;
        addIfNotNull(errors, where, Tolerance.compareExact("pool forward values (native vs torch)", y, torchY));
        addIfNotNull(errors, where, Tolerance.compareExact("pool forward indices (native vs torch)", idx, torchIdxInt));
        addIfNotNull(errors, where, Tolerance.compareExact("pool backward (native vs torch)", dx, torchDx));
        if (g.tapMaskFits()) {
            // the compact mask the training MaxPool2d keeps: the same winners, expanded to torch's plane offsets
            try (Tensor x = Tensor.of(p.x(), g.srcShape());
                 Tensor dy = Tensor.of(p.dy(), g.dstShape());
                 Tensor ty = Tensor.zeros(g.dstShape()).fill(Float.NaN);
                 IndexBuffer taps = IndexBuffer.allocate(m, IndexBuffer.Kind.TAPS);
                 Tensor tdx = Tensor.zeros(g.srcShape()).fill(Float.NaN)) {
                taps.segment().fill((byte) 0xFF);
                nat.maxPool2dForward(g, x, ty, taps);
                nat.maxPool2dBackward(g, dy, taps, tdx);
                comparisons += 3;
                addIfNotNull(errors, where, Tolerance.compareExact("pool forward values, taps (native vs torch)",
                        ty.toArray(), torchY));
                addIfNotNull(errors, where, Tolerance.compareExact("pool taps as plane offsets (native vs torch)",
                        g.planeOffsets(taps), torchIdxInt));
                addIfNotNull(errors, where, Tolerance.compareExact("pool backward from taps (native vs torch)",
                        tdx.toArray(), torchDx));
            }
        }
        if (!errors.isEmpty()) {
            throw new AssertionError(String.join("\n", errors));
        }
    }

    private static void addIfNotNull(List<String> errors, String where, String msg) {
        if (msg != null) {
            errors.add(where + ": " + msg);
        }
    }

    // ------------------------------------------------------------------ raw little-endian files

    private static void writeFloats(Path file, float[] data) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : data) {
            bb.putFloat(v);
        }
        Files.write(file, bb.array());
    }

    private static ByteBuffer read(Path file, int count, int width, String what) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new AssertionError(what + ": torch wrote no " + file.getFileName());
        }
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length != (long) count * width) {
            throw new AssertionError(what + ": " + file.getFileName() + " has " + bytes.length + " bytes, expected "
                    + count + " values of " + width + " bytes");
        }
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static double[] readDoubles(Path file, int count, String what) throws IOException {
        ByteBuffer bb = read(file, count, Double.BYTES, what);
        double[] a = new double[count];
        bb.asDoubleBuffer().get(a);
        return a;
    }

    private static float[] readFloats(Path file, int count, String what) throws IOException {
        ByteBuffer bb = read(file, count, Float.BYTES, what);
        float[] a = new float[count];
        bb.asFloatBuffer().get(a);
        return a;
    }

    private static long[] readLongs(Path file, int count, String what) throws IOException {
        ByteBuffer bb = read(file, count, Long.BYTES, what);
        long[] a = new long[count];
        bb.asLongBuffer().get(a);
        return a;
    }

    private static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') {
                b.append('\\').append(ch);
            } else if (ch < 0x20) {
                b.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
            } else {
                b.append(ch);
            }
        }
        return b.append('"').toString();
    }
}
