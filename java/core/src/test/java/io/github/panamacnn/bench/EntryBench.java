package io.github.panamacnn.bench;

import io.github.panamacnn.Backend;
import io.github.panamacnn.Conv2d;
import io.github.panamacnn.ConvAlgorithm;
import io.github.panamacnn.IndexBuffer;
import io.github.panamacnn.MaxPool2d;
import io.github.panamacnn.PanamaCnn;
import io.github.panamacnn.Tensor;
import io.github.panamacnn.ffi.panamacnn_h;
import io.github.panamacnn.ffi.pcnn_conv2d_desc;
import io.github.panamacnn.ffi.pcnn_maxpool2d_desc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * {@link LayerBench}'s calls without the layers: the C entry points called straight through the
 * {@code ffi} bindings from the JVM, on buffers made like LayerBench's (the same random data, allocated and
 * touched once per trial). So {@code LayerBench / EntryBench} of a row is what the Java layer adds,
 * measured in the same kind of process (a JMH fork) rather than against the native bench.
 *
 * <p>{@code forward}: {@code pcnn_conv2d_fwd}, or the max-pool forward with the mask the training
 * {@link MaxPool2d} keeps ({@link MaxPool2d#maskKind(long...)}: {@code pcnn_maxpool2d_fwd_taps} with one tap byte per
 * output for outputs of at least {@code TAP_MASK_MIN_OUTPUTS} elements and windows of at most 256 taps, else
 * {@code pcnn_maxpool2d_fwd} with int32 indices); {@code backward}:
 * {@code pcnn_conv2d_bwd_weights} (with the bias gradient) then {@code pcnn_conv2d_bwd_data}, the order
 * {@link Conv2d} uses, or the matching {@code pcnn_maxpool2d_bwd_taps} / {@code pcnn_maxpool2d_bwd}. The convolution runs under the algorithm request
 * LayerBench's layer makes (the default algorithm, or AUTO for a row it cannot compute).
 *
 * <p>Run: {@code ... org.openjdk.jmh.Main "LayerBench|EntryBench" -p shape=pool_mid -p threads=1,2}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dpanamacnn.native.required=true"})
@Threads(1)
public class EntryBench {

    @Param({"seed_tiny"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    /**
     * {@code same}: every call on one set of buffers; {@code rotated} (max-pool rows only): each call on the
     * next of {@link LayerBench#rotationSets} sets, as {@link LayerBench}'s {@code buffers=rotated} (so
     * {@link PathCompare} can put the two side by side with rotated buffers).
     */
    @Param({"same"})
    public String buffers = "same";

    private Arena arena;
    private boolean conv;
    private boolean taps; // max-pool rows: the layer's mask is the compact tap mask (1 byte per output)
    private int algorithm; // the C request id (PCNN_ALGO_*)
    private MemorySegment desc, src, dst, weights, bias, diffDst, diffSrc, diffWeights, diffBias, indices;
    // Max-pool rows: K sets (1 with `same`); the timed call uses set `cursor`, then moves on.
    private MemorySegment[] srcs, dsts, diffDsts, diffSrcs, indexSets;
    private int cursor;

    @Setup(Level.Trial)
    public void setUp() {
        BenchShapes s = BenchShapes.named(shape);
        Backend.nativeBackend(); // loads the library, or throws with the reason
        PanamaCnn.setNumThreads(threads);
        arena = Arena.ofShared();
        long[] outShape;
        conv = s.isConv();
        if (conv) {
            try (Conv2d layer = LayerBench.convFor(s, Backend.nativeBackend())) {
                outShape = layer.outputShape(s.srcShape());
                algorithm = requestId(layer.algorithm());
                weights = copyOf(layer.weight());
                bias = copyOf(layer.bias());
            }
            desc = pcnn_conv2d_desc.allocate(arena);
            pcnn_conv2d_desc.n(desc, s.n());
            pcnn_conv2d_desc.c(desc, s.c());
            pcnn_conv2d_desc.ih(desc, s.h());
            pcnn_conv2d_desc.iw(desc, s.w());
            pcnn_conv2d_desc.oc(desc, s.oc());
            pcnn_conv2d_desc.kh(desc, s.kh());
            pcnn_conv2d_desc.kw(desc, s.kw());
            pcnn_conv2d_desc.stride_h(desc, s.stride());
            pcnn_conv2d_desc.stride_w(desc, s.stride());
            pcnn_conv2d_desc.pad_top(desc, s.pad());
            pcnn_conv2d_desc.pad_bottom(desc, s.pad());
            pcnn_conv2d_desc.pad_left(desc, s.pad());
            pcnn_conv2d_desc.pad_right(desc, s.pad());
            pcnn_conv2d_desc.dilation_h(desc, s.dilation());
            pcnn_conv2d_desc.dilation_w(desc, s.dilation());
            pcnn_conv2d_desc.groups(desc, s.groups());
            check("pcnn_conv2d_desc_init", panamacnn_h.pcnn_conv2d_desc_init(desc));
            diffWeights = arena.allocate(weights.byteSize(), 64);
            diffBias = arena.allocate(bias.byteSize(), 64);
        } else {
            try (MaxPool2d layer = MaxPool2d.builder(s.kh(), s.kw()).stride(s.stride()).padding(s.pad())
                    .backend(Backend.nativeBackend()).build()) {
                outShape = layer.outputShape(s.srcShape());
                taps = layer.maskKind(s.srcShape()) == IndexBuffer.Kind.TAPS;
            }
            desc = pcnn_maxpool2d_desc.allocate(arena);
            pcnn_maxpool2d_desc.n(desc, s.n());
            pcnn_maxpool2d_desc.c(desc, s.c());
            pcnn_maxpool2d_desc.ih(desc, s.h());
            pcnn_maxpool2d_desc.iw(desc, s.w());
            pcnn_maxpool2d_desc.kh(desc, s.kh());
            pcnn_maxpool2d_desc.kw(desc, s.kw());
            pcnn_maxpool2d_desc.stride_h(desc, s.stride());
            pcnn_maxpool2d_desc.stride_w(desc, s.stride());
            pcnn_maxpool2d_desc.pad_top(desc, s.pad());
            pcnn_maxpool2d_desc.pad_bottom(desc, s.pad());
            pcnn_maxpool2d_desc.pad_left(desc, s.pad());
            pcnn_maxpool2d_desc.pad_right(desc, s.pad());
            pcnn_maxpool2d_desc.dilation_h(desc, 1);
            pcnn_maxpool2d_desc.dilation_w(desc, 1);
            check("pcnn_maxpool2d_desc_init", panamacnn_h.pcnn_maxpool2d_desc_init(desc));
        }
        boolean rotated = LayerBench.rotatedBuffers(buffers, s);
        long srcCount = BenchShapes.count(s.srcShape());
        long dstCount = BenchShapes.count(outShape);
        int count = rotated ? LayerBench.rotationSets((srcCount + dstCount) * 4L) : 1;
        float[] x = BenchShapes.randomData(srcCount, 11);
        float[] dy = BenchShapes.randomData(dstCount, 12);
        srcs = new MemorySegment[count];
        dsts = new MemorySegment[count];
        diffDsts = new MemorySegment[count];
        diffSrcs = new MemorySegment[count];
        indexSets = new MemorySegment[count];
        for (int k = 0; k < count; k++) {
            // Every set holds the same values: only the addresses differ between the sets.
            srcs[k] = floats(x);
            diffDsts[k] = floats(dy);
            dsts[k] = arena.allocate(4L * dstCount, 64);
            diffSrcs[k] = arena.allocate(4L * srcCount, 64);
            indexSets[k] = conv ? null : arena.allocate((taps ? 1L : 4L) * dstCount, 64);
        }
        // Like LayerBench: one forward and backward per set touch every output page before the timed calls.
        for (int k = 0; k < count; k++) {
            select(k);
            check("forward", runForward());
            check("backward", runBackward());
        }
        cursor = 0;
        select(0);
    }

    /** Points the calls' buffers at set {@code k}. */
    private void select(int k) {
        src = srcs[k];
        dst = dsts[k];
        diffDst = diffDsts[k];
        diffSrc = diffSrcs[k];
        indices = indexSets[k];
    }

    /** With rotated sets: selects the next set, each time the least recently used. */
    private void next() {
        if (srcs.length > 1) {
            cursor = cursor + 1 == srcs.length ? 0 : cursor + 1;
            select(cursor);
        }
    }

    /** Max-pool rows: whether the calls use the tap mask (as the training layer does). */
    boolean tapMask() {
        return taps;
    }

    /** How many buffer sets the trial set up (1 with {@code same}). */
    int sets() {
        return srcs.length;
    }

    /** The destination of the last timed call (a forward's output, or a max-pool backward's gradient). */
    MemorySegment lastDestination(boolean forward) {
        return forward ? dst : diffSrc;
    }

    private static int requestId(ConvAlgorithm a) {
        return switch (a) {
            case AUTO -> panamacnn_h.PCNN_ALGO_AUTO();
            case DIRECT -> panamacnn_h.PCNN_ALGO_DIRECT();
            case WINOGRAD -> panamacnn_h.PCNN_ALGO_WINOGRAD();
            case DEPTHWISE -> panamacnn_h.PCNN_ALGO_DEPTHWISE();
            case POINTWISE -> panamacnn_h.PCNN_ALGO_POINTWISE();
        };
    }

    private MemorySegment floats(float[] data) {
        MemorySegment m = arena.allocate(4L * data.length, 64);
        MemorySegment.copy(data, 0, m, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, data.length);
        return m;
    }

    private MemorySegment copyOf(Tensor t) {
        return floats(t.toArray());
    }

    private static void check(String what, int status) {
        if (status != panamacnn_h.PCNN_STATUS_OK()) {
            throw new IllegalStateException(what + " returned status " + status);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int forward() {
        next();
        return runForward();
    }

    private int runForward() {
        if (conv) {
            check("pcnn_set_conv2d_algorithm", panamacnn_h.pcnn_set_conv2d_algorithm(algorithm));
            return panamacnn_h.pcnn_conv2d_fwd(desc, src, weights, bias, dst);
        }
        return taps ? panamacnn_h.pcnn_maxpool2d_fwd_taps(desc, src, dst, indices)
                : panamacnn_h.pcnn_maxpool2d_fwd(desc, src, dst, indices);
    }

    @Benchmark
    public int backward() {
        next();
        return runBackward();
    }

    private int runBackward() {
        if (conv) {
            check("pcnn_set_conv2d_algorithm", panamacnn_h.pcnn_set_conv2d_algorithm(algorithm));
            check("pcnn_conv2d_bwd_weights", panamacnn_h.pcnn_conv2d_bwd_weights(desc, src, diffDst, diffWeights, diffBias));
            return panamacnn_h.pcnn_conv2d_bwd_data(desc, diffDst, weights, diffSrc);
        }
        return taps ? panamacnn_h.pcnn_maxpool2d_bwd_taps(desc, diffDst, indices, diffSrc)
                : panamacnn_h.pcnn_maxpool2d_bwd(desc, diffDst, indices, diffSrc);
    }

    /**
     * {@code pcnn_conv2d_bwd_weights} alone (with the bias gradient): what the native bench's
     * {@code bwd_weights} row times. A conv row only; not a JMH benchmark (the join knows forward and
     * backward only): {@link BackwardSplit} calls it.
     */
    public int backwardWeights() {
        requireConv("backwardWeights");
        check("pcnn_set_conv2d_algorithm", panamacnn_h.pcnn_set_conv2d_algorithm(algorithm));
        return panamacnn_h.pcnn_conv2d_bwd_weights(desc, src, diffDst, diffWeights, diffBias);
    }

    /** {@code pcnn_conv2d_bwd_data} alone: what the native bench's {@code bwd_data} row times. A conv row only (see above). */
    public int backwardData() {
        requireConv("backwardData");
        check("pcnn_set_conv2d_algorithm", panamacnn_h.pcnn_set_conv2d_algorithm(algorithm));
        return panamacnn_h.pcnn_conv2d_bwd_data(desc, diffDst, weights, diffSrc);
    }

    private void requireConv(String what) {
        if (!conv) {
            throw new IllegalStateException(what + " needs a conv row, " + shape + " is not one");
        }
    }
}
