package io.github.panamacnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

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
    private static final int POOL_CASES = 30;
    private static final long SCRIPT_TIMEOUT_MINUTES = 5;

    private record ConvCase(String id, Conv2dGeometry g, float[] x, float[] w, float[] b, float[] dy) {
        boolean hasBias() {
            return b != null;
        }
    }

    private record PoolCase(String id, MaxPool2dGeometry g, float[] x, float[] dy) {
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
        System.out.println("TorchCrossCheckTest: seed " + seed + " (rerun with -Dpanamacnn.torch.seed=" + seed + ")");
        SplittableRandom random = new SplittableRandom(seed);

        List<ConvCase> convs = randomConvCases(random);
        List<PoolCase> pools = randomPoolCases(random);
        assertThat(convs).as("conv cases generated (seed %d)", seed).hasSize(CONV_CASES);
        assertThat(pools).as("pool cases generated (seed %d)", seed).hasSize(POOL_CASES);

        long t0 = System.nanoTime();
        writeSpec(dir, convs, pools);
        Map<String, String[]> done = runTorch(script, dir);
        long torchMillis = (System.nanoTime() - t0) / 1_000_000;

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
                    expectedComparisons += 3;
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
                + torchMillis + " ms, total " + totalMillis + " ms; max |error| / bound:");
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

    private static List<PoolCase> randomPoolCases(SplittableRandom r) {
        List<PoolCase> cases = new ArrayList<>();
        for (int attempt = 0; attempt < 100_000 && cases.size() < POOL_CASES; attempt++) {
            long kh = 1 + r.nextInt(5);
            long kw = 1 + r.nextInt(5);
            long padH = r.nextInt((int) (kh / 2) + 1); // PyTorch allows symmetric padding <= k/2 only
            long padW = r.nextInt((int) (kw / 2) + 1);
            MaxPool2dGeometry g;
            try {
                g = MaxPool2dGeometry.of(1 + r.nextInt(3), 1 + r.nextInt(6), 1 + r.nextInt(20), 1 + r.nextInt(20),
                        kh, kw, oneOrUpTo3(r), oneOrUpTo3(r), padH, padH, padW, padW, oneOrUpTo3(r),
                        oneOrUpTo3(r), r.nextBoolean());
            } catch (IllegalArgumentException invalid) {
                continue; // window larger than the padded input, or a window entirely in the padding
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

    private static void writeSpec(Path dir, List<ConvCase> convs, List<PoolCase> pools) throws IOException {
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
        try (Tensor x = Tensor.of(c.x(), g.srcShape());
             Tensor w = Tensor.of(c.w(), g.weightsShape());
             Tensor b = c.hasBias() ? Tensor.of(c.b(), g.biasShape()) : null;
             Tensor dy = Tensor.of(c.dy(), g.dstShape());
             Tensor ty = Tensor.zeros(g.dstShape()).fill(Float.NaN);
             Tensor tdx = Tensor.zeros(g.srcShape()).fill(Float.NaN);
             Tensor tdw = Tensor.zeros(g.weightsShape()).fill(Float.NaN);
             Tensor tdb = c.hasBias() ? Tensor.zeros(g.biasShape()).fill(Float.NaN) : null) {
            nat.conv2dForward(g, x, w, b, ty);
            nat.conv2dBackwardData(g, dy, w, tdx);
            nat.conv2dBackwardWeights(g, x, dy, tdw, tdb);
            y = ty.toArray();
            dx = tdx.toArray();
            dw = tdw.toArray();
            if (tdb != null) {
                db = tdb.toArray();
            }
        }
        long kw = Tolerance.backwardWeightsReduction(g);
        compareConv(where, "forward", y, dir, c.id() + ".y", Tolerance.forwardReduction(g, c.hasBias()));
        compareConv(where, "backward-data", dx, dir, c.id() + ".dx", Tolerance.backwardDataReduction(g));
        compareConv(where, "backward-weights", dw, dir, c.id() + ".dw", kw);
        if (c.hasBias()) {
            compareConv(where, "backward-bias", db, dir, c.id() + ".db", kw);
        }
    }

    private void compareConv(String where, String op, float[] actual, Path dir, String file, long k)
            throws IOException {
        double[] exact = readDoubles(dir.resolve(file), actual.length, where + " " + op);
        double[] abs = readDoubles(dir.resolve(file + "_abs"), actual.length, where + " " + op);
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
