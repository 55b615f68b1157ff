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

/**
 * The whole-layer time through the public API, for any row of {@code bench/shapes.txt}: a
 * {@link Conv2d} or {@link MaxPool2d} on the native backend (default algorithm; see {@code algorithmFor}), {@code forward}
 * and {@code backward} (for a convolution: backward-data and backward-weights with the bias
 * gradient; for max-pool: the scatter through the recorded indices), with {@code threads} kernel
 * threads ({@link PanamaCnn#setNumThreads}). {@code scripts/bench.sh} runs it for every row and
 * joins the result with the native bench's oneDNN times ({@link BenchJoin}).
 *
 * <p>Input, output gradient and the layer's own outputs are allocated and touched once per trial
 * (the layer reuses its output tensors), so the timed calls allocate and first-touch nothing.
 * Sample mode: the median ({@code p0.50}) is what the join uses, like the native bench's medians.
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

    private Layer layer;
    private Tensor input;
    private Tensor gradOutput;

    @Setup(Level.Trial)
    public void setUp() {
        BenchShapes s = BenchShapes.named(shape);
        Backend nativeBackend = Backend.nativeBackend(); // throws with the reason when the library cannot load
        PanamaCnn.setNumThreads(threads);
        if (PanamaCnn.numThreads() != threads) {
            throw new IllegalStateException("asked for " + threads + " threads, the library uses " + PanamaCnn.numThreads());
        }
        long[] outShape;
        if (s.isConv()) {
            Conv2d conv = convFor(s, nativeBackend);
            outShape = conv.outputShape(s.srcShape());
            layer = conv;
        } else if (s.isMaxPool()) {
            if (s.oc() != s.c()) {
                throw new IllegalArgumentException(shape + ": a max-pool row needs C_out == C_in, got " + s.oc()
                        + " and " + s.c());
            }
            MaxPool2d pool = MaxPool2d.builder(s.kh(), s.kw()).stride(s.stride()).padding(s.pad())
                    .backend(nativeBackend).build();
            outShape = pool.outputShape(s.srcShape());
            layer = pool;
        } else {
            throw new IllegalArgumentException(shape + ": unknown op " + s.op());
        }
        input = Tensor.of(BenchShapes.randomData(BenchShapes.count(s.srcShape()), 11), s.srcShape());
        gradOutput = Tensor.of(BenchShapes.randomData(BenchShapes.count(outShape), 12), outShape);
        // One forward and backward: allocates the layer's output, indices, gradients and touches
        // their pages, so the timed calls reuse warm memory. backward keeps using this forward's record.
        layer.forward(input);
        layer.backward(gradOutput);
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

    @TearDown(Level.Trial)
    public void tearDown() {
        layer.close();
        input.close();
        gradOutput.close();
    }

    /** {@code layer.forward(input)}: for max-pool in training mode, i.e. with the indices backward needs. */
    @Benchmark
    public Tensor forward() {
        return layer.forward(input);
    }

    /** {@code layer.backward(gradOutput)} for the forward of the set-up (repeatable: backward does not consume it). */
    @Benchmark
    public Tensor backward() {
        return layer.backward(gradOutput);
    }
}
