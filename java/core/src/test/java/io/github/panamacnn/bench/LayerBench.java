package io.github.panamacnn.bench;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2d;
import io.github.panamacnn.ConvAlgorithm;
import io.github.panamacnn.Layer;
import io.github.panamacnn.MaxPool2d;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Tensor;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * The whole-layer time through the public API, for any row of {@code bench/shapes.txt}: a
 * {@link Conv2d} or {@link MaxPool2d} on the native backend (default algorithm; see {@code algorithmFor}), {@code forward}
 * and {@code backward} (for a convolution: backward-data and backward-weights with the bias
 * gradient; for max-pool: the scatter through the recorded mask, one tap byte per output), with {@code threads} kernel
 * threads ({@link PanamaCnn#setNumThreads}). {@code scripts/bench.sh} runs it for every row and
 * joins the result with the native bench's oneDNN times ({@link BenchJoin}).
 *
 * <p>Input, output gradient and the layer's own outputs are allocated and touched once per trial
 * (the layer reuses its output tensors), so the timed calls allocate and first-touch nothing.
 * Sample mode: the median ({@code p0.50}) is what the join uses, like the native bench's medians.
 *
 * <p>{@code buffers}: {@code same} (the default; every row, as before 2026-12-05 23:00Z) times every call on
 * the one layer and its tensors; {@code rotated} (max-pool rows only) builds K layers, each with its own
 * input, output gradient, output, indices and input gradient, and each timed call uses the next one, so
 * that between two uses of a copy the calls on the others have touched at least 64 MiB, as for a layer
 * inside a network: the native bench's {@code --pool-buffers rotated} with the same K
 * ({@link #rotationSets}; bench/README.md, "Max-pool: same or rotated buffers").
 *
 * <p>oneDNN in the same fork: with {@code -Dpanamacnn.bench.onednn=libpcnn-onednn-layer.so} and
 * {@code -Dpanamacnn.bench.onednn.out=FILE} (scripts/bench.sh passes both when it built the shim), each
 * same-buffer trial also builds the row in every oneDNN variant and times it in a short window before each
 * measurement iteration ({@link OnednnWindows}); the medians go to FILE for {@link BenchJoin}.
 *
 * <p>Run: {@code ./panama-cnn bench} or {@code ... org.openjdk.jmh.Main LayerBench -p shape=mid,pool_mid -p threads=1,2}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dpanamacnn.native.required=true"})
@Threads(1)
public class LayerBench {

    /** A row name of bench/shapes.txt; scripts/bench.sh passes every row (or its --only list). */
    @Param({"seed_tiny"})
    public String shape;

    /** Kernel threads of the library (not JMH threads: the benchmark thread is one). */
    @Param({"1", "2"})
    public int threads;

    /**
     * {@code same}: every call on one layer and its tensors; {@code rotated} (max-pool rows only): each call on
     * the next of {@link #rotationSets} layers with tensors of their own. scripts/bench.sh runs the max-pool
     * rows once more with {@code -p buffers=rotated}.
     */
    @Param({"same"})
    public String buffers = "same"; // the default also for callers outside JMH (PathCompare, BackwardSplit)

    /**
     * {@code train} (the default): the layer in training mode (max-pool records its mask); {@code eval} (max-pool rows,
     * {@code forward} only): the layer in {@code eval()}, so a max-pool forward records no indices, the native bench's
     * {@code fwd_noidx} row. scripts/bench.sh runs the max-pool rows' forward once more with {@code -p mode=eval}.
     */
    @Param({"train"})
    public String mode = "train";

    /** Between two uses of a copy, the calls on the others touch at least this much (the native bench's kRotateEvictBytes). */
    static final double ROTATE_EVICT_BYTES = 64.0 * 1024 * 1024;

    // One entry with `same`; K with `rotated`. Entry k's backward uses entry k's forward record.
    private Layer[] layers;
    private Tensor[] inputs;
    private Tensor[] gradOutputs;
    private int cursor;

    @Setup(Level.Trial)
    public void setUp() {
        BenchShapes s = BenchShapes.named(shape);
        Backend nativeBackend = Backend.nativeBackend(); // throws with the reason when the library cannot load
        PanamaCnn.setNumThreads(threads);
        if (PanamaCnn.numThreads() != threads) {
            throw new IllegalStateException("asked for " + threads + " threads, the library uses " + PanamaCnn.numThreads());
        }
        cursor = 0;
        boolean rotated = rotatedBuffers(buffers, s);
        boolean eval = evalMode(mode, s);
        Built first = layerFor(s, nativeBackend);
        long[] outShape = first.outShape();
        int count = rotated ? rotationSets((BenchShapes.count(s.srcShape()) + BenchShapes.count(outShape)) * 4L) : 1;
        float[] x = BenchShapes.randomData(BenchShapes.count(s.srcShape()), 11);
        float[] dy = BenchShapes.randomData(BenchShapes.count(outShape), 12);
        layers = new Layer[count];
        inputs = new Tensor[count];
        gradOutputs = new Tensor[count];
        for (int k = 0; k < count; k++) {
            // Every copy holds the same values: only the addresses differ between the copies.
            layers[k] = k == 0 ? first.layer() : layerFor(s, nativeBackend).layer();
            inputs[k] = Tensor.of(x, s.srcShape());
            gradOutputs[k] = Tensor.of(dy, outShape);
            // One forward and backward: allocates the layer's output, indices, gradients and touches
            // their pages, so the timed calls reuse warm memory. backward keeps using this forward's record.
            layers[k].forward(inputs[k]);
            layers[k].backward(gradOutputs[k]);
            if (eval) {
                layers[k].eval();
                layers[k].forward(inputs[k]); // the eval forward's own buffers, touched here too
            }
        }
    }

    /** Whether {@code mode} asks for eval(): throws for a value other than train / eval, and for eval on a conv row. */
    static boolean evalMode(String mode, BenchShapes s) {
        boolean eval = switch (mode) {
            case "train" -> false;
            case "eval" -> true;
            default -> throw new IllegalArgumentException("mode must be train or eval, got '" + mode + "'");
        };
        if (eval && !s.isMaxPool()) {
            throw new IllegalArgumentException(s.name() + ": mode=eval is for max-pool rows only (the forward without "
                    + "indices), this row is " + s.op());
        }
        return eval;
    }

    /** A row's layer and its output shape. */
    private record Built(Layer layer, long[] outShape) {
    }

    private Built layerFor(BenchShapes s, Backend nativeBackend) {
        if (s.isConv()) {
            Conv2d conv = convFor(s, nativeBackend);
            return new Built(conv, conv.outputShape(s.srcShape()));
        } else if (s.isMaxPool()) {
            if (s.oc() != s.c()) {
                throw new IllegalArgumentException(shape + ": a max-pool row needs C_out == C_in, got " + s.oc()
                        + " and " + s.c());
            }
            MaxPool2d pool = MaxPool2d.builder(s.kh(), s.kw()).stride(s.stride()).padding(s.pad())
                    .backend(nativeBackend).build();
            return new Built(pool, pool.outputShape(s.srcShape()));
        }
        throw new IllegalArgumentException(shape + ": unknown op " + s.op());
    }

    /**
     * Whether the {@code buffers} parameter asks for rotated buffers on row {@code s}: throws for a value other
     * than same / rotated, and for rotated on a convolution row. Shared with {@link EntryBench}'s setUp.
     */
    static boolean rotatedBuffers(String buffers, BenchShapes s) {
        boolean rotated = switch (buffers) {
            case "same" -> false;
            case "rotated" -> true;
            default -> throw new IllegalArgumentException("buffers must be same or rotated, got '" + buffers + "'");
        };
        if (rotated && !s.isMaxPool()) {
            throw new IllegalArgumentException(s.name() + ": buffers=rotated is for max-pool rows only, this row is "
                    + s.op());
        }
        return rotated;
    }

    /**
     * How many copies with rotated buffers: the native bench's rule ({@code rotation_sets} in
     * native/bench/bench_common.h), from its smallest timed call, the forward without indices (source +
     * destination bytes): K - 1 such calls cover {@link #ROTATE_EVICT_BYTES}; at least 3. pool_resnet,
     * pool_mid: 4; pool_lenet: 62; pool_small: 4811.
     */
    static int rotationSets(long smallestCallBytes) {
        double k = 1 + Math.ceil(ROTATE_EVICT_BYTES / Math.max(smallestCallBytes, 1.0));
        return (int) Math.max(3, k);
    }

    /** Whether the trial's layers are in training mode (false with {@code mode=eval}). */
    boolean training() {
        return layers[0].isTraining();
    }

    /** How many layer copies the trial set up (1 with {@code same}). */
    int copies() {
        return layers.length;
    }

    /** The copy the next timed call uses; cycles through every copy, each time the least recently used. */
    private int next() {
        int k = cursor;
        cursor = k + 1 == layers.length ? 0 : k + 1;
        return k;
    }

    /** The convolution of a conv row (stride, padding, dilation, groups), as a user would build it. */
    static Conv2d convFor(BenchShapes s, Backend backend) {
        return Conv2d.builder(s.c(), s.oc(), s.kh(), s.kw()).stride(s.stride()).padding(s.pad())
                .dilation(s.dilation(), s.dilation()).groups(s.groups()).algorithm(algorithmFor(s)).backend(backend)
                .seed(1).build();
    }

    /**
     * The default algorithm ({@value ConvAlgorithm#PROPERTY}, AUTO when unset), or AUTO for a row it
     * cannot compute: like the native bench's {@code --algorithm}, a request, not a filter.
     */
    private static ConvAlgorithm algorithmFor(BenchShapes s) {
        ConvAlgorithm a = ConvAlgorithm.defaultAlgorithm();
        boolean fits = a.supports(s.kh(), s.kw(), s.stride(), s.stride(), s.dilation(), s.dilation())
                && a.supportsChannels(s.c(), s.oc(), s.groups());
        return fits ? a : ConvAlgorithm.AUTO;
    }

    /** oneDNN's windows of this trial (null: not asked for, or rotated buffers). */
    private OnednnWindows onednn;

    /** Builds the row in oneDNN's variants when {@value OnednnWindows#LIBRARY_PROPERTY} is set (same buffers only). */
    @Setup(Level.Trial)
    public void setUpOnednn(BenchmarkParams params) {
        BenchShapes s = BenchShapes.named(shape);
        boolean backward = params.getBenchmark().endsWith(".backward");
        boolean eval = evalMode(mode, s);
        if (eval && backward) {
            throw new IllegalArgumentException(shape + ": mode=eval times forward only (an eval() layer records nothing "
                    + "for a backward)");
        }
        if (!rotatedBuffers(buffers, s)) {
            onednn = OnednnWindows.fromProperties(s, threads,
                    eval ? OnednnLayer.Pass.FWD_NOIDX : backward ? OnednnLayer.Pass.BACKWARD : OnednnLayer.Pass.FORWARD);
        }
    }

    /** Before each measurement iteration (not warm-up): one window of oneDNN calls, not part of the layer's samples. */
    @Setup(Level.Iteration)
    public void onednnWindow(IterationParams params) {
        if (onednn != null && params.getType() == IterationType.MEASUREMENT) {
            onednn.window();
        }
    }

    /** Appends oneDNN's medians to the output file and frees its layers. */
    @TearDown(Level.Trial)
    public void tearDownOnednn() {
        if (onednn != null) {
            try {
                onednn.write();
            } finally {
                onednn.close();
                onednn = null;
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (int k = 0; k < layers.length; k++) {
            layers[k].close();
            inputs[k].close();
            gradOutputs[k].close();
        }
    }

    /** {@code layer.forward(input)}: for max-pool in training mode with the indices backward needs (mode=eval: without). */
    @Benchmark
    public Tensor forward() {
        int k = next();
        return layers[k].forward(inputs[k]);
    }

    /** {@code layer.backward(gradOutput)} for the forward of the set-up (repeatable: backward does not consume it). */
    @Benchmark
    public Tensor backward() {
        int k = next();
        return layers[k].backward(gradOutputs[k]);
    }
}
